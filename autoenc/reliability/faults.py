"""Faults: training processes killed with SIGKILL at random points, and a killed server.

Each kill trial starts a real run (`python -m autoenc train ...`, as the dashboard does) at
the settings a page starts it with, and SIGKILLs it at a random moment of its training:
before its first checkpoint or after, mid-step, mid metric write or mid-checkpoint write.
It measures the seconds of training the kill lost, and survives when
  - the run store still opens and passes SQLite's integrity check,
  - the run is marked `interrupted`,
  - its checkpoint file, if it has one, loads (never half-written) at the step the store records,
  - `resume` continues from that step (or from step 0) and every metric it logs runs on as one curve,
  - no temporary checkpoint file is left behind.
"""
from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from autoenc.registry import get_model
from autoenc.reliability.browser import chart_last_x, chromium, exceptions_on, start_server, stop_server, wait_for_app
from autoenc.runs import launcher
from autoenc.runs.checkpoint import load_checkpoint
from autoenc.runs.page_defaults import PAGE_SETTINGS, PAGE_TIME_LIMIT
from autoenc.runs.store import RunStore

FAULT_MODELS = tuple(PAGE_SETTINGS)
# A kill lands this many seconds after the run's first training step, uniformly: past the
# first checkpoint by time (30 s) as often as before it.
KILL_WINDOW_S = (1.0, 55.0)
# ...or once the run has made this share of its steps, if that comes first.
NEAR_THE_END = 0.9
# The small denoiser the server-kill trial trains beside the page's run.
TINY_DENOISER = {"n_train": 256, "n_val": 64, "batch_size": 32, "eval_every": 10, "checkpoint_every": 5,
                 "snapshot_seconds": 0.5}


@dataclass
class FaultReport:
    tried: int = 0
    survived: int = 0
    runs_lost: int = 0
    checkpoints_corrupt: int = 0
    failures: list[str] = field(default_factory=list)
    # per kill: seconds of training it lost (from the checkpoint it resumed from, or from the
    # first step where it had none, to the kill)
    lost_seconds: list[float] = field(default_factory=list)

    def add(self, other: FaultReport) -> None:
        self.tried += other.tried
        self.survived += other.survived
        self.runs_lost += other.runs_lost
        self.checkpoints_corrupt += other.checkpoints_corrupt
        self.failures += other.failures
        self.lost_seconds += other.lost_seconds


def wait_until(predicate, timeout: float, every: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what} not reached in {timeout:g} s")


def store_is_healthy(home: Path) -> bool:
    """A fresh handle opens the store and its database finds nothing wrong with it."""
    return RunStore(home).db.healthy()


def leftover_temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in Path(folder).glob(".*.tmp"))


def resume_problems(store: RunStore, run_id: str, model: str) -> list[str]:
    """What is wrong with a resumed run's curves: every metric it logged must run on as one
    curve (steps increasing, none twice), and its training loss must be among them."""
    steps: dict[str, list[int]] = {}
    for step, name, _ in store.metrics_since(run_id, 0)[0]:
        steps.setdefault(name, []).append(step)
    problems = [f"the {name} curve has repeated or unordered steps after resume"
                for name, s in steps.items() if s != sorted(s) or len(s) != len(set(s))]
    first = next(iter(get_model(model).task_class().chart_metrics))     # the training loss
    if first not in steps:
        problems.append(f"no {first} was logged, so the resume cannot be checked")
    return problems


def first_step_time(store: RunStore, run_id: str) -> float | None:
    """Wall time of the run's first logged row: its first training step (the loop flushes at once)."""
    with store.connect() as db:
        return db.execute("SELECT MIN(time) FROM metrics WHERE run_id=?", (run_id,)).fetchone()[0]


