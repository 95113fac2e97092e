"""A run store several machines share: runs record their host, a run on another host is judged
by its heartbeat, a run trained by one process is stopped from a second, dashboard-like one,
and a store that cannot be used says why in one line."""
import os
import subprocess
import sys
import time

import psycopg
import pytest

from autoenc.reliability import faults
from autoenc.runs.checkpoint import read_meta
from autoenc.runs.store import HEARTBEAT_TIMEOUT_S, RunStore, this_host
from tests.conftest import ROOT, run_cli

DEAD_PID = 2**22 + 12345        # above Linux's default pid_max: no process has it
TINY_ARGS = ["--n-train", "256", "--n-val", "64", "--batch-size", "32", "--eval-every", "10",
             "--checkpoint-every", "100000"]


def test_a_run_on_another_host_is_judged_by_its_heartbeat_alone(backend, tmp_path):
    store = RunStore(tmp_path)
    fresh, stale, local_dead = (store.create_run("denoiser", {}) for _ in range(3))
    # a pid that means nothing here, or one that happens to be alive here: neither counts
    store.update(fresh, status="running", host="gpu-node", pid=DEAD_PID, heartbeat=time.time())
    store.update(stale, status="running", host="gpu-node", pid=os.getpid(),
                 heartbeat=time.time() - HEARTBEAT_TIMEOUT_S - 5)
    store.update(local_dead, status="running", host=this_host(), pid=DEAD_PID, heartbeat=time.time())
    assert sorted(store.reconcile()) == sorted([stale, local_dead])
    assert store.get(fresh).status == "running" and store.get(fresh).host == "gpu-node"
    assert store.get(stale).status == "interrupted" and store.get(stale).end_reason == "killed"


def test_a_queued_run_on_another_host_is_asked_to_stop_not_marked_stopped(backend, tmp_path):
    """Its process waits for a slot there; it reads the request at its next heartbeat."""
    store = RunStore(tmp_path)
    rid = store.create_run("denoiser", {})
    store.update(rid, host="gpu-node", pid=DEAD_PID, heartbeat=time.time())
    run = store.request_stop(rid)
    assert run.status == "queued" and run.stop_requested
    assert store.heartbeat(rid), "the waiting process is told to stop"


def test_a_deleted_run_tells_its_process_to_stop(backend, tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("denoiser", {})
    assert not store.heartbeat(rid)
    store.delete(rid)
    assert store.heartbeat(rid), "a process on any machine stops once its run is gone"


def test_a_run_trained_by_one_process_is_stopped_from_a_second_dashboard_like_one(postgres_url, tmp_path,
                                                                                  monkeypatch):
    """The trainer plays a GPU node (its own host name, the store given by --store); this test
    process plays the dashboard on another machine: it sees the run and its host on the Runs
    page and stops it there. The checkpoint lands in the shared AUTOENC_HOME folder."""
    from streamlit.testing.v1 import AppTest
    shared = tmp_path / "shared"
    env = {k: v for k, v in os.environ.items() if k != "AUTOENC_STORE"}
    env.update(AUTOENC_HOME=str(shared), AUTOENC_HOST="gpu-node-7")
    trainer = subprocess.Popen([sys.executable, "-m", "autoenc", "train", "denoiser", *TINY_ARGS,
                                "--steps", "100000", "--run-id", "remote1", "--store", postgres_url],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        monkeypatch.setenv("AUTOENC_HOME", str(shared))
        store = RunStore(shared)
        assert store.path is None, "the dashboard reads the PostgreSQL store (AUTOENC_STORE)"
        faults.wait_until(lambda: store.list() and store.get("remote1").status == "running"
                          and store.get("remote1").step > 5, timeout=90)
        run = store.get("remote1")
        assert run.host == "gpu-node-7" and not store.on_this_host(run.host)

        page = AppTest.from_file("../pages/denoiser.py", default_timeout=60).run()
        assert not page.exception
        assert any("on gpu-node-7" in c.value for c in page.caption), "the run's status says where it trains"
        at = AppTest.from_file("../pages/runs.py", default_timeout=60).run()
        assert not at.exception
        table = at.dataframe[0].value
        assert table[table["run"] == "remote1"].iloc[0]["host"] == "gpu-node-7"
        assert any("trains on **gpu-node-7**" in i.value and "2 min" in i.value for i in at.info)
        at.button(key="runs_stop").click().run()
        assert not at.exception
        out, err = trainer.communicate(timeout=60)
    finally:
        if trainer.poll() is None:
            trainer.kill()
    assert trainer.returncode == 0, err
    assert "run remote1: stopped" in out
    run = store.get("remote1")
    assert run.status == "stopped" and run.end_reason == "request"
    assert read_meta(store.checkpoint_path("remote1"))["step"] == run.step == run.checkpoint_step > 5


def test_an_unreachable_or_malformed_store_is_one_clear_line(home):
    r = run_cli("runs", "list", "--store", "postgresql://nobody:secret@127.0.0.1:1/runs", home=home)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cannot be reached" in r.stderr and "postgresql://nobody@127.0.0.1:1/runs" in r.stderr
    assert "secret" not in r.stderr, "the password is not printed"
    r = run_cli("runs", "list", env={"AUTOENC_STORE": "mysql://me:hunter2@x/y"}, home=home)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "not mysql://..." in r.stderr
    assert "hunter2" not in r.stderr


def test_a_store_written_by_a_newer_autoenc_is_refused(postgres_url, tmp_path):
    from autoenc.errors import UserError
    from autoenc.runs.schema import SCHEMA_VERSION
    RunStore(tmp_path)
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("UPDATE store_version SET version=%s", (SCHEMA_VERSION + 1,))
    with pytest.raises(UserError, match="newer autoenc"):
        RunStore(tmp_path)


def test_an_older_store_gains_the_host_column(postgres_url, tmp_path):
    """A database of schema version 3 (no host): opening it adds the column, the rows kept."""
    from autoenc.runs.schema import SCHEMA_VERSION
    store = RunStore(tmp_path)
    rid = store.create_run("denoiser", {"lr": 0.01})
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("ALTER TABLE runs DROP COLUMN host")
        db.execute("UPDATE store_version SET version=3")
    store = RunStore(tmp_path)
    assert store.get(rid).config == {"lr": 0.01} and store.get(rid).host is None
    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT version FROM store_version").fetchone()[0] == SCHEMA_VERSION


def test_the_reliability_harness_keeps_off_the_users_store(postgres_url, tmp_path, monkeypatch):
    """Without --scratch-store it works on a SQLite file of its own even where AUTOENC_STORE names
    the user's database; with one, it empties that database of runs first."""
    from autoenc.reliability.harness import store_at
    users = RunStore(tmp_path)
    kept = users.create_run("denoiser", {})
    with store_at(None, tmp_path / "scratch"):
        assert "AUTOENC_STORE" not in os.environ and RunStore(tmp_path / "scratch").path is not None
    assert os.environ["AUTOENC_STORE"] == postgres_url and users.get(kept)
    assert RunStore(tmp_path / "file", url="").path is not None, "an explicit '' is the SQLite file"
    with store_at(postgres_url, tmp_path / "scratch"):
        assert RunStore(tmp_path / "scratch").list() == []
