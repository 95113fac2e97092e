"""A run's history: the snapshot budget and its even thinning, and reading samples and
measures at a step (autoenc/runs/history.py)."""
from __future__ import annotations

import numpy as np
import pytest

from autoenc.runs import history
from autoenc.runs.blobs import array_to_blob, blob_to_array
from autoenc.runs.store import RunStore


def kept_after(n: int, budget: int, every: int = 10) -> list[int]:
    """The steps a store keeps of n snapshots written every `every` steps."""
    steps: list[int] = []
    for i in range(n):
        steps.append(i * every)
        for pos in reversed(history.to_drop(steps, budget)):
            del steps[pos]
    return steps


def test_nothing_is_dropped_within_the_budget():
    assert history.to_drop([0, 5, 9], 3) == []
    assert kept_after(200, 200) == [i * 10 for i in range(200)]


@pytest.mark.parametrize("n", [201, 450, 1000, 5000])
def test_a_long_run_keeps_its_budget_spread_evenly_from_first_to_newest(n):
    steps = kept_after(n, 200)
    assert len(steps) == 200
    assert steps[0] == 0 and steps[-1] == (n - 1) * 10
    gaps = np.diff(steps)
    ideal = steps[-1] / 199
    # about even: no gap more than twice the even spacing, and early steps as well kept as late ones
    assert gaps.max() <= 2 * ideal + 10, (gaps.min(), gaps.max(), ideal)
    first_half = sum(s < steps[-1] / 2 for s in steps)
    assert 70 <= first_half <= 130


def test_repeated_steps_go_first():
    # step mode writes several snapshots at one generator step (one per critic step)
    assert history.to_drop([0, 10, 10, 10, 20], 3) == [1, 2]


def test_the_snapshot_shown_at_a_step_is_the_newest_at_or_before_it():
    steps = [0, 10, 30]
    assert [history.at_step(steps, s) for s in (0, 5, 10, 29, 30, 99, -1)] == [0, 0, 1, 1, 2, 2, 0]


def test_the_store_keeps_the_budget_and_reads_history_at_a_step(tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    for step in range(0, 500, 10):
        store.put_sample(rid, step, "grid", np.full((4, 4, 3), step // 10, np.uint8), keep=20)
        store.log_metrics(rid, [(step, "loss", 1000.0 - step)], step=step)
        if step % 100 == 0:
            store.log_metrics(rid, [(step, "coverage", step / 1000)])
    steps = history.sample_steps(store, rid, "grid")
    assert len(steps) == 20 and steps[0] == 0 and steps[-1] == 490
    assert [s for s, _ in store.sample_history(rid, "grid")] == steps
    shown = steps[7] + 3
    step, image = history.sample_at(store, rid, "grid", shown)
    assert step == steps[7] and (image == steps[7] // 10).all()
    assert history.sample_at(store, rid, "grid", -5)[0] == 0          # before the first: the first
    assert history.sample_at(store, rid, "other", 10) is None
    m = history.metrics_at(store, rid, 250, ["loss", "coverage", "kid"])
    assert m == {"loss": (250, 750.0), "coverage": (200, 0.2)}
    assert history.metrics_at(store, rid, 250, []) == {}


def test_a_deleted_run_leaves_no_history(tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    store.put_sample(rid, 1, "grid", np.zeros((2, 2, 3), np.uint8))
    store.delete(rid)
    with store.connect() as db:
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 0


def test_blobs_are_compressed_and_old_uncompressed_ones_still_read():
    import io
    a = np.zeros((64, 64, 3), np.uint8)
    blob = array_to_blob(a)
    assert len(blob) < a.nbytes / 10
    assert (blob_to_array(blob) == a).all()
    buf = io.BytesIO()
    np.save(buf, np.arange(5), allow_pickle=False)
    assert (blob_to_array(buf.getvalue()) == np.arange(5)).all()


def test_several_snapshots_at_one_step_are_one_stop_of_the_slider(tmp_path):
    store = RunStore(tmp_path)
    rid = store.create_run("m", {})
    for step, value in ((0, 1), (0, 2), (0, 3), (1, 4)):      # critic steps, then a generator step
        store.put_sample(rid, step, "grid", np.full((2, 2, 3), value, np.uint8))
    assert history.sample_steps(store, rid, "grid") == [0, 1]
    assert (history.sample_at(store, rid, "grid", 0)[1] == 3).all()     # the newest at that step
