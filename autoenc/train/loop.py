"""The one training loop: every model goes through here via its Task.

It logs what Task.update returns (averaged over about a second, so the store and the
charts stay light whatever the step rate), validates, snapshots samples for the page,
checkpoints atomically, and stops cleanly on request, on a time limit or on NaN.

Checkpoints come every `checkpoint_every` steps and at least every `checkpoint_seconds`
of training, so a killed run loses at most that much whatever its step rate; where one
write takes longer than CHECKPOINT_BUDGET of that interval (the 197 MB paper VAE), the
interval grows to keep writing within the budget.
"""
from __future__ import annotations

import errno
import math
import os
import signal
import sys
import time
from dataclasses import dataclass

from tqdm import tqdm

from autoenc.runs import step_mode
from autoenc.runs.checkpoint import read_meta, save_checkpoint
from autoenc.runs.store import RunStore
from autoenc.train.distributed import SINGLE, World
from autoenc.train.loss_log import LossLog
from autoenc.train.task import Task, config_to_dict

FLUSH_SECONDS = 1.0
CHECKPOINT_BUDGET = 0.05    # the share of training time checkpoint writes may take


def checkpoint_interval(seconds: float, write_s: float) -> float:
    """Seconds of training between checkpoints: the setting, or longer for a slow write."""
    return max(seconds, write_s / CHECKPOINT_BUDGET)


@dataclass
class Outcome:
    status: str          # finished | stopped | failed
    step: int
    message: str = ""
    reason: str = "steps"    # why it ended: autoenc.runs.run.END_REASONS


class CheckpointWriteError(Exception):
    """A checkpoint could not be written; the message says why and which one is kept."""

    def __init__(self, step: int, kept: int, cause: OSError):
        reason = os.strerror(cause.errno) if cause.errno else str(cause)
        kept_text = (f"the checkpoint of step {kept:,} is kept and the run can resume from it" if kept
                     else "no earlier checkpoint exists, so a resume starts again from step 0")
        super().__init__(f"could not write the checkpoint of step {step:,}: {reason} ({cause.__class__.__name__}"
                         f"{', ' + errno.errorcode.get(cause.errno, '') if cause.errno else ''}); {kept_text}. "
                         "Free some disk space or check the run folder, then resume.")
        self.step = step


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


# Validations before this share of the run do not compete for the best checkpoint: early,
# blurry GAN samples can score well by chance (a classifier spreads them over the classes).
BEST_FROM = 2 / 3


def save_task_checkpoint(task: Task, store: RunStore, run_id: str, step: int) -> float:
    """Write the run's checkpoint; returns the seconds it took. `saved_at` (wall time) lets
    the fault harness measure how much training a kill lost."""
    t = time.monotonic()
    meta = {"model": task.name, "config": config_to_dict(task.config), "step": step, "run_id": run_id,
            "saved_at": time.time()}
    save_checkpoint(store.checkpoint_path(run_id), task.state_tensors(), meta)
    store.update(run_id, checkpoint_step=step)
    return time.monotonic() - t


class BestKeeper:
    """Keeps the weights (no optimiser) at the best value of the task's `best_metric` seen in
    the last third of the run; a resumed run competes with the best it already kept."""

    def __init__(self, task: Task, store: RunStore, run_id: str, total_steps: int):
        self.task, self.store, self.run_id = task, store, run_id
        self.metric = task.best_metric
        self.from_step = math.ceil(total_steps * BEST_FROM)
        self.value: float | None = None
        path = store.best_checkpoint_path(run_id)
        if self.metric and path.exists():
            try:
                self.value = float(read_meta(path)["selected_by"]["value"])
            except Exception:       # unreadable: the next validation writes a fresh one
                self.value = None

    def offer(self, step: int, metrics: dict[str, float]) -> bool:
        if not self.metric or step < self.from_step or self.metric[0] not in metrics:
            return False
        name, lower = self.metric
        v = float(metrics[name])
        if not math.isfinite(v) or (self.value is not None and (v >= self.value if lower else v <= self.value)):
            return False
        meta = {"model": self.task.name, "config": config_to_dict(self.task.config), "step": step,
                "run_id": self.run_id, "selected_by": {"metric": name, "value": v, "lower_is_better": lower}}
        save_checkpoint(self.store.best_checkpoint_path(self.run_id), self.task.state_tensors(with_optimizer=False),
                        meta)
        self.value = v
        return True


