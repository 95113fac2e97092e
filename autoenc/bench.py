"""python -m autoenc bench: speed figures as records, measured in one run on this machine.

Each model's module contributes a `benchmarks()` generator; records are named with dots
(`denoiser.traces_per_s`) so `--only PREFIX` can pick a family.
"""
from __future__ import annotations

import importlib
import os
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterator

import torch


@dataclass
class Record:
    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def as_json(self) -> dict:
        return {"name": self.name, "value": float(self.value), "unit": self.unit,
                "target": self.target, "ok": self.ok}


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


def machine_benchmarks() -> Iterator[Record]:
    """fp32 matmul peak (2048^3) with the benchmarks' threads: the yardstick for model figures."""
    yield Record("machine.torch_threads", torch.get_num_threads(), "threads")
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = median_time(lambda: a @ b, repeats=5)
    yield Record("machine.matmul_gflops", 2 * n**3 / t / 1e9, "GFLOP/s")


def store_benchmarks() -> Iterator[Record]:
    """Run-store write and incremental-read rates (what live charts cost)."""
    import tempfile
    from pathlib import Path

    from autoenc.runs.store import RunStore
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp))
        run_id = store.create_run("bench", {})
        rows = [(i, "loss", 1.0 / (i + 1)) for i in range(200)]
        t = median_time(lambda: store.log_metrics(run_id, rows, step=200), repeats=7)
        yield Record("runs.metric_rows_written_per_s", len(rows) / t, "rows/s")
        _, seq = store.metrics_since(run_id)
        t = median_time(lambda: store.metrics_since(run_id, seq), repeats=21)
        yield Record("runs.chart_poll_ms", t * 1e3, "ms", target=20.0, higher_is_better=False)


# (prefix, "module:function") — imported only when selected
BENCHMARKS: list[tuple[str, str]] = [
    ("machine", "autoenc.bench:machine_benchmarks"),
    ("runs", "autoenc.bench:store_benchmarks"),
    ("denoiser", "autoenc.train.denoiser:benchmarks"),
    ("galaxies", "autoenc.train.classifier:benchmarks"),
    ("vae", "autoenc.train.vae:benchmarks"),
    ("gan", "autoenc.train.gan:benchmarks"),
]


def run_benchmarks(only: str | None = None, echo: bool = False) -> list[Record]:
    records = []
    torch.set_num_threads(bench_threads())  # the same for `--only X` as in a full run
    for prefix, target in BENCHMARKS:
        if only and not (prefix.startswith(only) or only.startswith(prefix)):
            continue
        module, fn = target.split(":")
        for rec in getattr(importlib.import_module(module), fn)():
            if only and not rec.name.startswith(only):
                continue
            records.append(rec)
            if echo:
                flag = "" if rec.ok is None else ("  ok" if rec.ok else "  MISSED")
                goal = "" if rec.target is None else f"  (target {'>=' if rec.higher_is_better else '<='} {rec.target:g})"
                print(f"{rec.name:48} {rec.value:12.4g} {rec.unit}{goal}{flag}", flush=True)
    return records
