"""The run store: what writing metrics, polling a live chart and writing checkpoints cost."""
from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch

from autoenc.bench import Record, median_time
from autoenc.runs.store import RunStore


def benchmarks() -> Iterator[Record]:
    """Run-store write and incremental-read rates."""
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp))
        run_id = store.create_run("bench", {})
        rows = [(i, "loss", 1.0 / (i + 1)) for i in range(200)]
        t = median_time(lambda: store.log_metrics(run_id, rows, step=200), repeats=7)
        yield Record("runs.metric_rows_written_per_s", len(rows) / t, "rows/s")
        _, seq = store.metrics_since(run_id)
        t = median_time(lambda: store.metrics_since(run_id, seq), repeats=21)
        yield Record("runs.chart_poll_ms", t * 1e3, "ms", target=20.0, higher_is_better=False)
    yield from checkpoint_benchmarks()


# Data kept small: neither a checkpoint's size nor a step's time depends on it.
SMALL_DATA = {"n_train": 256, "n_val": 32, "n_images": 128}
TIMED_STEPS = 15


def checkpoint_overhead(model: str, settings: dict) -> tuple[float, float, float]:
    """(share of training time spent writing checkpoints, seconds a write, seconds a step) for
    a run of these settings at the loop's cadence: every checkpoint_every steps or every
    checkpoint_interval seconds, whichever comes first."""
    from autoenc.registry import get_model
    from autoenc.train.loop import checkpoint_interval, save_task_checkpoint
    from autoenc.train.task import config_fields, config_from_dict
    cls = get_model(model).task_class()
    fields = {f.name for f in config_fields(cls.Config)}
    cfg = config_from_dict(cls.Config, {**settings, **{k: v for k, v in SMALL_DATA.items() if k in fields}})
    task = cls(cfg, torch.device("cpu"))
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp))
        rid = store.create_run(model, {})
        for step in (1, 2):
            task.train_step(step)
        step_s = median_time(lambda: task.train_step(3), repeats=TIMED_STEPS, warmup=0)
        writes = [save_task_checkpoint(task, store, rid, 3) for _ in range(3)]
    write_s = statistics.median(writes)
    between = min(cfg.checkpoint_every * step_s, checkpoint_interval(cfg.checkpoint_seconds, write_s))
    return write_s / (between + write_s), write_s, step_s


def checkpoint_benchmarks() -> Iterator[Record]:
    """runs.checkpoint_overhead.<model> (target 0.05, lower is better) at each page's default
    settings, and the paper VAE's (vae-paper), with the write time it rests on."""
    from autoenc.runs.page_defaults import PAGE_SETTINGS
    cases = [(model, model, settings) for model, settings in PAGE_SETTINGS.items()]
    cases.append(("vae-paper", "vae", {"arch": "paper"}))           # its 591 MB checkpoint
    with tempfile.TemporaryDirectory() as home:
        before = os.environ.get("AUTOENC_HOME")
        os.environ["AUTOENC_HOME"] = home              # rendered data is cached here, not in the user's home
        try:
            for name, model, settings in cases:
                share, write_s, step_s = checkpoint_overhead(model, settings)
                yield Record(f"runs.checkpoint_write_s.{name}", write_s, "s", n=3)
                yield Record(f"runs.checkpoint_overhead.{name}", share, "share of training time", target=0.05,
                             higher_is_better=False)
        finally:
            if before is None:
                os.environ.pop("AUTOENC_HOME", None)
            else:
                os.environ["AUTOENC_HOME"] = before
