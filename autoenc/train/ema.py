"""A moving average of a generator's weights (Yazici et al. 2019), which then draws its
samples, and the BatchNorm statistics of the averaged weights."""
from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

STANDING_BATCHES = 8         # x 64 z: the 512 draws whose BatchNorm statistics the average keeps


def make_ema(generator: nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of the generator's weights and BatchNorm statistics.

    The decay warms up as min(decay, (1 + n) / (10 + n)) after n updates (TensorFlow's
    ExponentialMovingAverage), so the average follows a young generator instead of holding
    on to its random start. The copy stays in eval mode: it draws, it never trains.
    """
    @torch.no_grad()
    def warmed_ema(averaged: list, current: list, n_averaged: torch.Tensor) -> None:
        n = float(n_averaged)
        d = min(decay, (1 + n) / (10 + n))
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1 - d)
        else:                       # BatchNorm's batch counters
            for a, c in zip(averaged, current):
                a.copy_(c)

    ema = AveragedModel(generator, multi_avg_fn=warmed_ema, use_buffers=True)
    ema.module.eval().requires_grad_(False)
    return ema


@torch.no_grad()
def standing_statistics(generator: nn.Module, batches: int = STANDING_BATCHES, batch_size: int = 64) -> None:
    """Re-measure the BatchNorm statistics of a moving-average generator on its own activations
    ("standing statistics", Brock et al. 2019, BigGAN): averaging the statistics of past
    generators, as the average does along with their weights, is not the statistics of the
    averaged weights. Always the same z (a fixed seed), so the same weights get the same
    statistics."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None               # a plain mean over the batches below
    device = next(generator.parameters()).device
    gen = torch.Generator(device=device).manual_seed(0)
    n_classes = generator.n_classes
    was_training = generator.training
    generator.train()
    try:
        for i in range(batches):
            z = torch.randn(batch_size, generator.z_dim, generator=gen, device=device)
            labels = (torch.arange(batch_size, device=device) + i) % n_classes if n_classes else None
            generator(z, labels)
    finally:
        generator.train(was_training)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
