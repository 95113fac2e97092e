"""Start, resume, stop and delete training runs, each one a `python -m autoenc train` process.

The dashboard uses exactly the command a user could type, so a run survives page
switches, reloads and server restarts, and a crashing run cannot take the server down.
Queueing is done by the processes themselves: each waits in the store until it is first
in line and fewer than max_concurrent runs are running.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from autoenc.errors import UserError
from autoenc.paths import REPO_ROOT
from autoenc.registry import get_model
from autoenc.runs.store import Run, RunStore, pid_alive

# Runs are background work: at niceness 10 they yield the CPU to the server and the browsers,
# so pages and live charts stay responsive while runs train (a 10-session load test on
# 2 cores saw charts update 0-3 times in 3 minutes with runs at normal priority).
RUN_NICENESS = 10

_children: list[subprocess.Popen] = []  # kept so finished children are reaped, not zombies


def option_args(model: str, settings: dict) -> list[str]:
    """CLI options for the settings that differ from the model's defaults."""
    from autoenc.train.task import config_fields, config_to_dict     # torch: not for `runs list`
    cls = get_model(model).task_class().Config
    defaults = config_to_dict(cls())
    args = []
    for f in config_fields(cls):
        if f.name in settings and settings[f.name] != defaults[f.name]:
            v = settings[f.name]
            flag = "--" + f.name.replace("_", "-")
            if isinstance(v, bool):
                args.append(flag if v else "--no-" + f.name.replace("_", "-"))
            elif isinstance(v, (list, tuple)):
                args += [flag, ",".join(map(str, v))]
            else:
                args += [flag, str(v)]
    return args


def train_command(model: str, settings: dict, home: Path, run_id: str,
                  max_seconds: float | None = None, resume: bool = False) -> list[str]:
    cmd = [sys.executable, "-m", "autoenc", "train", model, *option_args(model, settings),
           "--home", str(home), "--run-id", run_id, "--nice", str(RUN_NICENESS)]
    if max_seconds:
        cmd += ["--max-seconds", f"{max_seconds:g}"]
    if resume:
        cmd += ["--resume", "--resume-prepared"]  # the launcher queued it already (prepare_resume)
    return cmd


def _spawn(cmd: list[str], store: RunStore, run_id: str) -> int:
    for p in list(_children):
        if p.poll() is not None:
            _children.remove(p)
    log_path = store.run_dir(run_id) / "log.txt"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    _children.append(proc)
    store.update(run_id, pid=proc.pid, heartbeat=time.time())
    return proc.pid


def start_run(store: RunStore, model: str, settings: dict, max_seconds: float | None = None) -> str:
    """Check the settings, record a queued run and start its process; returns the run id."""
    from autoenc.train.task import config_from_dict, config_to_dict  # torch: not for `runs list`
    cfg = config_from_dict(get_model(model).task_class().Config, settings)
    config = config_to_dict(cfg)
    run_id = store.create_run(model, config, total_steps=cfg.steps)
    store.update(run_id, note=f"max_seconds={max_seconds:g}" if max_seconds else None)
    _spawn(train_command(model, config, store.home, run_id, max_seconds), store, run_id)
    return run_id


def prepare_resume(store: RunStore, run_id: str, extra_steps: int | None = None) -> dict:
    """Queue a stopped/interrupted run again; returns its config (steps possibly extended)."""
    from autoenc.runs.checkpoint import read_meta                    # torch: not for `runs list`
    run = resumable(store, run_id)
    # The file is the truth: a process killed between writing it and recording it in the
    # store leaves the store one checkpoint behind.
    step = int(read_meta(store.checkpoint_path(run_id))["step"])
    config = dict(run.config)
    if extra_steps:
        config["steps"] = step + extra_steps
    store.update(run_id, status="queued", queued_at=time.time(), pid=None, ended=None, checkpoint_step=step,
                 error=None, stop_requested=0, config=config, total_steps=config["steps"])
    return config


def resume_run(store: RunStore, run_id: str, extra_steps: int | None = None) -> Run:
    """Start the run's process again from its last checkpoint (same id, steps continue)."""
    config = prepare_resume(store, run_id, extra_steps)
    _spawn(train_command(store.get(run_id).model, config, store.home, run_id, resume=True), store, run_id)
    return store.get(run_id)


def resumable(store: RunStore, run_id: str) -> Run:
    store.reconcile()
    run = store.get(run_id)
    if run.active:
        raise UserError(f"run {run_id} is {run.status}; stop it before resuming")
    if not store.checkpoint_path(run_id).exists():
        raise UserError(f"run {run_id} has no checkpoint to resume from")
    return run


def stop_run(store: RunStore, run_id: str, wait_s: float = 0.0) -> Run:
    """Ask the run to finish its step, checkpoint and exit; optionally wait for it."""
    run = store.request_stop(run_id)
    deadline = time.monotonic() + wait_s
    while run.active and time.monotonic() < deadline:
        time.sleep(0.2)
        store.reconcile()
        run = store.get(run_id)
    return run


def delete_run(store: RunStore, run_id: str) -> None:
    """Delete a run: its process (if any), rows and files."""
    run = store.get(run_id)
    if run.active and pid_alive(run.pid):
        try:
            os.kill(run.pid, signal.SIGTERM)
            for _ in range(50):
                if not pid_alive(run.pid):
                    break
                time.sleep(0.1)
            if pid_alive(run.pid):
                os.kill(run.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    store.delete(run_id)
    shutil.rmtree(store.run_dir(run_id), ignore_errors=True)


def log_tail(store: RunStore, run_id: str, lines: int = 20) -> str:
    path = store.run_dir(run_id) / "log.txt"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
