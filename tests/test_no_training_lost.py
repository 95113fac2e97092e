"""Issue 20: checkpoints by time, a run resumed without a checkpoint, and writes that fail
(disk full, I/O errors, a read-only store) losing nothing."""
import errno
import os
import shutil
import sqlite3
import subprocess
import time

import pytest
from streamlit.testing.v1 import AppTest

from autoenc import registry
from autoenc.errors import UserError
from autoenc.runs import launcher
from autoenc.runs.checkpoint import load_checkpoint, read_meta
from autoenc.runs.store import RunStore
from autoenc.runs.worker import execute
from autoenc.train.loop import CHECKPOINT_BUDGET, checkpoint_interval, train
from tests.seventh.task import TinyConfig, TinyTask
from tests.test_seventh_model import SPEC


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, "tiny", SPEC)


class SlowTinyTask(TinyTask):
    """A step of 20 ms: checkpoints by steps alone (every 500) would come every 10 s."""

    def update(self, step):
        time.sleep(0.02)
        return super().update(step)


def tiny_run(store, **settings):
    cfg = TinyConfig(steps=100_000, checkpoint_every=500, eval_every=10_000, **settings)
    task = SlowTinyTask(cfg, "cpu")
    return task, store.create_run("tiny", {"steps": cfg.steps}, total_steps=cfg.steps)


def test_runs_checkpoint_by_time_whatever_their_step_rate(tmp_path):
    store = RunStore(tmp_path)
    task, rid = tiny_run(store, checkpoint_seconds=1.0)
    out = train(task, store, rid, total_steps=task.config.steps, max_seconds=3.6)
    assert out.status == "stopped" and out.reason == "time_limit"
    steps, write_s = store.metric_series(rid, "checkpoint_write_s")
    # at about 1 s, 2 s, 3 s of training, and at the time limit; none by the step count
    assert 4 <= len(steps) <= 5 and steps[-1] == out.step < 500, steps
    gaps = [(b - a) * 0.02 for a, b in zip(steps[:3], steps[1:3])]
    assert all(0.6 < g < 1.4 for g in gaps), gaps
    assert read_meta(store.checkpoint_path(rid))["step"] == out.step
    assert abs(read_meta(store.checkpoint_path(rid))["saved_at"] - time.time()) < 30


def test_a_slow_checkpoint_write_stretches_the_interval_to_stay_in_budget():
    assert checkpoint_interval(30.0, 0.01) == 30.0
    slow = checkpoint_interval(30.0, 2.0)               # the paper VAE writes ~2 s
    assert slow > 30.0 and 2.0 / (slow + 2.0) <= CHECKPOINT_BUDGET


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(home):
    store = RunStore(home)
    rid = store.create_run("tiny", {"steps": 30}, total_steps=30)
    store.log_metrics(rid, [(s, "loss", 1.0) for s in range(1, 8)], step=7)
    store.update(rid, status="interrupted", end_reason="killed", pid=None)
    assert store.get(rid).can_continue
    launcher.prepare_resume(store, rid)
    assert store.get(rid).note == launcher.RESTART_NOTE
    _, out = execute(store, "tiny", {"steps": 30}, run_id=rid, resume=True, threads=1)
    run = store.get(rid)
    assert out.status == run.status == "finished" and run.step == 30
    assert launcher.RESTART_NOTE in run.note            # it says so afterwards too
    steps, _ = store.metric_series(rid, "loss")
    assert list(steps) == sorted(set(steps)) and steps[-1] == 30, "one curve, from step 0 again"
    assert read_meta(store.checkpoint_path(rid))["step"] == 30


class FailingFile:
    """A file object whose write fails as a full disk or a dying one does."""

    def __init__(self, real, code):
        self.real, self.code = real, code

    def write(self, data):
        raise OSError(self.code, os.strerror(self.code))

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.real.close()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EROFS])
def test_a_checkpoint_write_that_fails_keeps_the_last_one_and_fails_the_run_clearly(home, monkeypatch, code):
    store = RunStore(home)
    real_fdopen = os.fdopen
    writes = {"n": 0}

    def fdopen(fd, *a, **k):
        f = real_fdopen(fd, *a, **k)
        writes["n"] += 1
        return FailingFile(f, code) if writes["n"] > 1 else f      # the first checkpoint is written
    monkeypatch.setattr("autoenc.files.os.fdopen", fdopen)
    rid, out = execute(store, "tiny", {"steps": 40, "checkpoint_every": 10}, threads=1)
    run = store.get(rid)
    assert out.status == run.status == "failed"
    assert os.strerror(code) in run.error and "step 20" in run.error
    assert "the checkpoint of step 10 is kept" in run.error
    tensors, meta = load_checkpoint(store.checkpoint_path(rid), expect_model="tiny")
    assert meta["step"] == 10 == run.checkpoint_step and tensors
    assert not list(store.run_dir(rid).glob(".*.tmp")), "no half-written file is left"
    with store.connect() as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    monkeypatch.setattr("autoenc.files.os.fdopen", real_fdopen)
    launcher.prepare_resume(store, rid)                 # and it goes on from there
    _, out = execute(store, "tiny", {"steps": 40}, run_id=rid, resume=True, threads=1)
    assert out.status == "finished" and store.get(rid).step == 40


