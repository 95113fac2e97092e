"""python -m autoenc bench: speed figures as records, measured in one run on this machine.

One module per family here contributes a `benchmarks()` generator; records are named with
dots (`denoiser.traces_per_s`) so `--only PREFIX` can pick a family.
"""
from __future__ import annotations

import importlib
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class Record:
    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True
    n: int = 1                      # measurements behind the value (a median where more than one)
    spread: float | None = None     # max - min of those measurements

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def as_json(self) -> dict:
        return {"name": self.name, "value": float(self.value), "unit": self.unit,
                "target": self.target, "ok": self.ok, "n": self.n, "spread": self.spread}


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_threads() -> int:
    """Every benchmark runs with the torch threads a dashboard run gets: the cores but one,
    which stays with the server (runs/worker.py: threads_per_run at the default limit of 1)."""
    return max(1, (os.cpu_count() or 1) - 1)


# the families, in the order they run; a family's module is imported only when selected,
# so `--only machine` does not load every model
FAMILIES = ("machine", "runs", "denoiser", "galaxies", "vae", "mae", "gan", "app", "quality", "cuda")
# families whose records are named by model (quality: gan.train_s_to_quality): their module
# lists the prefixes (PREFIXES) and is told which are wanted, so it measures only those
BY_MODEL = ("quality",)


def run_benchmarks(only: str | None = None, echo: bool = False) -> list[Record]:
    records = []
    torch.set_num_threads(bench_threads())  # the same for `--only X` as in a full run
    for family in FAMILIES:
        if family in BY_MODEL:
            module = importlib.import_module(f"autoenc.bench.{family}")
            prefixes = module.PREFIXES
        else:
            module, prefixes = None, (family,)
        if only and not any(p.startswith(only) or only.startswith(p) for p in prefixes):
            continue
        module = module or importlib.import_module(f"autoenc.bench.{family}")
        for rec in module.benchmarks(only) if family in BY_MODEL else module.benchmarks():
            if only and not rec.name.startswith(only):
                continue
            records.append(rec)
            if echo:
                flag = "" if rec.ok is None else ("  ok" if rec.ok else "  MISSED")
                goal = "" if rec.target is None else f"  (target {'>=' if rec.higher_is_better else '<='} {rec.target:g})"
                spread = f" (n {rec.n}, spread {rec.spread:.3g})" if rec.spread is not None else ""
                print(f"{rec.name:48} {rec.value:12.4g} {rec.unit}{spread}{goal}{flag}", flush=True)
    return records
