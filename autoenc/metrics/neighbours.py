"""Nearest real neighbours of generated galaxies (issue 22, item 4): each sample beside the
training images closest to it in the galaxy classifier's feature space, with the distances.

The check for memorisation (a sample much closer to one training image than real images are
to each other is a copy) and for a collapse the class histogram misses (several samples with
the same nearest neighbours). Distances are Euclidean between penultimate-layer features;
`real_spacing` is the median distance from a real image to its nearest other real image,
the yardstick to read them against.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from autoenc.inference.classifier import features
from autoenc.models.classifier import GalaxyClassifier

SPACING_SAMPLE = 500        # real images whose nearest other real image sets the yardstick


def nearest(queries: np.ndarray, pool: np.ndarray, k: int = 3, exclude_self: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """For each row of queries (n, d), the k nearest rows of pool (m, d): indices (n, k) and
    distances (n, k), nearest first. exclude_self: queries are pool's first n rows, each
    skipping itself."""
    d = torch.cdist(torch.as_tensor(queries, dtype=torch.float64), torch.as_tensor(pool, dtype=torch.float64))
    if exclude_self:
        d[torch.arange(len(queries)), torch.arange(len(queries))] = float("inf")
    k = min(k, d.shape[1] - int(exclude_self))
    dist, idx = d.topk(k, dim=1, largest=False)
    return idx.numpy(), dist.numpy()


@dataclass
class Neighbours:
    samples: np.ndarray         # (n, H, W, 3) uint8, the generated images
    images: np.ndarray          # (n, k, H, W, 3) uint8, their nearest training images
    distances: np.ndarray       # (n, k)
    indices: np.ndarray         # (n, k) into the training images
    real_spacing: float         # median distance of a real image to its nearest other one


def real_features(classifier: GalaxyClassifier, images: np.ndarray) -> np.ndarray:
    """The training images' features, computed once per set (the page caches them)."""
    return features(classifier, images)


def nearest_training_images(samples: np.ndarray, train_images: np.ndarray, train_features: np.ndarray,
                            classifier: GalaxyClassifier, k: int = 3) -> Neighbours:
    """samples (n, H, W, 3) uint8 beside their k nearest training images (train_features:
    real_features of train_images)."""
    idx, dist = nearest(features(classifier, samples), train_features, k)
    m = min(SPACING_SAMPLE, len(train_features))
    _, spacing = nearest(train_features[:m], train_features, 1, exclude_self=True)
    return Neighbours(samples=samples, images=train_images[idx], distances=dist, indices=idx,
                      real_spacing=float(np.median(spacing)) if spacing.size else float("nan"))
