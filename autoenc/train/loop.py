"""The one training loop: every model goes through here via its Task.

It logs what train_step returns (averaged over about a second, so the store and the
charts stay light whatever the step rate), validates, snapshots samples for the page,
checkpoints atomically, and stops cleanly on request, on a time limit or on NaN.
"""
from __future__ import annotations

import math
import signal
import sys
import time
from dataclasses import dataclass

from autoenc.runs.checkpoint import save_checkpoint
from autoenc.runs.store import RunStore
from autoenc.train.task import Task, config_to_dict

FLUSH_SECONDS = 1.0


@dataclass
class Outcome:
    status: str          # finished | stopped | failed
    step: int
    message: str = ""


class _StopFlag:
    """SIGTERM/SIGINT ask for a clean stop: finish the step, checkpoint, exit."""

    def __init__(self):
        self.set = False

    def install(self):
        def handler(signum, frame):
            self.set = True
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                signal.signal(sig, handler)
            except ValueError:  # not the main thread (tests): rely on the store flag
                pass


def save_task_checkpoint(task: Task, store: RunStore, run_id: str, step: int) -> None:
    meta = {"model": task.name, "config": config_to_dict(task.config), "step": step, "run_id": run_id}
    save_checkpoint(store.checkpoint_path(run_id), task.state_tensors(), meta)
    store.update(run_id, checkpoint_step=step)


def train(task: Task, store: RunStore, run_id: str, *, total_steps: int, start_step: int = 0,
          max_seconds: float | None = None, progress: bool = False) -> Outcome:
    cfg = task.config
    flag = _StopFlag()
    flag.install()
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=total_steps, initial=start_step, desc=f"{task.name} {run_id}", unit="step")

    t0 = time.monotonic()
    last_flush = last_snapshot = 0.0
    sums: dict[str, float] = {}
    count = 0
    step = start_step
    last_saved = start_step

    def flush(step: int, extra: dict[str, float] | None = None) -> bool:
        nonlocal sums, count
        rows = [(step, k, v / count) for k, v in sums.items()] if count else []
        rows += [(step, k, v) for k, v in (extra or {}).items()]
        store.log_metrics(run_id, rows, step=step)
        sums, count = {}, 0
        return store.heartbeat(run_id)

    def checkpoint(step: int) -> None:
        nonlocal last_saved
        save_task_checkpoint(task, store, run_id, step)
        last_saved = step

    try:
        while step < total_steps:
            step += 1
            losses = task.train_step(step)
            bad = [k for k, v in losses.items() if not math.isfinite(v)]
            if bad:
                kept = (f"The last good checkpoint (step {last_saved}) is kept." if last_saved
                        else "It diverged before its first checkpoint, so there is nothing to resume.")
                msg = (f"{bad[0]} became {losses[bad[0]]} at step {step}: training diverged "
                       f"(try a lower learning rate). {kept}")
                flush(step - 1)
                return Outcome("failed", step - 1, msg)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            if bar:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)

            now = time.monotonic()
            extra = task.validate(step) if step % cfg.eval_every == 0 or step == total_steps else {}
            stop_asked = False
            if extra or now - last_flush >= FLUSH_SECONDS or step == total_steps:
                stop_asked = flush(step, extra)
                last_flush = now
            if now - last_snapshot >= cfg.snapshot_seconds or step == total_steps:
                for name, array in task.snapshot(step).items():
                    store.put_sample(run_id, step, name, array)
                last_snapshot = now
            if step % cfg.checkpoint_every == 0:
                checkpoint(step)
            if stop_asked or flag.set:
                if count:
                    flush(step)
                checkpoint(step)
                return Outcome("stopped", step, "stopped on request")
            if max_seconds is not None and now - t0 >= max_seconds:
                if count:
                    flush(step)
                checkpoint(step)
                return Outcome("finished", step, f"time limit of {max_seconds:g} s reached")
        if last_saved != step:
            checkpoint(step)
        return Outcome("finished", step)
    finally:
        if bar:
            bar.close()
