"""The run store: what writing metrics and polling a live chart cost."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterator

from autoenc.bench import Record, median_time
from autoenc.runs.store import RunStore


def benchmarks() -> Iterator[Record]:
    """Run-store write and incremental-read rates."""
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp))
        run_id = store.create_run("bench", {})
        rows = [(i, "loss", 1.0 / (i + 1)) for i in range(200)]
        t = median_time(lambda: store.log_metrics(run_id, rows, step=200), repeats=7)
        yield Record("runs.metric_rows_written_per_s", len(rows) / t, "rows/s")
        _, seq = store.metrics_since(run_id)
        t = median_time(lambda: store.metrics_since(run_id, seq), repeats=21)
        yield Record("runs.chart_poll_ms", t * 1e3, "ms", target=20.0, higher_is_better=False)