def test_a_full_run_store_fails_the_run_with_its_reason_and_keeps_the_checkpoint(home, monkeypatch):
    store = RunStore(home)
    real = RunStore.log_metrics
    calls = {"n": 0}

    def log_metrics(self, *a, **k):
        calls["n"] += 1
        if calls["n"] > 12:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, *a, **k)
    monkeypatch.setattr(RunStore, "log_metrics", log_metrics)
    rid, out = execute(store, "tiny", {"steps": 100_000, "checkpoint_every": 2}, threads=1)
    run = store.get(rid)
    assert out.status == run.status == "failed"
    assert "could not be written (database or disk is full)" in run.error
    _, meta = load_checkpoint(store.checkpoint_path(rid), expect_model="tiny")
    assert meta["step"] >= 2
    with store.connect() as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture
def read_only_home(tmp_path):
    """The home as a read-only bind mount of a folder that already holds a run."""
    src, mnt = tmp_path / "src", tmp_path / "ro"
    mnt.mkdir()
    store = RunStore(src)
    rid = store.create_run("denoiser", {"steps": 100}, total_steps=100)
    store.update(rid, status="stopped", step=40, end_reason="request")
    r = subprocess.run(["mount", "--bind", "-o", "ro", str(src), str(mnt)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"this machine allows no read-only bind mount: {r.stderr.strip()}")
    try:
        yield mnt, rid
    finally:
        subprocess.run(["umount", str(mnt)])


def test_a_store_on_a_read_only_folder_lists_its_runs_and_refuses_writes_with_why(read_only_home):
    mnt, rid = read_only_home
    store = RunStore(mnt)
    assert "cannot be written (Read-only file system)" in store.read_only
    assert [r.id for r in store.list()] == [rid]
    with pytest.raises(UserError, match="training is off here"):
        launcher.start_run(store, "denoiser", {"steps": 10})
    with pytest.raises(UserError, match="training is off here"):
        launcher.resume_run(store, rid)
    assert list((mnt / "runs").iterdir()) == [mnt / "runs" / "runs.sqlite"]


@pytest.fixture
def read_only_home_mid_write(tmp_path):
    """A read-only bind mount of a home whose last rows are still in the -wal file, as while a
    run writes on the lecturer's laptop (a writer holds the file open and folds nothing in)."""
    src, mnt = tmp_path / "src", tmp_path / "ro"
    mnt.mkdir()
    store = RunStore(src)
    rid = store.create_run("vae", {"arch": "paper", "steps": 10}, total_steps=10)
    writer = sqlite3.connect(store.path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    writer.execute("BEGIN")
    writer.executemany("INSERT INTO metrics (run_id, step, name, value, time) VALUES (?, ?, 'checkpoint_write_s', ?, 0)",
                       [(rid, s, w) for s, w in ((1, 4.8), (2, 4.9), (3, 5.1))])
    writer.execute("COMMIT")
    assert (store.dir / "runs.sqlite-wal").stat().st_size
    r = subprocess.run(["mount", "--bind", "-o", "ro", str(src), str(mnt)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"this machine allows no read-only bind mount: {r.stderr.strip()}")
    try:
        yield mnt, rid, src
    finally:
        writer.close()
        subprocess.run(["umount", str(mnt)])


@pytest.mark.parametrize("shm", ["the writer's -shm", "no -shm"])
def test_a_read_only_store_sees_the_rows_still_in_its_wal(read_only_home_mid_write, shm):
    mnt, rid, src = read_only_home_mid_write
    if shm == "no -shm":     # the file and its -wal copied away from the writer
        copy = mnt.parent / "copied"
        (copy / "runs").mkdir(parents=True)
        for name in ("runs.sqlite", "runs.sqlite-wal"):
            shutil.copyfile(src / "runs" / name, copy / "runs" / name)
        subprocess.run(["umount", str(mnt)])
        subprocess.run(["mount", "--bind", "-o", "ro", str(copy), str(mnt)], check=True)
    store = RunStore(mnt)
    assert store.read_only
    assert list(store.metric_series(rid, "checkpoint_write_s")[1]) == [4.8, 4.9, 5.1]
    assert launcher.checkpoint_write_seconds(store, "vae", arch="paper") == (4.9, 3)
    assert sorted(p.name for p in (mnt / "runs").iterdir())[0] == "runs.sqlite"


def test_the_denoiser_page_on_a_read_only_store_says_why_and_shows_the_shipped_model(read_only_home, monkeypatch):
    mnt, _ = read_only_home
    monkeypatch.setenv("AUTOENC_HOME", str(mnt))
    at = AppTest.from_file("../pages/denoiser.py", default_timeout=120).run()
    assert not at.exception
    assert any("training is off here" in w.value for w in at.warning)
    assert at.button(key="denoiser_galactic_train").disabled
    assert at.radio(key="denoiser_source_galactic").value == "shipped checkpoint"
    assert [m.label for m in at.metric][:2] == ["Peak accuracy", "SNR gain (median)"]


def test_the_vae_page_says_how_often_the_paper_vae_checkpoints_from_its_measured_write_time(home):
    at = AppTest.from_file("../pages/vae.py", default_timeout=120).run()
    at.selectbox(key="arch").set_value("paper").run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "is 591 MB, slow to write" in captions and "Once a paper run has written one" in captions
    store = RunStore(home)
    rid = store.create_run("vae", {"arch": "paper", "steps": 10}, total_steps=10)
    store.log_metrics(rid, [(s, "checkpoint_write_s", w) for s, w in ((1, 1.8), (2, 2.0), (3, 2.4))])
    at.run()
    captions = " ".join(c.value for c in at.caption)
    # 2.0 s a write: every 40 s (a write is 1/20 of the interval), not every 30 s
    assert "Writing one took 2.0 s on this machine (the median of 3 writes" in captions
    assert "checkpoints every 40 s of training instead of every 30 s" in captions
