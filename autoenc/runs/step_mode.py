"""Step mode of a GAN run, GAN Lab's controls: pause it, ask for single critic and generator
updates, play it on at a capped pace. The requests live in the run's row of the store, so the
training process, every page session and the CLI see one state; the training process polls
them between two updates (train/loop.py: StepMode)."""
from __future__ import annotations

import time

from autoenc.errors import UserError
from autoenc.runs.run import ACTIVE, Run
from autoenc.runs.store import RunStore


def check_steppable(model: str, what: str) -> None:
    """A UserError unless `model` has step mode (the GANs); `what` names what asked for it."""
    from autoenc.registry import get_model  # the model's code, torch
    if not get_model(model).task_class().step_units:
        raise UserError(f"{what} is a {model} run: step mode (pause, play, single critic and generator "
                        "steps) is for the GAN models")


def check_run_steppable(run: Run) -> None:
    """As check_steppable, and a UserError for a run that trains in several processes:
    step mode pauses one process between two updates."""
    check_steppable(run.model, f"run {run.id}")
    if run.processes > 1:
        raise UserError(f"run {run.id} trains in {run.processes} processes (torchrun): step mode "
                        "(pause, play, single steps) is for a run of one process")


def request_steps(store: RunStore, run_id: str, critic: int = 0, generator: int = 0) -> tuple[int, int]:
    """Ask an active run for `critic` critic updates, then `generator` generator updates,
    pausing it; returns the critic and generator step counts it has once they are done."""
    if critic < 0 or generator < 0 or critic + generator == 0:
        raise UserError("ask for at least one step: --critic N and/or --generator M, none negative")
    with store.transaction() as db:
        row = db.execute("SELECT status, step, critic_steps, pending_critic, pending_generator "
                         "FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise UserError(f"unknown run id {run_id!r} (see: python -m autoenc runs list)")
        if row["status"] not in ACTIVE:
            raise UserError(f"run {run_id} is {row['status']}: only a queued or training run takes steps "
                            f"(resume it first: python -m autoenc runs resume {run_id})")
        db.execute("UPDATE runs SET paused=1, pending_critic=pending_critic+?, "
                   "pending_generator=pending_generator+? WHERE id=?", (critic, generator, run_id))
    return (row["critic_steps"] + row["pending_critic"] + critic,
            row["step"] + row["pending_generator"] + generator)


def set_paused(store: RunStore, run_id: str, paused: bool) -> Run:
    """Pause a run between two updates, or let it play on (steps already asked for come first)."""
    run = store.get(run_id)
    if not run.active:
        raise UserError(f"run {run_id} is {run.status}: only a queued or training run can be paused or played")
    store.update(run_id, paused=int(paused))
    return store.get(run_id)


def set_speed_limit(store: RunStore, run_id: str, steps_per_s: float | None) -> None:
    """Cap a playing run at this many generator steps a second (None or 0: no cap)."""
    if steps_per_s is not None and not steps_per_s >= 0:
        raise UserError(f"a speed limit is a number of steps per second, at least 0, not {steps_per_s}")
    store.update(run_id, speed_limit=steps_per_s or None)


def step_controls(store: RunStore, run_id: str):
    """What a training process polls between updates: paused, pending_critic,
    pending_generator, speed_limit, stop_requested."""
    with store.connect() as db:
        return db.execute("SELECT paused, pending_critic, pending_generator, speed_limit, stop_requested "
                          "FROM runs WHERE id=?", (run_id,)).fetchone()


def step_done(store: RunStore, run_id: str, kind: str, critic_steps: int, step: int) -> None:
    """One asked-for update (kind critic or generator) is done; the counts after it."""
    column = {"critic": "pending_critic", "generator": "pending_generator"}[kind]
    with store.connect() as db:
        db.execute(f"UPDATE runs SET {column}=CASE WHEN {column}>0 THEN {column}-1 ELSE 0 END, critic_steps=?, step=? WHERE id=?",
                   (critic_steps, step, run_id))


def wait_for_steps(store: RunStore, run_id: str, critic_target: int, generator_target: int,
                   timeout_s: float = 60.0, poll_s: float = 0.05) -> Run:
    """Wait until the run has done its asked-for updates (its counts reach the targets and
    nothing asked for is pending: the counts are written a moment before the request is marked
    done), has ended, or timeout_s has passed; returns the run as it is then."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = store.get(run_id)
        done = (run.critic_steps >= critic_target and run.step >= generator_target
                and run.pending_critic == 0 and run.pending_generator == 0)
        if done or not run.active or time.monotonic() >= deadline:
            return run
        time.sleep(poll_s)


def wait_until_paused(store: RunStore, run_id: str, sample: str = "grid", timeout_s: float = 5.0,
                      poll_s: float = 0.2) -> Run:
    """After set_paused(True): wait until the run stands still (two reads poll_s apart agree)
    and its latest `sample` is of the step it stopped at, so a page redrawn then shows where
    it paused; returns the run as it is then (at the latest after timeout_s)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        run = store.get(run_id)
        latest = store.latest_sample(run_id, sample)
        now = (run.step, run.critic_steps)
        if not run.active or time.monotonic() >= deadline or (
                now == last and latest is not None and latest[0] == run.step):
            return run
        last = now
        time.sleep(poll_s)
