"""A small CNN that tells barred spirals, ellipticals and spirals apart.

Trained only on rendered galaxies and shipped, it judges generated images (class
histograms, acGAN accuracy) and its penultimate layer is the feature space for KID and
precision / recall / coverage, instead of downloaded Inception weights.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_DIM = 96


def _block(c_in: int, c_out: int, pool: bool = True) -> list[nn.Module]:
    # GroupNorm, not BatchNorm: statistics per image, so a batch of one class (or of a
    # collapsed GAN's samples) is judged exactly like a mixed batch.
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.ReLU()]
    return layers + [nn.MaxPool2d(2)] if pool else layers


class GalaxyClassifier(nn.Module):
    def __init__(self, image_size: int = 64, n_classes: int = 3, width: int = 24, dropout: float = 0.3):
        super().__init__()
        self.image_size = image_size
        w = width
        self.body = nn.Sequential(*_block(3, w), *_block(w, 2 * w), *_block(2 * w, FEATURE_DIM * 2 // 3),
                                  *_block(FEATURE_DIM * 2 // 3, FEATURE_DIM, pool=False),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(FEATURE_DIM, n_classes))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] at any size -> the size the classifier was trained at."""
        if x.shape[-1] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear",
                              antialias=True, align_corners=False)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 96) penultimate features."""
        return self.body(self.prepare(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 3) class logits."""
        return self.head(self.features(x))
