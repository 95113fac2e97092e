"""Denoiser: the simulator's speed, training seconds to the article's accuracy, step and inference time."""
from __future__ import annotations

import time
from collections.abc import Iterator

import torch

from autoenc.bench import Record, median_time
from autoenc.data import heldout
from autoenc.data.radio import NOISE_TYPES, simulate
from autoenc.inference.denoiser import ARTICLE_ACCURACY, denoise, evaluate
from autoenc.train.denoiser import DenoiserConfig, DenoiserTask


def seconds_to_accuracy(noise: str, target: float, max_seconds: float = 240.0, check_every: int = 25) -> float:
    """Training seconds from scratch (default config) until the held-out peak accuracy
    reaches target; evaluation time is not counted. inf if not reached in max_seconds."""
    torch.manual_seed(0)
    task = DenoiserTask(DenoiserConfig(noise=noise), torch.device("cpu"))
    trained, step = 0.0, 0
    while trained < max_seconds:
        t = time.perf_counter()
        for _ in range(check_every):
            step += 1
            task.train_step(step)
        trained += time.perf_counter() - t
        if evaluate(task.model, noise)["peak_accuracy"] >= target:
            return trained
    return float("inf")


def benchmarks() -> Iterator[Record]:
    n = 20_000
    t = median_time(lambda: simulate(n, "galactic", seed=1), repeats=3)
    yield Record("denoiser.traces_per_s", n / t, "traces/s", target=20_000)
    for noise in NOISE_TYPES:
        yield Record(f"denoiser.train_s_to_seed_accuracy.{noise}", seconds_to_accuracy(noise, ARTICLE_ACCURACY[noise]),
                     "s", target=None if noise == "galactic" else 60.0, higher_is_better=False)

    torch.manual_seed(0)
    task = DenoiserTask(DenoiserConfig(n_train=2000, n_val=100), torch.device("cpu"))
    steps = iter(range(1, 10**6))
    t = median_time(lambda: task.train_step(next(steps)), repeats=21, warmup=3)
    yield Record("denoiser.train_step_ms", t * 1e3, "ms")
    data = heldout.radio("galactic")
    t = median_time(lambda: denoise(task.model, data.noisy), repeats=3)
    yield Record("denoiser.heldout_denoise_s", t, "s", target=2.0, higher_is_better=False)
