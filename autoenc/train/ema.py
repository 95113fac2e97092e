"""A moving average of a generator's weights (Yazici et al. 2019), which then draws its
samples, and the BatchNorm statistics of the averaged weights."""
from __future__ import annotations

from itertools import chain

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

STANDING_BATCHES = 8         # x 64 z: the 512 draws whose BatchNorm statistics the average keeps


class WarmedEMA(AveragedModel):
    """An exponential moving average of a generator's weights and BatchNorm statistics.

    The decay warms up as min(decay, (1 + n) / (10 + n)) after n updates (TensorFlow's
    ExponentialMovingAverage), so the average follows a young generator instead of holding
    on to its random start. The copy stays in eval mode: it draws, it never trains. The
    update count n_averaged stays on the CPU: reading it for the decay (and AveragedModel's
    own update, which moves it to the weights' device first) would wait for a GPU each step.
    """

    def __init__(self, generator: nn.Module, decay: float):
        super().__init__(generator, use_buffers=True)
        self.decay = decay
        self.module.eval().requires_grad_(False)

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        n = int(self.n_averaged)
        pairs = list(zip(chain(self.module.parameters(), self.module.buffers()),
                         chain(model.parameters(), model.buffers())))
        floats = [(a, c) for a, c in pairs if n and torch.is_floating_point(a)]
        if floats:
            d = min(self.decay, (1 + n) / (10 + n))
            torch._foreach_lerp_([a for a, _ in floats], [c.detach() for _, c in floats], 1 - d)
        for a, c in pairs:
            if not (n and torch.is_floating_point(a)):     # the first update, and BatchNorm's batch counters
                a.copy_(c.detach())
        self.n_averaged += 1


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
