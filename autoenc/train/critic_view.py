"""The critic's view (issue 22): what the critic believes about one fixed batch of real
galaxies and one of generated ones (from a fixed z), taken with every live sample grid.

For the BCE GANs the rows are D's probability that each image is real; for the WGANs the
critic's score (the gap of the two means is the Wasserstein estimate), and the norms of its
gradient where the penalty takes them: at the interpolates for WGAN-GP (its target is 1), at
the real and the generated images for WGAN-div. A variant says which rows it has
(`critic_view_rows`) and computes them (`critic_beliefs`, train/gan.py).

With them go the images the critic finds most and least real: the N_EXTREMES generated ones
it scores highest and lowest, and the real ones it scores lowest, as one grid of 3 rows.
The nets run as in training (BatchNorm on the batch), their running statistics untouched.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from autoenc.images import image_grid, to_uint8
from autoenc.inference.gan import noise

N_VIEW = 64          # images in each fixed batch
N_EXTREMES = 8       # images in each row of the extremes grid
VIEW = "critic_view"            # the sample names in the run store
EXTREMES = "critic_extremes"
EXTREMES_KEPT = 20   # a run's history keeps fewer of these big grids than of its other samples


@contextmanager
def buffers_kept(*modules: nn.Module):
    """Run modules in training mode without moving their BatchNorm running statistics."""
    saved = [[b.detach().clone() for b in m.buffers()] for m in modules]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, kept in zip(modules, saved):
                for b, old in zip(m.buffers(), kept):
                    b.copy_(old)


class CriticView:
    """The fixed batches of one GAN task and what its critic makes of them now."""

    def __init__(self, task):
        self.task = task
        n = min(N_VIEW, len(task.images))
        seed = int(task.config.seed) + 3
        order = torch.randperm(len(task.images), generator=torch.Generator().manual_seed(seed))[:n]
        self.real = (task.images[order.to(task.images.device)].to(torch.float32, memory_format=task.memory_format)
                     .mul_(2 / 255).sub_(1))
        self.z = noise(n, task.config.z_dim, seed).to(task.device)
        self.labels = (torch.arange(n, device=task.device) % task.n_classes) if task.n_classes else None

    def measure(self) -> dict[str, np.ndarray]:
        """{VIEW: (rows, n) float32 in the order of critic_view_rows, EXTREMES: (H, W, 3) uint8}."""
        task = self.task
        with buffers_kept(task.generator, task.critic):
            with torch.no_grad():
                fake = task.generator(self.z, self.labels)
            beliefs = task.critic_beliefs(self.real, fake)
        view = np.stack([beliefs[name].detach().float().cpu().numpy() for name in task.critic_view_rows])
        real_score, fake_score = beliefs["real"], beliefs["fake"]
        k = min(N_EXTREMES, len(fake))
        rows = [fake[torch.argsort(fake_score, descending=True)[:k]],     # most real to the critic
                fake[torch.argsort(fake_score)[:k]],                       # least real
                self.real[torch.argsort(real_score)[:k]]]                  # real ones it doubts most
        images = to_uint8(torch.cat(rows), (-1.0, 1.0))
        return {VIEW: view.astype(np.float32), EXTREMES: image_grid(images, k)}


# -- what the page draws from the stored views ------------------------------------------------
def view_rows(view: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """A stored view (rows, n) as {row name: values}."""
    if view.ndim != 2 or len(view) != len(names):
        raise ValueError(f"a critic view of {len(names)} rows {names}, not of shape {view.shape}")
    return dict(zip(names, view))


def score_range(views: list[np.ndarray], probabilities: bool) -> tuple[float, float]:
    """The score axis of views' real and generated rows: [0, 1] for probabilities, else their range."""
    if probabilities:
        return 0.0, 1.0
    scores = np.concatenate([v[:2].ravel() for v in views]) if views else np.zeros(1)
    lo, hi = float(scores.min()), float(scores.max())
    return (lo - 0.5, hi + 0.5) if hi - lo < 1e-6 else (lo, hi)


def centred(view: np.ndarray) -> np.ndarray:
    """A WGAN view's real and generated scores less their common mean. A WGAN critic's scores
    drift as a whole while it trains (only their differences mean anything), which would
    hide in the history how the two distributions part and merge."""
    scores = view[:2]
    return scores - scores.mean()


def heat_strip(views: list[np.ndarray], lo: float, hi: float, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(edges (bins + 1,), shares (2, bins, len(views))): for the real row and the generated
    row of each view, the share of images whose score falls in each bin, one column per view."""
    edges = np.linspace(lo, hi, bins + 1)
    shares = np.zeros((2, bins, len(views)))
    for j, v in enumerate(views):
        for i in range(2):
            counts, _ = np.histogram(np.clip(v[i], lo, hi), edges)
            shares[i, :, j] = counts / max(1, len(v[i]))
    return edges, shares


def bce_accuracy(real_p: np.ndarray, fake_p: np.ndarray) -> tuple[float, float]:
    """Shares of real images D calls real (p > 0.5) and of generated ones it calls generated."""
    return float(np.mean(real_p > 0.5)), float(np.mean(fake_p < 0.5))


def wasserstein_estimate(real: np.ndarray, fake: np.ndarray) -> float:
    """Mean critic score on the real batch minus that on the generated one."""
    return float(np.mean(real) - np.mean(fake))
