"""Measures of generated images, computed on features of the shipped galaxy classifier.

No downloaded Inception weights: the classifier trained on rendered galaxies is both the
judge (class histograms) and the feature extractor (its penultimate layer) for KID and
precision / recall / density / coverage.
"""
from __future__ import annotations

import numpy as np


def class_histogram(labels: np.ndarray, n_classes: int = 3) -> np.ndarray:
    """Share of each class; sums to 1 (all zeros for an empty input)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)[:n_classes].astype(float)
    return counts / counts.sum() if counts.sum() else counts


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """TV distance between two histograms: half the L1 distance, in [0, 1]."""
    return float(0.5 * np.abs(np.asarray(p, float) - np.asarray(q, float)).sum())


def kid(real: np.ndarray, fake: np.ndarray, subsets: int = 20, subset_size: int = 200,
        seed: int = 0) -> float:
    """Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the cubic
    polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets.

    0 for identical distributions (in expectation); can be slightly negative by chance.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    d = real.shape[1]
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise ValueError("KID needs at least 2 samples of each")
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        mmd = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.mean()
        estimates.append(mmd)
    return float(np.mean(estimates))


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0.0)


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) with k nearest neighbours.

    Each real sample owns a ball reaching its k-th nearest real neighbour.
    precision: share of fakes inside some real ball; recall: share of reals inside some
    fake ball (fakes' own k-NN radii); density: mean number of real balls holding a fake,
    divided by k; coverage: share of real balls that hold at least one fake. A collapsed
    generator keeps precision high while recall and coverage fall.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if len(real) <= k or len(fake) <= k:
        raise ValueError(f"prdc needs more than k={k} samples of each")
    rr = _sq_distances(real, real)
    ff = _sq_distances(fake, fake)
    rf = _sq_distances(real, fake)                      # (n_real, n_fake)
    real_radius = np.sort(rr, axis=1)[:, k]             # column 0 is the point itself
    fake_radius = np.sort(ff, axis=1)[:, k]
    inside_real = rf <= real_radius[:, None]            # fake j inside real ball i
    inside_fake = rf <= fake_radius[None, :]            # real i inside fake ball j
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float(inside_fake.any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((rf.min(axis=1) <= real_radius).mean()),
    }
