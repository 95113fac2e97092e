"""Load: many browser sessions on one server while runs train.

A class is one server and a room of browsers. The test starts the app, two denoiser runs
(galactic and uniform noise) and N headless Chromium sessions, half following each run
on the Denoiser page. For `seconds` it reads each session's loss chart, looks for
tracebacks, and samples the server's resident memory. A session counts as an error when
it shows a traceback or its chart stops updating.

Memory per chart tick: each session's chart fragment reruns every POLL_SECONDS, so the
server handles sessions * seconds / POLL_SECONDS ticks; the slope of its resident memory
over the second half of the test, divided by the ticks in that time, says whether
something is kept per tick (it should be ~0).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autoenc.reliability.browser import (chart_last_x, chromium, exceptions_on, rss_mb, start_server,
                                         stop_server, wait_for_app)
from autoenc.runs import launcher
from autoenc.runs.store import RunStore

CHART_TITLE = "MSE loss (train and validation)"
POLL_SECONDS = 2.0          # pages/ui.py: live_chart's polling period
READ_EVERY_S = 5.0


@dataclass
class LoadReport:
    sessions: int = 0
    session_errors: int = 0
    seconds: float = 0.0
    chart_updates_min: int = 0           # the fewest chart updates any session saw
    server_peak_rss_mb: float = 0.0
    server_rss_start_mb: float = 0.0     # after all sessions opened
    server_rss_end_mb: float = 0.0
    rss_growth_kb_per_tick: float = 0.0
    ticks: int = 0
    errors: list[str] = field(default_factory=list)


def _open_session(browser, url: str, noise: str):
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.set_default_timeout(120_000)
    page.goto(url + "/denoiser")
    wait_for_app(page, "The three noise datasets", timeout_ms=120_000)
    if noise != "galactic":
        page.get_by_text(noise, exact=True).first.click()
    page.get_by_text(CHART_TITLE).first.wait_for(timeout=120_000)
    return page


def load_test(home: Path, sessions: int = 10, seconds: float = 180.0, echo=None) -> LoadReport:
    report = LoadReport(sessions=sessions, seconds=seconds)
    store = RunStore(home)
    store.set_setting("max_concurrent", 2)
    base = {"n_train": 2000, "n_val": 200, "eval_every": 50, "checkpoint_every": 500, "steps": 10_000_000}
    run_ids = [launcher.start_run(store, "denoiser", {**base, "noise": n}, max_seconds=seconds + 600)
               for n in ("galactic", "uniform")]
    url, server = start_server(home)
    rss: list[tuple[float, float]] = []
    try:
        with chromium() as browser:
            pages, last_x, updates = [], [], []
            for i in range(sessions):
                noise = ("galactic", "uniform")[i % 2]
                try:
                    pages.append(_open_session(browser, url, noise))
                except Exception as e:  # noqa: BLE001 - a session that cannot open is an error
                    report.errors.append(f"session {i} did not open: {type(e).__name__}: {str(e).splitlines()[0]}")
                    pages.append(None)
                last_x.append(None)
                updates.append(0)
                rss.append((time.monotonic(), rss_mb(server.pid)))
            if echo:
                echo(f"load: {sum(p is not None for p in pages)}/{sessions} sessions open")
            t_start = time.monotonic()
            report.server_rss_start_mb = rss_mb(server.pid)
            next_read = t_start
            while time.monotonic() - t_start < seconds:
                rss.append((time.monotonic(), rss_mb(server.pid)))
                if time.monotonic() >= next_read:
                    next_read += READ_EVERY_S
                    for i, page in enumerate(pages):
                        if page is None:
                            continue
                        x = chart_last_x(page, CHART_TITLE)
                        if x is not None and (last_x[i] is None or x > last_x[i]):
                            updates[i] += last_x[i] is not None
                            last_x[i] = x
                pages[0].wait_for_timeout(1000) if pages[0] else time.sleep(1.0)
            # a chart that updates every 2 s gains a point at least every read
            need = max(1, int(seconds / READ_EVERY_S * 0.5))
            for i, page in enumerate(pages):
                if page is None:
                    continue
                shown = exceptions_on(page)
                if shown:
                    report.errors.append(f"session {i}: traceback on the page: {shown[0][:200]}")
                elif updates[i] < need:
                    report.errors.append(f"session {i}: its chart updated {updates[i]} times in {seconds:g} s "
                                         f"(expected at least {need})")
            report.chart_updates_min = min((u for u, p in zip(updates, pages) if p is not None), default=0)
    finally:
        report.server_rss_end_mb = rss_mb(server.pid)
        report.server_peak_rss_mb = max([r for _, r in rss] + [rss_mb(server.pid, "VmHWM")])
        stop_server(server)
        for rid in run_ids:
            launcher.stop_run(store, rid, wait_s=30)
    log = (Path(home) / "server.log").read_text(errors="replace")
    for tb in re.findall(r"Traceback \(most recent call last\):.*?\n\S[^\n]*", log, flags=re.S)[:3]:
        report.errors.append("server log: " + tb.splitlines()[-1][:200])
    for rid in run_ids:
        run = store.get(rid)
        if run.status not in ("stopped", "finished"):
            report.errors.append(f"run {rid} ended {run.status}: {(run.error or '')[:200]}")
    report.session_errors = len(report.errors)
    # memory slope over the second half, per chart tick
    t0 = rss[0][0] if rss else 0.0
    half = [(t - t0, r) for t, r in rss if t - t0 >= (rss[-1][0] - t0) / 2] if rss else []
    if len(half) >= 3:
        ts, rs = np.array(half).T
        slope_mb_per_s = float(np.polyfit(ts, rs, 1)[0])
        ticks_per_s = sessions / POLL_SECONDS
        report.rss_growth_kb_per_tick = slope_mb_per_s * 1024 / ticks_per_s
    report.ticks = int(sessions * seconds / POLL_SECONDS)
    return report

