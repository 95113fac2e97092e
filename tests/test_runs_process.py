"""Runs as real processes: train, SIGKILL -> interrupted -> resume, stop, queueing, delete
(on both run-store backends: the SQLite file and PostgreSQL)."""
import json
import os
import signal
import time

from autoenc.reliability import faults
from autoenc.runs import launcher
from autoenc.runs.checkpoint import read_meta
from autoenc.runs.store import RunStore
from tests.conftest import run_cli

# A denoiser small enough to take a few ms a step.
TINY = {"n_train": 256, "n_val": 64, "batch_size": 32, "eval_every": 10, "checkpoint_every": 10,
        "snapshot_seconds": 0.5}
TINY_ARGS = ["--n-train", "256", "--n-val", "64", "--batch-size", "32", "--eval-every", "10",
             "--checkpoint-every", "10"]


def wait_until(predicate, timeout=60.0, every=0.1):
    return faults.wait_until(predicate, timeout, every)


def test_train_command_finishes_and_lists(home):
    r = run_cli("train", "denoiser", *TINY_ARGS, "--steps", "30", "--run-id", "t1", home=home)
    assert r.returncode == 0, r.stderr
    assert "run t1: finished at step 30" in r.stdout
    listed = json.loads(run_cli("runs", "list", "--json", home=home).stdout)
    assert [(x["id"], x["model"], x["status"], x["step"]) for x in listed] == [("t1", "denoiser", "finished", 30)]
    meta = read_meta(RunStore(home).checkpoint_path("t1"))
    assert meta["step"] == 30 and meta["model"] == "denoiser" and meta["config"]["n_train"] == 256


def test_sigkill_marks_interrupted_and_resume_continues_from_checkpoint(backend, home):
    store = RunStore(home)
    rid = launcher.start_run(store, "denoiser", {**TINY, "steps": 100_000})
    wait_until(lambda: (store.get(rid).checkpoint_step or 0) >= 20, timeout=90)
    os.kill(store.get(rid).pid, signal.SIGKILL)
    wait_until(lambda: store.list() and store.get(rid).status == "interrupted", timeout=30)
    run = store.get(rid)
    ckpt = read_meta(store.checkpoint_path(rid))["step"]
    assert run.checkpoint_step == ckpt >= 20
    r = run_cli("runs", "resume", rid, "--steps", "15", home=home)
    assert r.returncode == 0, r.stderr
    run = store.get(rid)
    assert run.status == "finished" and run.step == ckpt + 15
    steps, _ = store.metric_series(rid, "loss")
    assert list(steps) == sorted(steps), "one curve, no overlap from the killed segment"
    assert read_meta(store.checkpoint_path(rid))["step"] == ckpt + 15


def test_stop_saves_a_checkpoint_at_the_current_step(backend, home):
    store = RunStore(home)
    rid = launcher.start_run(store, "denoiser", {**TINY, "steps": 100_000, "checkpoint_every": 100_000})
    wait_until(lambda: store.get(rid).status == "running" and store.get(rid).step > 5, timeout=90)
    run = launcher.stop_run(store, rid, wait_s=60)
    assert run.status == "stopped"
    assert read_meta(store.checkpoint_path(rid))["step"] == run.step == run.checkpoint_step > 5


def test_second_run_waits_in_the_queue_then_runs(backend, home):
    store = RunStore(home)
    store.set_setting("max_concurrent", 1)
    a = launcher.start_run(store, "denoiser", {**TINY, "steps": 100_000}, max_seconds=4)
    wait_until(lambda: store.get(a).status == "running", timeout=90)
    b = launcher.start_run(store, "denoiser", {**TINY, "steps": 20})
    time.sleep(1.5)
    assert store.get(b).status == "queued" and store.get(a).status == "running"
    wait_until(lambda: store.get(b).status == "finished", timeout=120)
    ra, rb = store.get(a), store.get(b)
    assert ra.status == "stopped" and ra.end_reason == "time_limit" and ra.can_continue   # it can go on
    assert rb.started >= ra.ended - 1.0, "b started only after a ended"


def test_delete_removes_run_and_files(backend, home):
    store = RunStore(home)
    r = run_cli("train", "denoiser", *TINY_ARGS, "--steps", "10", "--run-id", "gone", home=home)
    assert r.returncode == 0, r.stderr
    assert store.run_dir("gone").exists()
    r = run_cli("runs", "delete", "gone", home=home)
    assert r.returncode == 0 and "deleted" in r.stdout
    assert not store.run_dir("gone").exists()
    assert json.loads(run_cli("runs", "list", "--json", home=home).stdout) == []


def test_nan_loss_fails_with_message_and_keeps_last_checkpoint(home):
    """The loop on a model whose loss turns NaN at step 25 (checkpoints every 10 steps)."""
    import torch

    from autoenc.train.loop import train
    from autoenc.train.task import Task, TrainSettings

    class Diverging(Task):
        name = "denoiser"

        def __init__(self):
            super().__init__(TrainSettings(steps=100, checkpoint_every=10, eval_every=1000), torch.device("cpu"))
            self.net = torch.nn.Linear(2, 1)

        def modules(self):
            return {"net": self.net}

        def update(self, step):
            return {"loss": float("nan") if step >= 25 else 1.0 / step}

    store = RunStore(home)
    rid = store.create_run("denoiser", {})
    outcome = train(Diverging(), store, rid, total_steps=100)
    assert outcome.status == "failed" and outcome.step == 24
    assert "loss became nan at step 25" in outcome.message and "last good checkpoint (step 20)" in outcome.message
    assert read_meta(store.checkpoint_path(rid))["step"] == 20
    steps, values = store.metric_series(rid, "loss")
    assert all(v == v for v in values), "no NaN written to the store"