class StepMode:
    """The training side of step mode (runs/step_mode.py), for a task with step_units: between
    two updates, what the run is asked to do next."""

    POLL_S = 0.05           # while paused: how often the store is asked for new requests

    def __init__(self, store: RunStore, run_id: str):
        self.store, self.run_id = store, run_id
        self.held_s = 0.0            # seconds paused or held back by the speed limit: not training time
        self.last_train: float | None = None
        self.remaining = 0           # asked-for updates still to do after the one next_unit returned
        self._controls = None        # the last read of the store, reused for POLL_S while playing
        self._read_at = 0.0

    def _read(self):
        """The run's controls, read from the store at most every POLL_S: while playing, a
        read per step would cost a store connection per step."""
        now = time.monotonic()
        if self._controls is None or now - self._read_at >= self.POLL_S:
            self._controls, self._read_at = step_mode.step_controls(self.store, self.run_id), now
        return self._controls

    def next_unit(self, stop: _StopFlag, on_pause) -> str | None:
        """"critic" or "generator" (an asked-for update; critic ones first), "train" (a
        update, while playing), or None (a stop was asked for). Waits while paused, having
        called on_pause() once (to show where it paused)."""
        beat = time.monotonic()
        shown = False
        while True:
            c = self._read()
            if c is None or c["stop_requested"] or stop.set:
                return None
            pending = c["pending_critic"] + c["pending_generator"]
            if pending:
                self.remaining = pending - 1
                self._controls = None       # it changes with this update: read afresh next time
                return "critic" if c["pending_critic"] else "generator"
            if c["paused"] and not shown:
                on_pause()
                shown = True
            now = time.monotonic()
            wait = self.POLL_S
            if not c["paused"]:
                limit = c["speed_limit"]
                if not limit or self.last_train is None or now >= self.last_train + 1 / limit:
                    self.last_train = now
                    return "train"
                wait = min(wait, self.last_train + 1 / limit - now)
            time.sleep(wait)
            self.held_s += time.monotonic() - now
            if time.monotonic() - beat >= FLUSH_SECONDS:     # a paused run is alive, not interrupted
                self.store.heartbeat(self.run_id)
                beat = time.monotonic()


