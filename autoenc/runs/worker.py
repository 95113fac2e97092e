"""The body of `python -m autoenc train`: wait for a queue slot, train, record the outcome."""
from __future__ import annotations

import os
import sys
import time
import traceback

import torch

from autoenc.errors import UserError
from autoenc.registry import get_model
from autoenc.runs import step_mode
from autoenc.runs.checkpoint import load_checkpoint, read_meta
from autoenc.runs.launcher import RESTART_NOTE
from autoenc.runs.store import RunStore, this_host
from autoenc.train.distributed import World, split_batch
from autoenc.train.loop import Outcome, train
from autoenc.train.task import config_from_dict, config_to_dict

QUEUE_POLL_S = 0.5
# Torch threads of the dashboard server (app.py). Its model calls (slider moves, samples)
# run batches of 1-16 small images: one thread is as fast as two on an idle machine, and
# when a run holds the other core, two OpenMP threads that wait for each other made a slider
# step 10-20x slower (400+ ms against 25-35 ms).
SERVER_THREADS = 1


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


def threads_per_run(store: RunStore) -> int:
    """Share the cores but one (kept for the server and the browser) between the runs
    allowed at once. Oversubscribing hurts badly: on 2 busy cores a denoiser or GAN step
    ran 5-10x slower with 2 torch threads than with 1."""
    return max(1, ((os.cpu_count() or 1) - 1) // store.max_concurrent())


def wait_for_slot(store: RunStore, run_id: str) -> bool:
    """Block until this run may start; False if it was stopped while waiting."""
    pid = os.getpid()
    store.update(run_id, pid=pid, host=this_host(), status="queued", heartbeat=time.time())
    while not store.try_claim_slot(run_id, pid):
        if store.heartbeat(run_id):
            store.update(run_id, status="stopped", ended=time.time(), end_reason="queue")
            return False
        time.sleep(QUEUE_POLL_S)
    return True


def execute(store: RunStore, model: str, settings: dict, *, run_id: str | None = None,
            resume: bool = False, epochs: int | None = None, max_seconds: float | None = None,
            device: str = "auto", threads: int | None = None, progress: bool = False,
            paused: bool = False) -> tuple[str, Outcome]:
    """Train a run to its end. Under torchrun (train/distributed.py) every rank calls this:
    rank 0 makes or resumes the run and waits for its queue slot, then all train it."""
    world = World.from_env()
    device_ = world.device(pick_device(device))
    world.join(device_)
    task_cls = get_model(model).task_class()
    try:
        plan = prepare(store, model, settings, run_id, resume, max_seconds, paused, world) if world.main else None
    except UserError as e:
        world.share(str(e))             # the other ranks stop with the same message
        raise
    plan = world.share(plan)
    if isinstance(plan, str):
        raise UserError(plan)
    run_id, config, start_step, max_seconds, go = plan
    if not go:
        return run_id, Outcome("stopped", start_step, "stopped while queued", "queue")
    cfg = config_from_dict(task_cls.Config, config)
    torch.set_num_threads(threads or max(1, threads_per_run(store) // world.local_size))
    try:
        torch.manual_seed(cfg.seed)
        task = task_cls(cfg, device_)
        if epochs is not None:
            cfg.steps = epochs * task.steps_per_epoch
        if resume and start_step:
            tensors, _ = load_checkpoint(store.checkpoint_path(run_id), expect_model=model)
            task.load_state_tensors(tensors)
        task.distribute(world, start_step)
        if world.main:
            store.update(run_id, config=config_to_dict(cfg), total_steps=cfg.steps)
            if resume:
                store.truncate_metrics(run_id, start_step)
                store.update(run_id, step=start_step)
                if task.step_units:         # the checkpoint's count, not the one the killed process reached
                    store.update(run_id, critic_steps=task.critic_updates)
        outcome = train(task, store, run_id, total_steps=cfg.steps, start_step=start_step,
                        max_seconds=max_seconds, progress=progress, world=world)
    except UserError as e:
        outcome = Outcome("failed", last_step(store, run_id, start_step), str(e), "error")
    except store.errors as e:     # the store's own disk is full or failing, or its server gone
        outcome = Outcome("failed", last_step(store, run_id, start_step), f"the run store {store.location} could not be written ({e}); "
                          "the last checkpoint is kept. Free some disk space, then resume.", "error")
    except Exception as e:  # a crash is recorded on the run, with its cause
        tb = traceback.format_exc(limit=-3)
        outcome = Outcome("failed", last_step(store, run_id, start_step), f"{type(e).__name__}: {e}\n{tb}", "error")
    if world.main:
        record_outcome(store, run_id, outcome, restarted=resume and not start_step)
    world.leave()
    return run_id, outcome


def prepare(store: RunStore, model: str, settings: dict, run_id: str | None, resume: bool,
            max_seconds: float | None, paused: bool, world: World) -> tuple[str, dict, int, float | None, bool]:
    """Make the run (or ready it for resuming) and wait for its queue slot: (run_id, its
    config, the step it starts from, its time limit, whether to train: False if it was
    stopped while queued)."""
    task_cls = get_model(model).task_class()
    if paused:
        step_mode.check_steppable(model, "--paused")
        if world.size > 1:
            raise UserError("--paused (step mode) is for a run of one process, not one under torchrun")
    start_step = 0
    if resume:
        if run_id is None:
            raise UserError("--resume needs --run-id")
        run = store.get(run_id)
        if run.model != model:
            raise UserError(f"run {run_id} is a {run.model} run, not {model}")
        if store.checkpoint_path(run_id).exists():
            start_step = int(read_meta(store.checkpoint_path(run_id))["step"])
        else:            # it died before its first checkpoint: the same run, from step 0
            store.best_checkpoint_path(run_id).unlink(missing_ok=True)
            store.update(run_id, note=RESTART_NOTE)
        config = dict(run.config)
        config.update({k: v for k, v in settings.items() if k == "steps"})
        config["world_size"] = world.size        # a run may resume on another number of processes
        max_seconds = run.max_seconds if max_seconds is None else max_seconds
        cfg = config_from_dict(task_cls.Config, config)
        split_batch(cfg.batch_size, world)
    else:
        cfg = config_from_dict(task_cls.Config, {**settings, "world_size": world.size})
        split_batch(cfg.batch_size, world)
        existing = None
        if run_id is not None:
            try:
                existing = store.get(run_id)
            except UserError:
                existing = None
        if existing is None:
            run_id = store.create_run(model, config_to_dict(cfg), run_id, total_steps=cfg.steps)
            store.update(run_id, max_seconds=max_seconds)
        elif existing.status != "queued" or existing.step or existing.checkpoint_step:
            raise UserError(f"run {run_id} already exists; use: python -m autoenc runs resume {run_id}")
    if paused:
        store.update(run_id, paused=1)
    return run_id, config_to_dict(cfg), start_step, max_seconds, wait_for_slot(store, run_id)


def last_step(store: RunStore, run_id: str, default: int) -> int:
    try:
        return store.get(run_id).step
    except store.errors:
        return default


def record_outcome(store: RunStore, run_id: str, outcome: Outcome, restarted: bool = False) -> None:
    """Write how the run ended; where the store cannot take it (its disk is full), say it in
    the run's log: the run is then marked interrupted by the next reader, its files intact."""
    note = "; ".join(x for x in (RESTART_NOTE if restarted else "",
                                 outcome.message if outcome.status != "failed" else "") if x) or None
    try:
        # steps asked for and not made end with the process (paused stays: a resumed run comes back paused)
        store.update(run_id, status=outcome.status, ended=time.time(), stop_requested=0, end_reason=outcome.reason,
                     pending_critic=0, pending_generator=0,
                     error=outcome.message if outcome.status == "failed" else None, note=note)
    except store.errors as e:
        print(f"autoenc: the run store could not record that run {run_id} {outcome.status} ({e}): "
              f"{outcome.message}", file=sys.stderr, flush=True)
