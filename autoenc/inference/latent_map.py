"""A 2-D map of a VAE's latent space: PCA of the encodings (their means) of many galaxies.

PCA is instant and has an exact inverse, so a point anywhere on the map decodes: its two map
coordinates place it in the plane of the two main directions, and every other direction stays
at the prior's mean (0). That is how students find the holes between the classes, where no
galaxy's code lies and the decoder has never been taught anything.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from autoenc.errors import UserError
from autoenc.inference.vae import decode_latents, encode_images


@dataclass(frozen=True)
class LatentMap:
    mean: np.ndarray            # (d,) mean of the codes
    axes: np.ndarray            # (2, d) orthonormal: the two directions of largest variance
    coords: np.ndarray          # (n, 2) where each code lies on the map
    explained: tuple[float, float]   # share of the codes' variance along each axis
    code_rms: float             # root mean square of the codes' numbers: how far from the prior's centre they lie

    def to_map(self, z) -> np.ndarray:
        """Codes (n, d) -> map coordinates (n, 2)."""
        return (np.asarray(z, dtype=np.float64) - self.mean) @ self.axes.T

    def from_map(self, xy) -> np.ndarray:
        """Map coordinates (n, 2) -> codes (n, d) in the map's plane, the other directions at
        the prior's mean: to_map(from_map(xy)) == xy exactly."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        return ((self.mean @ self.axes.T) + xy) @ self.axes


def fit(z) -> LatentMap:
    """PCA of the codes z (n, d), n >= 3."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or len(z) < 3 or z.shape[1] < 2:
        raise UserError(f"a latent map needs at least 3 codes of 2 or more numbers, not {z.shape}")
    mean = z.mean(0)
    _, s, vt = np.linalg.svd(z - mean, full_matrices=False)
    axes = vt[:2]
    axes = axes * np.sign(axes[np.arange(2), np.abs(axes).argmax(1)])[:, None]    # a sign that does not flip
    var = s ** 2
    explained = tuple(float(v) for v in var[:2] / var.sum())
    return LatentMap(mean, axes, (z - mean) @ axes.T, explained, float(np.sqrt(np.mean(z ** 2))))


def latent_map(model: nn.Module, images: np.ndarray) -> LatentMap:
    """The map of these galaxies' encodings."""
    return fit(encode_images(model, images))


def tsne(z, seed: int = 0) -> np.ndarray:
    """t-SNE of the codes z (n, d) -> (n, 2): neighbours stay neighbours, but distances between
    clouds mean little and there is no inverse, so a point of this map does not decode. About
    10-20 s for 2,000 codes on one core: compute it once per checkpoint."""
    from sklearn.manifold import TSNE  # imported here: only the t-SNE map needs it
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or len(z) < 5:
        raise UserError(f"a t-SNE map needs at least 5 codes, not {z.shape}")
    perplexity = min(30.0, (len(z) - 1) / 3)
    return TSNE(2, init="pca", perplexity=perplexity, random_state=seed, n_jobs=1).fit_transform(z)


def decode_at(model: nn.Module, m: LatentMap, xy) -> np.ndarray:
    """The images (n, S, S, 3) decoded at map points xy (n, 2)."""
    return decode_latents(model, m.from_map(xy).astype(np.float32))


def path(a, b, steps: int) -> np.ndarray:
    """`steps` points from a to b (both (2,) on the map, or codes), ends included."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * np.asarray(a, dtype=np.float64) + t * np.asarray(b, dtype=np.float64)