def train(task: Task, store: RunStore, run_id: str, *, total_steps: int, start_step: int = 0,
          max_seconds: float | None = None, progress: bool = False, world: World = SINGLE) -> Outcome:
    """Under torchrun every rank runs this loop; rank 0 (world.main) alone writes to the
    store and the run folder, and shares its decisions to stop (train/distributed.py)."""
    cfg = task.config
    flag = _StopFlag()
    flag.install()
    bar = None
    if progress and world.main and sys.stderr.isatty():
        bar = tqdm(total=total_steps, initial=start_step, desc=f"{task.name} {run_id}", unit="step")

    t0 = time.monotonic()
    last_flush = last_snapshot = 0.0
    log = LossLog()         # only rank 0's: the others' losses are the same averages
    step = start_step
    # step mode is one process's: under torchrun the page's step buttons are not offered
    stepper = StepMode(store, run_id) if task.step_units and world.size == 1 else None
    critic_steps = (lambda: task.critic_updates) if task.step_units else (lambda: None)
    last_saved = start_step
    saved_at, interval = t0, cfg.checkpoint_seconds
    best = BestKeeper(task, store, run_id, total_steps)

    def flush(step: int, extra: dict[str, float] | None = None) -> bool:
        if not world.main:
            return False
        if log.read():          # log what came before the step that diverged, at the step before it
            step, extra = log.diverged.step - 1, None
        rows = [(step, k, v) for k, v in log.take_means().items()]
        rows += [(step, k, v) for k, v in (extra or {}).items()]
        store.log_metrics(run_id, rows, step=step, critic_steps=critic_steps())
        if bar:
            bar.set_postfix({k: f"{v:.4g}" for k, v in log.last.items()}, refresh=False)
        return store.heartbeat(run_id)

    def put_samples(step: int) -> None:
        if not world.main or log.read():
            return
        for name, array in task.snapshot(step).items():
            store.put_sample(run_id, step, name, array, task.sample_history.get(name))

    shown_at = None

    def show(step: int, extra: dict[str, float] | None = None) -> bool:
        """Samples, then losses and counts as they are now, unless already shown (a run that
        pauses shows where, a step-mode request its result: whoever waits for the counts finds
        the samples); returns whether a stop was asked for."""
        nonlocal last_flush, last_snapshot, shown_at
        if shown_at == (step, critic_steps()) and not extra:
            return False
        put_samples(step)
        stop = flush(step, extra)
        last_flush = last_snapshot = time.monotonic()
        shown_at = (step, critic_steps())
        return stop

    def checkpoint(step: int) -> None:
        nonlocal last_saved, saved_at, interval
        if not world.main:
            last_saved = step
            return
        if log.read():          # weights that diverged are not saved
            return
        try:
            write_s = save_task_checkpoint(task, store, run_id, step)
        except OSError as e:     # disk full, read-only, I/O error: the last good file stays
            raise CheckpointWriteError(step, last_saved, e) from None
        store.log_metrics(run_id, [(step, "checkpoint_write_s", write_s)])
        last_saved, saved_at = step, time.monotonic()
        interval = checkpoint_interval(cfg.checkpoint_seconds, write_s)

    def diverged() -> Outcome:
        if log.unlogged:
            flush(step)
        d = log.diverged
        if d is None:           # another rank's loop: rank 0 read it and records it
            return Outcome("failed", step, "training diverged", "diverged")
        kept = (f"The last good checkpoint (step {last_saved}) is kept." if last_saved
                else "It diverged before its first checkpoint, so a resume starts again from step 0.")
        msg = f"{d.name} became {d.value} at step {d.step}: training diverged (try a lower learning rate). {kept}"
        return Outcome("failed", d.step - 1, msg, "diverged")

    try:
        while step < total_steps:
            unit = stepper.next_unit(flag, lambda at=step: show(at)) if stepper else "train"
            if unit is None:
                flag.set = True             # stopped while paused: the stop below saves and ends
                losses = {}
            elif unit == "critic":
                losses = task.unit_step("critic")
            else:
                step += 1
                losses = task.update(step) if unit == "train" else task.unit_step("generator")
            losses = world.mean(losses)         # the whole batch's: every rank sees the same NaN
            if world.main:
                log.add(step, losses)
            if bar and unit != "critic":
                bar.update(1)

            now = time.monotonic()
            moved = unit not in (None, "critic")        # the generator took a step
            # the last asked-for update of a request shows at once: samples and losses first,
            # then the counts that the page and `runs step` wait for
            answered = unit in ("critic", "generator") and stepper.remaining == 0
            validating = world.main and moved and (step % cfg.eval_every == 0 or step == total_steps)
            extra = task.validate(step) if validating and not log.read() else {}
            best.offer(step, extra)
            stop_asked = False
            if answered:
                stop_asked = show(step, extra)
            else:
                if extra or now - last_flush >= FLUSH_SECONDS or step == total_steps:
                    stop_asked = flush(step, extra)
                    last_flush = now
                if now - last_snapshot >= cfg.snapshot_seconds or step == total_steps:
                    put_samples(step)
                    last_snapshot = now
            if unit in ("critic", "generator"):
                step_mode.step_done(store, run_id, unit, task.critic_updates, step)
            if moved and step % cfg.checkpoint_every == 0 or now - saved_at >= interval:
                checkpoint(step)
            time_up = max_seconds is not None and now - t0 - (stepper.held_s if stepper else 0.0) >= max_seconds
            stop_asked, time_up, failed = world.decide(stop_asked or flag.set, time_up, log.diverged is not None)
            if failed:
                return diverged()
            if stop_asked or time_up:
                if log.unlogged:
                    flush(step)
                if log.diverged:
                    return diverged()
                world.check_in_step(task.modules())
                if last_saved != step:
                    checkpoint(step)
                if stop_asked:
                    return Outcome("stopped", step, "stopped on request", "request")
                return Outcome("stopped", step, f"time limit of {max_seconds:g} s reached", "time_limit")
        world.check_in_step(task.modules())
        if last_saved != step:
            checkpoint(step)
        return Outcome("finished", step)
    except CheckpointWriteError as e:
        if log.unlogged:
            flush(step)
        return Outcome("failed", e.step, str(e), "error")
    finally:
        if bar:
            bar.close()
