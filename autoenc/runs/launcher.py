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
import threading
import time
from pathlib import Path

from autoenc.errors import UserError
from autoenc.paths import REPO_ROOT
from autoenc.registry import get_model
from autoenc.runs import step_mode
from autoenc.runs.store import Run, RunStore, pid_alive, this_host

# Runs are background work: at niceness 10 they yield the CPU to the server and the browsers,
# so pages and live charts stay responsive while runs train (a 10-session load test on
# 2 cores saw charts update 0-3 times in 3 minutes with runs at normal priority).
RUN_NICENESS = 10

REAP_SECONDS = 2.0
RESTART_NOTE = "it had no checkpoint yet, so it started again from step 0 with its own settings"
# The runs this process started. A thread waits for the ones that ended, however they were
# stopped (the page, the CLI, a signal), so none stays a zombie under the dashboard.
_children: list[subprocess.Popen] = []
_reaper: threading.Thread | None = None
_lock = threading.Lock()


def reap() -> None:
    """Collect the exit status of every child that ended."""
    with _lock:
        _children[:] = [p for p in _children if p.poll() is None]


def _reap_forever() -> None:
    while True:
        time.sleep(REAP_SECONDS)
        reap()


def option_args(model: str, settings: dict) -> list[str]:
    """CLI options for the settings that differ from the model's defaults."""
    from autoenc.train.task import config_fields, config_to_dict  # torch: not for `runs list`
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


def user_command(model: str, settings: dict, max_seconds: float | None = None) -> str:
    """The command that trains such a run, as a user would type it (under torchrun for a run
    of several processes)."""
    limit = ["--max-seconds", f"{max_seconds:g}"] if max_seconds else []
    n = int(settings.get("world_size", 1))
    launch = f"torchrun --nproc_per_node={n} -m autoenc train" if n > 1 else "python -m autoenc train"
    return " ".join([launch, model, *option_args(model, settings), *limit])


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
    global _reaper
    reap()
    log_path = store.run_dir(run_id) / "log.txt"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    with _lock:
        _children.append(proc)
        if _reaper is None:
            _reaper = threading.Thread(target=_reap_forever, name="autoenc-reaper", daemon=True)
            _reaper.start()
    store.update(run_id, pid=proc.pid, host=this_host(), heartbeat=time.time())
    return proc.pid


def start_run(store: RunStore, model: str, settings: dict, max_seconds: float | None = None,
              paused: bool = False) -> str:
    """Check the settings, record a queued run and start its process; returns the run id.
    paused: it starts in step mode (GAN models), waiting for single steps or play."""
    from autoenc.train.task import config_from_dict, config_to_dict  # torch: not for `runs list`
    task_cls = get_model(model).task_class()
    if paused:
        step_mode.check_steppable(model, "a paused start")
    cfg = config_from_dict(task_cls.Config, settings)
    config = config_to_dict(cfg)
    run_id = store.create_run(model, config, total_steps=cfg.steps)
    store.update(run_id, max_seconds=max_seconds, paused=int(paused))
    _spawn(train_command(model, config, store.home, run_id, max_seconds), store, run_id)
    return run_id


def prepare_resume(store: RunStore, run_id: str, extra_steps: int | None = None) -> dict:
    """Queue a run again from its last checkpoint; returns its config. Without extra_steps it
    continues to its total (a run that was stopped, hit its time limit or crashed); with them
    it trains that many steps more than it has (also a run that finished)."""
    from autoenc.runs.checkpoint import read_meta  # torch: not for `runs list`
    run = resumable(store, run_id, extra_steps)
    # The file is the truth: a process killed between writing it and recording it in the
    # store leaves the store one checkpoint behind. A run that died before its first
    # checkpoint starts again from step 0 with its own settings.
    path = store.checkpoint_path(run_id)
    step = int(read_meta(path)["step"]) if path.exists() else 0
    config = dict(run.config)
    if extra_steps:
        config["steps"] = step + extra_steps
    store.update(run_id, status="queued", queued_at=time.time(), pid=None, ended=None,
                 checkpoint_step=step if path.exists() else None, error=None,
                 note=None if path.exists() else RESTART_NOTE, end_reason=None, stop_requested=0, config=config,
                 total_steps=config["steps"])
    return config


def resume_run(store: RunStore, run_id: str, extra_steps: int | None = None) -> Run:
    """Start the run's process again from its last checkpoint (same id, steps continue, the
    same time limit as it started with)."""
    config = prepare_resume(store, run_id, extra_steps)
    run = store.get(run_id)
    _spawn(train_command(run.model, config, store.home, run_id, run.max_seconds, resume=True), store, run_id)
    return store.get(run_id)


def resumable(store: RunStore, run_id: str, extra_steps: int | None = None) -> Run:
    store.reconcile()
    run = store.get(run_id)
    if run.active:
        raise UserError(f"run {run_id} is {run.status}; stop it before resuming")
    if run.can_extend and not extra_steps:
        raise UserError(f"run {run_id} has trained all its {run.total_steps:,} steps; train it for more "
                        "(Train N more, or: runs resume ID --steps N)")
    return run


def seconds_left(store: RunStore, run: Run) -> float | None:
    """About how long a running run has left: to its time limit, or to its last step at its
    recent step rate, whichever comes first (None while neither is known)."""
    if run.status != "running" or not run.started:
        return None
    left = []
    if run.max_seconds:
        left.append(run.max_seconds - (time.time() - run.started))
    rate = store.step_rate(run.id)
    if rate and run.total_steps:
        left.append((run.total_steps - run.step) / rate)
    return max(0.0, min(left)) if left else None


def step_seconds(store: RunStore, model: str, **settings) -> tuple[float, int] | None:
    """(median seconds a step, runs measured) over this store's runs of the model with these
    settings (e.g. image_size=32): what a step takes on this machine. None before any."""
    rates = [store.step_rate(r.id, window_s=None) for r in store.list(model=model)
             if all(r.config.get(k) == v for k, v in settings.items())]
    rates = [r for r in rates if r]
    if not rates:
        return None
    return float(sorted(1 / r for r in rates)[len(rates) // 2]), len(rates)


def checkpoint_write_seconds(store: RunStore, model: str, **settings) -> tuple[float, int] | None:
    """(median seconds a checkpoint write took, writes measured) over this store's runs of the
    model with these settings (e.g. arch="paper"); None before any."""
    writes = [v for r in store.list(model=model) if all(r.config.get(k) == v for k, v in settings.items())
              for v in store.metric_series(r.id, "checkpoint_write_s")[1]]
    return (float(sorted(writes)[len(writes) // 2]), len(writes)) if writes else None


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
    """Delete a run: its process (if any), rows and files. A process on another machine
    sharing the store stops by itself at its next heartbeat, finding its run gone."""
    run = store.get(run_id)
    if run.active and store.on_this_host(run.host) and pid_alive(run.pid):
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
