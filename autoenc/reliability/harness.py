"""Everything `python -m autoenc reliability` runs, in a scratch folder, as one JSON object."""
from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from autoenc.reliability import LOAD_BROWSERS, bad_inputs
from autoenc.reliability.browser import browser_missing
from autoenc.reliability.faults import kill_trials, server_kill_trial
from autoenc.reliability.load import LoadReport, load_test
from autoenc.runs.store import RunStore


@contextmanager
def store_at(url: str | None, home: Path) -> Iterator[None]:
    """The run store of one part of the harness: a SQLite file in its scratch folder (url None,
    whatever AUTOENC_STORE says: the harness never touches the user's runs), or the scratch
    PostgreSQL database url, emptied of runs first, for this process and the ones it starts."""
    before = os.environ.pop("AUTOENC_STORE", None)
    if url:
        os.environ["AUTOENC_STORE"] = url
        store = RunStore(home)
        for run in store.list(reconcile=False):
            store.delete(run.id)
    try:
        yield
    finally:
        os.environ.pop("AUTOENC_STORE", None)
        if before is not None:
            os.environ["AUTOENC_STORE"] = before


def run_reliability(faults: int = 20, sessions: int = 30, seconds: float = 300.0, seed: int = 0,
                    echo=print, browsers: int = LOAD_BROWSERS, scratch_store: str | None = None) -> dict:
    """scratch_store: a PostgreSQL database for the kills, the server kill and the load test
    (every run in it is deleted); the bad inputs are of the SQLite file, so always on one."""
    with tempfile.TemporaryDirectory(prefix="autoenc-reliability-") as tmp:
        root = Path(tmp)
        for sub in ("faults", "server", "bad", "load"):
            (root / sub).mkdir()
        no_browser = browser_missing()
        with store_at(scratch_store, root / "faults"):
            fault = kill_trials(root / "faults", faults, seed=seed, echo=echo)
        if sessions and not no_browser:
            with store_at(scratch_store, root / "server"):
                fault.add(server_kill_trial(root / "server", echo=echo))
        with store_at(None, root / "bad"):
            outcomes = bad_inputs.try_all(root / "bad", echo=echo)
        echo(f"bad inputs: {sum(o.handled for o in outcomes)}/{len(outcomes)} handled")
        if sessions and no_browser:
            echo(f"load test skipped: {no_browser}")
            load = LoadReport(errors=[no_browser])
        elif sessions:
            with store_at(scratch_store, root / "load"):
                load = load_test(root / "load", sessions, seconds, echo=echo, browsers=browsers)
            for e in load.errors:
                echo(f"load: {e}")
        else:
            load = LoadReport()
    lost = sorted(fault.lost_seconds)
    return {
        "faults_tried": fault.tried,
        "faults_survived": fault.survived,
        "bad_inputs_tried": len(outcomes),
        "bad_inputs_handled": sum(o.handled for o in outcomes),
        "sessions": load.sessions,
        "sessions_in_chromium": load.browsers,
        "store": "postgresql" if scratch_store else "sqlite",
        "session_errors": load.session_errors,
        "runs_lost": fault.runs_lost,
        "checkpoints_corrupt": fault.checkpoints_corrupt,
        "server_peak_rss_mb": round(load.server_peak_rss_mb, 1),
        "max_lost_seconds": round(lost[-1], 1) if lost else None,
        "median_lost_seconds": round(float(statistics.median(lost)), 1) if lost else None,
        "sessions_p95_switch_s": round(load.switch_p95_s, 2) if load.switches else None,
        # beyond the contract: what the figures above rest on
        "load_seconds": load.seconds,
        "chart_updates_min": load.chart_updates_min,
        "server_rss_start_mb": round(load.server_rss_start_mb, 1),
        "server_rss_end_mb": round(load.server_rss_end_mb, 1),
        "server_rss_growth_kb_per_tick": round(load.rss_growth_kb_per_tick, 2),
        "chart_ticks": load.ticks,
        "lost_seconds": [round(x, 1) for x in fault.lost_seconds],
        "sessions_p50_switch_s": round(load.switch_p50_s, 2) if load.switches else None,
        "page_switches": load.switches,
        "sessions_p50_script_s": round(load.script_p50_s, 2) if load.switches else None,
        "sessions_p95_script_s": round(load.script_p95_s, 2) if load.switches else None,
        "load_cores_used": load.cores_used,
        "failures": fault.failures + [f"{o.case}: {o.message}" for o in outcomes if not o.handled] + load.errors,
    }
