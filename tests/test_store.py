import threading
import time

import numpy as np
import pytest

from autoenc.errors import UserError
from autoenc.runs.store import RunStore


def test_create_get_and_list(backend, tmp_path):
    store = RunStore(tmp_path)
    assert (store.path is None) == (backend == "postgresql"), "the store is on the backend asked for"
    rid = store.create_run("denoiser", {"lr": 0.001}, total_steps=10)
    run = store.get(rid)
    assert run.status == "queued" and run.config == {"lr": 0.001} and run.total_steps == 10
    assert [r.id for r in store.list()] == [rid]
    with pytest.raises(UserError, match="already exists"):
        store.create_run("denoiser", {}, run_id=rid)
    with pytest.raises(UserError, match="unknown run id"):
        store.get("nope")


def test_store_is_in_wal_mode(tmp_path):
    store = RunStore(tmp_path)
    with store.connect() as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_metrics_since_returns_only_new_rows(backend, tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    store.log_metrics(rid, [(1, "loss", 1.0), (1, "val_loss", 2.0)], step=1)
    rows, seq = store.metrics_since(rid)
    assert rows == [(1, "loss", 1.0), (1, "val_loss", 2.0)]
    store.log_metrics(rid, [(2, "loss", 0.5)], step=2)
    rows, seq2 = store.metrics_since(rid, seq)
    assert rows == [(2, "loss", 0.5)] and seq2 > seq
    assert store.metrics_since(rid, seq2) == ([], seq2)
    assert store.get(rid).step == 2


def test_truncate_drops_rows_after_checkpoint(backend, tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    store.log_metrics(rid, [(s, "loss", 1.0 / s) for s in range(1, 11)])
    store.truncate_metrics(rid, 6)
    steps, values = store.metric_series(rid, "loss")
    assert steps.tolist() == [1, 2, 3, 4, 5, 6]


def test_samples_round_trip_and_are_pruned(backend, tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    for step in range(20):
        store.put_sample(rid, step, "grid", np.full((2, 3), step, np.uint8), keep=8)
    step, arr = store.latest_sample(rid, "grid")
    assert step == 19 and arr.dtype == np.uint8 and (arr == 19).all()
    with store.connect() as db:
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 8
    assert store.latest_sample(rid, "other") is None


def test_concurrent_reader_while_a_writer_writes(backend, tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    errors, seen = [], []
    done = threading.Event()

    def writer():
        try:
            for step in range(1, 301):
                store.log_metrics(rid, [(step, "loss", 1.0 / step)], step=step)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    def reader():
        seq = 0
        reader_store = RunStore(tmp_path)  # a second handle, as a page would have
        while not done.is_set() or seq == 0:
            try:
                rows, seq = reader_store.metrics_since(rid, seq)
                seen.extend(rows)
            except Exception as e:  # pragma: no cover
                errors.append(e)
                return
        rows, seq = reader_store.metrics_since(rid, seq)
        seen.extend(rows)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert [s for s, _, _ in seen] == list(range(1, 301)), "reader saw every row once, in order"


def test_dead_process_becomes_interrupted(backend, tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    store.update(rid, status="running", pid=2**22 + 12345, heartbeat=time.time())
    assert store.reconcile() == [rid]
    run = store.get(rid)
    assert run.status == "interrupted" and "without saying so" in run.error


def test_stale_heartbeat_becomes_interrupted(backend, tmp_path):
    import os
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    store.update(rid, status="running", pid=os.getpid(), heartbeat=time.time() - 3600)
    store.reconcile()
    assert store.get(rid).status == "interrupted"


def test_queue_claims_in_order_up_to_the_limit(backend, tmp_path):
    import os
    store = RunStore(tmp_path)
    a = store.create_run("m", {})
    b = store.create_run("m", {})
    for rid in (a, b):
        store.update(rid, pid=os.getpid(), heartbeat=time.time())
    assert not store.try_claim_slot(b, os.getpid()), "b is not first in line"
    assert store.try_claim_slot(a, os.getpid())
    assert not store.try_claim_slot(b, os.getpid()), "limit 1: a is running"
    store.set_setting("max_concurrent", 2)
    assert store.try_claim_slot(b, os.getpid())
    assert {r.status for r in store.list()} == {"running"}


def test_not_sqlite_gives_clear_error(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "runs.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match="not a readable SQLite database"):
        RunStore(tmp_path)


def test_delete_removes_rows(backend, tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    store.log_metrics(rid, [(1, "loss", 1.0)])
    store.delete(rid)
    assert store.list() == []
    assert store.metrics_since(rid) == ([], 0)


def test_runs_made_in_the_same_second_with_the_same_suffix_get_different_ids(backend, tmp_path, monkeypatch):
    from autoenc.runs import store as store_module
    ids = iter(["gan-1202-120000-aaaa", "gan-1202-120000-aaaa", "gan-1202-120000-aaaa", "gan-1202-120000-bbbb"])
    monkeypatch.setattr(store_module, "new_run_id", lambda model: next(ids))
    store = RunStore(tmp_path)
    first, second = store.create_run("gan", {}), store.create_run("gan", {})
    assert (first, second) == ("gan-1202-120000-aaaa", "gan-1202-120000-bbbb")
    with pytest.raises(UserError, match="already exists"):
        store.create_run("gan", {}, run_id=first)
