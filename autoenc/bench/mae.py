"""MAE: training steps per second at 32 and 64 px with the page's settings (batch 64, 75 %
hidden, an 8 x 8 grid of patches), timed as the GAN family is: per-round medians."""
from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import torch

from autoenc.bench import Record
from autoenc.bench.gan import ROUNDS, WARMUP_STEPS, round_record, steps_per_round
from autoenc.train.mae import MAEConfig, MAETask

TRAIN_IMAGES = 256          # the step's cost does not depend on how many images the set holds


def benchmarks(sizes: tuple[int, ...] = (32, 64)) -> Iterator[Record]:
    """mae.steps_per_s.<px>: the median of ROUNDS rounds' median step rates, with n and spread."""
    for size in sizes:
        task = MAETask(MAEConfig(image_size=size, n_images=TRAIN_IMAGES), torch.device("cpu"))
        t = time.perf_counter()
        for step in range(WARMUP_STEPS):
            task.train_step(step)
        steps = steps_per_round((time.perf_counter() - t) / WARMUP_STEPS)
        per_round = []
        for _ in range(ROUNDS):
            times = []
            for step in range(steps):
                t = time.perf_counter()
                task.train_step(step)
                times.append(time.perf_counter() - t)
            per_round.append(1.0 / statistics.median(times))
        yield round_record(f"mae.steps_per_s.{size}", per_round, "steps/s")
