"""Drawing galaxies from a trained GAN generator: fixed-seed noise, batches in eval mode,
and one row per class from the same z for a conditional (acGAN) generator."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autoenc.errors import UserError
from autoenc.images import to_uint8

EMA = "generator_ema"        # the moving-average generator's name among a GAN's modules


def sampling_generator(modules: dict[str, nn.Module]) -> nn.Module:
    """The net that draws a trained model's samples: the moving average where the file has one."""
    return modules[EMA] if EMA in modules else modules["generator"]


def noise(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """Standard normal z (n, z_dim), the same for a seed on every device."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(n, z_dim, generator=g)


@torch.no_grad()
def generate(generator: nn.Module, n: int, seed: int = 0, labels=None, batch_size: int = 256) -> np.ndarray:
    """n images (n, H, W, 3) uint8 from z drawn with `seed`, in eval mode (BatchNorm's running stats).

    For a conditional generator, labels is a class index or a sequence of n of them;
    None cycles through the classes (0, 1, 2, 0, ...).
    """
    return generate_from(generator, noise(n, generator.z_dim, seed), labels, batch_size)


@torch.no_grad()
def generate_from(generator: nn.Module, z: torch.Tensor, labels=None, batch_size: int = 256) -> np.ndarray:
    """Images (n, H, W, 3) uint8 from the given z (n, z_dim); labels as for `generate`."""
    device = next(generator.parameters()).device
    n = len(z)
    y = None
    if generator.n_classes:
        if labels is None:
            y = torch.arange(n) % generator.n_classes
        else:
            y = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
            y = y.expand(n) if y.numel() == 1 else y
            if len(y) != n or y.min() < 0 or y.max() >= generator.n_classes:
                raise UserError(f"labels must be {n} class numbers from 0 to {generator.n_classes - 1}")
    was_training = generator.training
    if was_training:        # a loaded model is already in eval mode: leave it untouched
        generator.eval()
    try:
        out = []
        for i in range(0, n, batch_size):
            zi = z[i:i + batch_size].to(device)
            yi = y[i:i + batch_size].to(device) if y is not None else None
            out.append(to_uint8(generator(zi, yi), (-1.0, 1.0)))
    finally:
        if was_training:
            generator.train()
    if not out:
        s = generator.image_size
        return np.zeros((0, s, s, 3), np.uint8)
    return np.concatenate(out)


def class_rows(generator: nn.Module, n_cols: int, seed: int = 0) -> np.ndarray:
    """One row per class, the same z in every column (the article's Figure 12): (rows*cols, H, W, 3).

    Only the class changes down a column, so what the class embedding does is all there is to see.
    """
    if not generator.n_classes:
        raise UserError("only a conditional generator (acGAN) draws a chosen class")
    z = noise(n_cols, generator.z_dim, seed).repeat(generator.n_classes, 1)
    labels = torch.arange(generator.n_classes).repeat_interleave(n_cols)
    return generate_from(generator, z, labels)