def kill_and_resume(home: Path, model: str, rng: random.Random, resume_steps: int = 3,
                    window: tuple[float, float] = KILL_WINDOW_S, timeout: float = 300.0) -> FaultReport:
    """One trial at the page's settings: SIGKILL at a random moment of training (KILL_WINDOW_S,
    or near its last step if it ends sooner), measure the
    training lost, check the store and the checkpoint, resume, check the curves go on as one."""
    report = FaultReport(tried=1)
    store = RunStore(home)
    rid = launcher.start_run(store, model, PAGE_SETTINGS[model], max_seconds=PAGE_TIME_LIMIT[model])
    try:
        started = wait_until(lambda: first_step_time(store, rid), timeout, every=0.2, what=f"{model}'s first step")
        kill_at = started + rng.uniform(*window)
        while time.time() < kill_at:
            run = store.get(rid)
            if not run.active:
                raise TimeoutError(f"the run ended ({run.status}) before its kill")
            if run.total_steps and run.step >= NEAR_THE_END * run.total_steps:
                break       # a short run (the Denoiser's 1,500 steps) is killed before it ends
            time.sleep(min(0.2, max(0.0, kill_at - time.time())))
        os.kill(store.get(rid).pid, signal.SIGKILL)
        killed = time.time()

        if not store_is_healthy(home):
            report.failures.append(f"{model}: run store damaged after SIGKILL")
            return report
        store = RunStore(home)
        wait_until(lambda: store.list() and store.get(rid).status == "interrupted", 30, what="interrupted status")
        run = store.get(rid)
        path = store.checkpoint_path(rid)
        meta = {"step": 0}
        if path.exists():
            try:
                _, meta = load_checkpoint(path, expect_model=model)
            except Exception as e:  # noqa: BLE001 - any failure to load is what we count
                report.checkpoints_corrupt += 1
                report.failures.append(f"{model}: checkpoint unreadable after SIGKILL: {e}")
                return report
        # killed between writing the file and recording it, the store lags one checkpoint
        if meta["step"] < (run.checkpoint_step or 0):
            report.failures.append(f"{model}: store says checkpoint step {run.checkpoint_step}, file {meta['step']}")
            return report
        report.lost_seconds.append(killed - meta.get("saved_at", started))

        launcher.resume_run(store, rid, extra_steps=resume_steps)
        wait_until(lambda: store.get(rid).status in ("finished", "failed"), timeout, what="resumed run to finish")
        run = store.get(rid)
        _, meta_after = load_checkpoint(store.checkpoint_path(rid), expect_model=model)
        problems = resume_problems(store, rid, model)
        if run.status != "finished":
            problems.append(f"resumed run {run.status}: {run.error}")
        if meta_after["step"] != meta["step"] + resume_steps or run.step != meta_after["step"]:
            problems.append(f"resumed from {meta['step']} but ended at {run.step} (file {meta_after['step']})")
        if leftover_temp_files(store.run_dir(rid)):
            problems.append(f"temporary files left: {leftover_temp_files(store.run_dir(rid))}")
        if problems:
            report.failures.append(f"{model}: " + "; ".join(problems))
        else:
            report.survived = 1
        return report
    except TimeoutError as e:
        report.failures.append(f"{model}: {e}")
        return report
    finally:
        try:
            run = store.get(rid)
        except Exception:  # noqa: BLE001
            report.runs_lost += 1
            report.failures.append(f"{model}: run {rid} vanished from the store")
        else:
            if run.active and run.pid:
                try:
                    os.kill(run.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def kill_trials(home: Path, n: int, seed: int = 0, models: tuple[str, ...] = FAULT_MODELS,
                window: tuple[float, float] = KILL_WINDOW_S, echo=None) -> FaultReport:
    """n kill trials, cycling through the models; all runs share one store, as on a server."""
    rng = random.Random(seed)
    report = FaultReport()
    for i in range(n):
        model = models[i % len(models)]
        one = kill_and_resume(home, model, rng, window=window)
        report.add(one)
        if echo:
            lost = f" (lost {one.lost_seconds[0]:.1f} s of training)" if one.lost_seconds else ""
            echo(f"fault {i + 1}/{n} {model}: " + ("survived" + lost if one.survived
                                                   else "FAILED " + "; ".join(one.failures)))
    # every run ever started is still listed and none is left in an active state
    store = RunStore(home)
    for run in store.list():
        if run.status not in ("finished", "stopped", "interrupted", "failed"):
            report.failures.append(f"run {run.id} left {run.status}")
    return report


def _chart_grows(page, seconds: float = 20.0) -> bool:
    """True once the page's loss chart has gained a point (the fragment polls every 2 s)."""
    first = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        x = chart_last_x(page, "MSE loss (train and validation)")
        if x is not None:
            if first is None:
                first = x
            elif x > first:
                return True
        page.wait_for_timeout(500)
    return False


def server_kill_trial(home: Path, echo=None) -> FaultReport:
    """SIGKILL the Streamlit server while two runs train; start it again and check that
    the dashboard re-attaches to the run still going and marks the one that died.

    Run A is started from the page (so the server is its parent), run B from outside; B is
    killed while the server is down.
    """
    report = FaultReport(tried=1)
    store = RunStore(home)
    store.set_setting("max_concurrent", 2)
    proc = None
    runs = []
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            url, proc = start_server(home)
            page.goto(url + "/denoiser")
            wait_for_app(page, "The three noise datasets")
            page.get_by_role("button", name="Train").click()
            a = wait_until(lambda: [r.id for r in store.list(model="denoiser") if r.status == "running"], 90,
                           what="the run started from the page")[0]
            b = launcher.start_run(store, "denoiser", {**TINY_DENOISER, "noise": "uniform",
                                                       "steps": 1_000_000})
            runs = [a, b]
            wait_until(lambda: store.get(b).status == "running" and store.get(b).checkpoint_step, 90,
                       what="the second run's first checkpoint")

            os.killpg(proc.pid, signal.SIGKILL)  # the server and anything in its process group
            proc.wait(10)
            step = store.get(a).step
            time.sleep(3)
            problems = []
            if not (store.get(a).status == "running" and store.get(a).step > step):
                problems.append("the run started from the page did not outlive the server")
            os.kill(store.get(b).pid, signal.SIGKILL)

            url, proc = start_server(home)
            page.goto(url + "/runs")
            wait_for_app(page, "Run details")
            # the table is a canvas grid: its cells are in the DOM but hidden
            wait_until(lambda: "interrupted" in page.content() and "running" in page.content(), 30,
                       every=0.5, what="the Runs page to list the run still going and the one that died")
            if store.get(b).status != "interrupted":
                problems.append(f"the killed run shows {store.get(b).status}, not interrupted")
            page.goto(url + "/denoiser")
            wait_for_app(page, "MSE loss (train and validation)")
            if not _chart_grows(page):
                problems.append("the restarted dashboard's chart does not follow the run still training")
            if exceptions_on(page):
                problems.append("a traceback on the page: " + exceptions_on(page)[0][:200])
            if not store_is_healthy(home):
                problems.append("run store damaged")
            if problems:
                report.failures += [f"server kill: {p}" for p in problems]
            else:
                report.survived = 1
    except Exception as e:  # noqa: BLE001 - a timeout in the store or in the browser: the trial failed
        report.failures.append(f"server kill: {type(e).__name__}: {str(e).splitlines()[0]}")
    finally:
        if proc is not None and proc.poll() is None:
            stop_server(proc)
        for rid in runs:
            if store.get(rid).active:
                launcher.stop_run(store, rid, wait_s=30)
    if echo:
        echo("server kill: " + ("survived" if report.survived else "FAILED " + "; ".join(report.failures)))
    return report
