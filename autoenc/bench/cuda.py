"""bench --only cuda: the GAN steps at 64 and 128 px and the paper VAE's images per second
on a GPU, where there is one; on a machine without, one record saying so (cuda.available 0).

Each GAN figure is the median over ROUNDS rounds of steps/s, each round as many steps as
fill ROUND_SECONDS at the warm-up's pace and ended by a synchronize (a step's kernels are
only queued when update() returns); the task trains as on a page with --device cuda: bf16
autocast where the GPU has it, channels_last, the data on the device.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

import torch

from autoenc.bench import Record
from autoenc.bench.gan import ROUNDS, WARMUP_STEPS, fake_galaxies, round_record, steps_per_round
from autoenc.models.vae import PaperVAE
from autoenc.train.gan import TASKS
from autoenc.train.precision import autocast, mixed_precision
from autoenc.train.task import config_from_dict

SIZES = (64, 128)
VAE_BATCH = 64


def timed_rounds(step, rounds: int = ROUNDS) -> list[float]:
    """Steps per second of each round of `step()` calls, the GPU's queue drained at each end."""
    t = time.perf_counter()
    for _ in range(WARMUP_STEPS):
        step()
    torch.cuda.synchronize()
    n = steps_per_round((time.perf_counter() - t) / WARMUP_STEPS)
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            step()
        torch.cuda.synchronize()
        out.append(n / (time.perf_counter() - t))
    return out


def gan_rounds(cls, size: int, device: torch.device) -> list[float]:
    cfg = config_from_dict(cls.Config, {"image_size": size, "batch_size": 64, "ngf": 32, "ndf": 32,
                                        "precision": "auto"})
    task = cls(cfg, device, data=fake_galaxies(1024, size))
    steps = iter(range(1, 1_000_000))
    return timed_rounds(lambda: task.update(next(steps)))


def benchmarks() -> Iterator[Record]:
    """cuda.available; where 1, cuda.gan.steps_per_s.<model>.<px> for the four GANs at 64 and
    128 px (batch 64, the shipped widths) and cuda.vae.paper_images_per_s (128 px, batch 64)."""
    if not torch.cuda.is_available():
        yield Record("cuda.available", 0.0, "")
        return
    yield Record("cuda.available", 1.0, "")
    device = torch.device("cuda")
    for name, cls in TASKS.items():
        for size in SIZES:
            yield round_record(f"cuda.gan.steps_per_s.{name}.{size}", gan_rounds(cls, size, device), "steps/s")
    torch.manual_seed(0)
    paper = PaperVAE(128).to(device).train()
    opt = torch.optim.Adam(paper.parameters(), lr=1e-4, fused=True)
    x = torch.rand(VAE_BATCH, 3, 128, 128, device=device)
    dtype = mixed_precision(device)

    def step():             # VAETask.update's work
        with autocast(device, dtype):
            loss, _, _ = paper.training_loss(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    yield round_record("cuda.vae.paper_images_per_s", [VAE_BATCH * r for r in timed_rounds(step)], "images/s")
