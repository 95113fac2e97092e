"""A run's history: the snapshots it keeps of each sample, thinned evenly, and its samples and
measures as they were at a chosen step (the pages' history slider and the Compare page).

A run writes a sample about every 3 s. The store keeps at most `budget` of each name per run
(HISTORY_BUDGET unless its Task says otherwise). When one more arrives, the snapshot dropped
is the one whose neighbours lie closest together, so the kept ones stay about evenly spread
from the run's first step to its newest, however long it trains; the first and the newest
are always kept.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from autoenc.runs.blobs import blob_to_array

HISTORY_BUDGET = 200


def to_drop(steps: Sequence[int], budget: int) -> list[int]:
    """Positions (in `steps`, oldest first) to delete so that at most `budget` stay, evenly spread."""
    budget = max(2, budget)
    kept = list(range(len(steps)))
    dropped = []
    while len(kept) > budget:
        # the interior snapshot whose neighbours are closest: removing it leaves the smallest gap
        gaps = [steps[kept[i + 1]] - steps[kept[i - 1]] for i in range(1, len(kept) - 1)]
        i = 1 + int(np.argmin(gaps))
        dropped.append(kept.pop(i))
    return sorted(dropped)


def at_step(steps: Sequence[int], step: int) -> int:
    """Position of the snapshot shown at `step`: the newest at or before it (the first if none)."""
    pos = int(np.searchsorted(np.asarray(steps), step, side="right")) - 1
    return max(0, pos)


def sample_steps(store, run_id: str, name: str) -> list[int]:
    """The steps of a run's kept snapshots of a sample, oldest first, each once (step mode
    writes several at one generator step: the newest of them is shown); no arrays read."""
    with store.connect() as db:
        rows = db.execute("SELECT step FROM samples WHERE run_id=? AND name=? ORDER BY seq",
                          (run_id, name)).fetchall()
    return list(dict.fromkeys(r["step"] for r in rows))


def sample_at(store, run_id: str, name: str, step: int) -> tuple[int, np.ndarray] | None:
    """The snapshot of `name` shown at `step` (the newest at or before it), as (its step, array)."""
    with store.connect() as db:
        row = db.execute("SELECT step, data FROM samples WHERE run_id=? AND name=? AND step<=? "
                         "ORDER BY seq DESC LIMIT 1", (run_id, name, step)).fetchone()
        if row is None:
            row = db.execute("SELECT step, data FROM samples WHERE run_id=? AND name=? ORDER BY seq LIMIT 1",
                             (run_id, name)).fetchone()
    return None if row is None else (row["step"], blob_to_array(row["data"]))


def metrics_at(store, run_id: str, step: int, names: Iterable[str]) -> dict[str, tuple[int, float]]:
    """Each named metric's latest value logged at or before `step`, as name -> (its step, value)."""
    found = {}
    with store.connect() as db:
        for name in names:      # read back from the newest row: a live view asks this on every tick
            row = db.execute("SELECT step, value FROM metrics WHERE run_id=? AND name=? AND step<=? "
                             "AND value IS NOT NULL ORDER BY seq DESC LIMIT 1", (run_id, name, step)).fetchone()
            if row is not None:
                found[name] = (row["step"], row["value"])
    return found

