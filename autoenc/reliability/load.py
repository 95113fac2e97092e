"""Load: a class of sessions on one server while runs train.

A class is one server and a room of browsers. The test starts the app, two denoiser runs
(galactic and uniform noise) and N sessions. Every session opens the Denoiser page (half of
them on uniform noise) and then, every 20-40 s, switches page as a student does: to another
page and back to the Denoiser, moving a slider on each page it lands on. It measures every
switch, reads the loss chart on every Denoiser visit, looks for tracebacks, and samples the
server's resident memory and how many cores the server, the browsers and the runs kept busy.

Two kinds of session: `browsers` of them are headless Chromium, clicking the sidebar (a
switch lasts from the click until the page has run and drawn its charts); the others speak
the browser's websocket protocol without drawing (pages.ui.protocol: a switch
lasts until the server has run the page). In a class each student's browser draws on the
student's own laptop; on this one machine 30 Chromium renderers would cost more cores than
the server they load (~0.1 core each for a live chart, measured), so by default a few real
browsers measure what a student sees while the rest load the server as the class would.

An error is a session that cannot open, a traceback on a page, a switch that does not
complete in SWITCH_TIMEOUT_S, or a Denoiser visit whose live chart did not move.

Memory per chart tick: each open chart fragment reruns every POLL_SECONDS; the slope of
the server's resident memory over the second half of the test (all sessions open, every
page visited once beforehand, so the shared caches are full), divided by the ticks in that
time, says whether something is kept per tick (it should be ~0).
"""
from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autoenc.registry import MODELS
from autoenc.reliability.browser import (
    SETTLED_JS,
    chart_last_x,
    chromium,
    cpu_seconds_by_kind,
    exceptions_on,
    rss_mb,
    start_server,
    stop_server,
    wait_for_app,
)
from autoenc.runs import launcher
from autoenc.runs.store import RunStore

CHART_TITLE = "MSE loss (train and validation)"
POLL_SECONDS = 2.0               # pages/ui/runs.py: live_chart's polling period
READ_EVERY_S = 4.0
SWITCH_EVERY_S = (20.0, 40.0)
SWITCH_TIMEOUT_S = 60.0
HOME_PAGE = "denoiser"
# every other page, by its URL path (Streamlit names it after the page's file)
OTHER_PAGES = tuple(Path(spec.page).stem for spec in MODELS.values()
                    if spec.page and Path(spec.page).stem != HOME_PAGE) + ("datasets", "runs")
# A Denoiser visit this long must see its chart gain a point (it polls every 2 s).
CHART_VISIT_S = 12.0

TITLE_CHANGED_JS = """(before) => {
  const h = document.querySelector('[data-testid="stMain"] h1');
  return !!h && h.innerText.trim() !== before;
}"""
TITLE_JS = """() => { const h = document.querySelector('[data-testid="stMain"] h1'); return h ? h.innerText.trim() : ''; }"""


@dataclass
class LoadReport:
    sessions: int = 0
    browsers: int = 0                    # of the sessions, those in Chromium
    session_errors: int = 0
    seconds: float = 0.0
    chart_updates_min: int = 0           # the fewest chart updates any session saw on the Denoiser
    switches: int = 0
    switch_p50_s: float = 0.0            # in Chromium, from the click until the page is drawn, charts and all
    switch_p95_s: float = 0.0
    script_p50_s: float = 0.0            # every session, from the click until the server has run the page
    script_p95_s: float = 0.0
    server_peak_rss_mb: float = 0.0
    server_rss_start_mb: float = 0.0     # after all sessions opened
    server_rss_end_mb: float = 0.0
    rss_growth_kb_per_tick: float = 0.0
    ticks: int = 0
    # cores each kind of process kept busy over the timed part (server, browsers, runs): where
    # the machine went when switches slow down
    cores_used: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Session:
    student: BrowserStudent | ProtocolStudent
    where: str = HOME_PAGE
    next_switch: float = 0.0
    arrived: float = 0.0
    last_x: float | None = None
    visit_reads: list = field(default_factory=list)    # (seconds into the visit, chart x) read on this visit
    visit_updates: int = 0
    updates: int = 0

    def read_chart(self) -> None:
        """Read the Denoiser's chart: an update is a newer x than the visit's last read (the
        first read is at arrival, so the whole visit counts, not only the time between reads)."""
        x = self.student.chart_x()
        self.visit_reads.append((round(time.monotonic() - self.arrived, 1), x))
        if x is not None and (self.last_x is None or x > self.last_x):
            self.visit_updates += self.last_x is not None
            self.last_x = x


def _open_session(browser, url: str, noise: str):
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.set_default_timeout(120_000)
    page.goto(url + "/" + HOME_PAGE)
    wait_for_app(page, "The three noise datasets", timeout_ms=120_000)
    if noise != "galactic":
        # the radio's option: the page's tips name the noise types too
        page.locator('[data-testid="stRadio"]').get_by_text(noise, exact=True).first.click()
    page.get_by_text(CHART_TITLE).first.wait_for(timeout=120_000)
    return page


SCRIPT_DONE_JS = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""


def switch(page, url: str, dest: str) -> tuple[float, float]:
    """Click the sidebar link to `dest`; seconds until the server has run its script (the
    title is up and the app says it is not running), and until the browser has also drawn
    every chart on it (settled)."""
    before = page.evaluate(TITLE_JS)
    t = time.monotonic()
    page.locator(f'[data-testid="stSidebarNav"] a[href="{url}/{dest}"]').first.click()
    page.wait_for_function(TITLE_CHANGED_JS, arg=before, timeout=SWITCH_TIMEOUT_S * 1000, polling=50)
    page.wait_for_function(SCRIPT_DONE_JS, timeout=SWITCH_TIMEOUT_S * 1000, polling=50)
    script = time.monotonic() - t
    page.wait_for_function(SETTLED_JS, timeout=SWITCH_TIMEOUT_S * 1000, polling=50)
    return script, time.monotonic() - t


def move_a_slider(page) -> None:
    """Press the right arrow on the page's first slider, as a student nudges it."""
    slider = page.locator('[data-testid="stMain"] [role="slider"]').first
    if slider.count():
        slider.focus()
        slider.press("ArrowRight")


class BrowserStudent:
    """A session in headless Chromium: it clicks the sidebar and reads the chart off the page."""

    def __init__(self, browser, url: str, noise: str):
        self.page, self.url = _open_session(browser, url, noise), url

    def switch(self, dest: str) -> tuple[float, float | None]:
        return switch(self.page, self.url, dest)

    def nudge(self) -> None:
        move_a_slider(self.page)

    def chart_x(self):
        return chart_last_x(self.page, CHART_TITLE)

    def tracebacks(self) -> list[str]:
        return exceptions_on(self.page)


class ProtocolStudent:
    """A session over the browser's websocket protocol, drawing nothing: its switch lasts until
    the server has run the page."""

    def __init__(self, url: str, noise: str):
        from pages.ui.protocol import ProtocolSession  # Streamlit's own messages: UI code, not the library's
        self.session = ProtocolSession(url, timeout_s=SWITCH_TIMEOUT_S)
        self.session.open(HOME_PAGE)
        if noise != "galactic":
            self.session.choose("Noise type", noise)
        self._seen = 0

    def switch(self, dest: str) -> tuple[float, float | None]:
        return self.session.open(dest), None

    def nudge(self) -> None:
        self.session.nudge_slider()

    def chart_x(self):
        return self.session.chart_last_x(CHART_TITLE)

    def tracebacks(self) -> list[str]:
        new = self.session.exceptions[self._seen:]
        self._seen += len(new)
        return new


def load_test(home: Path, sessions: int = 30, seconds: float = 300.0, echo=None, seed: int = 0,
              switch_every_s: tuple[float, float] = SWITCH_EVERY_S, pages: tuple[str, ...] = OTHER_PAGES,
              browsers: int | None = None) -> LoadReport:
    """`sessions` in all, `browsers` of them in Chromium (None: all), the rest over the protocol."""
    browsers = sessions if browsers is None else min(browsers, sessions)
    report = LoadReport(sessions=sessions, browsers=browsers, seconds=seconds)
    rng = random.Random(seed)
    store = RunStore(home)
    store.set_setting("max_concurrent", 2)
    base = {"n_train": 2000, "n_val": 200, "eval_every": 50, "steps": 10_000_000}
    # The runs must outlast the opening of every session (30 took 23 minutes on 2 cores) and
    # the test; the harness stops them at its end, the limit only guards against a crash of it.
    limit = seconds + 1800 + 120 * sessions
    run_ids = [launcher.start_run(store, "denoiser", {**base, "noise": n}, max_seconds=limit)
               for n in ("galactic", "uniform")]
    url, server = start_server(home)
    rss: list[tuple[float, float]] = []
    switch_times: list[tuple[float, float | None]] = []
    open_: list[Session] = []
    try:
        with chromium() as browser:
            for i in range(sessions):
                noise = ("galactic", "uniform")[i % 2]
                try:
                    student = BrowserStudent(browser, url, noise) if i < browsers else ProtocolStudent(url, noise)
                    open_.append(Session(student))
                except Exception as e:  # noqa: BLE001 - a session that cannot open is an error
                    report.errors.append(f"session {i} did not open: {type(e).__name__}: {str(e).splitlines()[0]}")
                rss.append((time.monotonic(), rss_mb(server.pid)))
            if echo:
                echo(f"load: {len(open_)}/{sessions} sessions open ({browsers} in Chromium)")
            # One session visits every page first, so the server's shared caches (models,
            # held-out figures) are filled before memory is read: what grows after is per tick.
            for dest in (*pages, HOME_PAGE):
                if open_:
                    try:
                        open_[0].student.switch(dest)
                    except Exception as e:  # noqa: BLE001
                        report.errors.append(f"warm-up visit to {dest} failed: {type(e).__name__}: "
                                             f"{str(e).splitlines()[0][:150]}")
            t_start = time.monotonic()
            cpu_start = cpu_seconds_by_kind()
            report.server_rss_start_mb = rss_mb(server.pid)
            rss = [(t_start, report.server_rss_start_mb)]
            for s in open_:
                s.arrived, s.next_switch = t_start, t_start + rng.uniform(*switch_every_s)
            next_read = t_start
            while time.monotonic() - t_start < seconds:
                now = time.monotonic()
                rss.append((now, rss_mb(server.pid)))
                if now >= next_read:
                    next_read += READ_EVERY_S
                    for s in open_:
                        if s.where == HOME_PAGE:
                            s.read_chart()
                for i, s in enumerate(open_):
                    if time.monotonic() < s.next_switch:
                        continue
                    if s.where == HOME_PAGE:
                        s.read_chart()
                        s.updates += s.visit_updates
                        if time.monotonic() - s.arrived >= CHART_VISIT_S and not s.visit_updates:
                            report.errors.append(f"session {i}: its loss chart did not move in "
                                                 f"{time.monotonic() - s.arrived:.0f} s on the Denoiser page "
                                                 f"(read at (s, last x): {s.visit_reads})")
                    dest = rng.choice(pages) if s.where == HOME_PAGE else HOME_PAGE
                    try:
                        switch_times.append(s.student.switch(dest))
                        s.student.nudge()
                    except Exception as e:  # noqa: BLE001 - a switch that never completes is an error
                        report.errors.append(f"session {i}: switching to {dest} failed: {type(e).__name__}: "
                                             f"{str(e).splitlines()[0][:150]}")
                    shown = s.student.tracebacks()
                    if shown:
                        report.errors.append(f"session {i}: traceback on {dest}: {shown[0][:200]}")
                    s.where, s.arrived, s.last_x, s.visit_updates, s.visit_reads = dest, time.monotonic(), None, 0, []
                    if dest == HOME_PAGE:
                        s.read_chart()
                    s.next_switch = time.monotonic() + rng.uniform(*switch_every_s)
                time.sleep(0.2)
            for s in open_:
                s.updates += s.visit_updates
            wall = time.monotonic() - t_start
            report.cores_used = {k: round((v - cpu_start[k]) / wall, 2) for k, v in cpu_seconds_by_kind().items()}
            report.chart_updates_min = min((s.updates for s in open_), default=0)
    finally:
        for s in open_:
            if isinstance(s.student, ProtocolStudent):
                s.student.session.close()
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
    if switch_times:
        report.switches = len(switch_times)
        script = [t for t, _ in switch_times]
        drawn = [t for _, t in switch_times if t is not None]
        report.script_p50_s, report.script_p95_s = (float(q) for q in np.percentile(script, [50, 95]))
        if drawn:
            report.switch_p50_s, report.switch_p95_s = (float(q) for q in np.percentile(drawn, [50, 95]))
    # memory slope over the second half, per chart tick
    if len(rss) >= 6:
        t0 = rss[0][0]
        half = [(t - t0, r) for t, r in rss if t - t0 >= (rss[-1][0] - t0) / 2]
        ts, rs = np.array(half).T
        slope_mb_per_s = float(np.polyfit(ts, rs, 1)[0])
        report.rss_growth_kb_per_tick = slope_mb_per_s * 1024 / (sessions / POLL_SECONDS)
    report.ticks = int(sessions * seconds / POLL_SECONDS)
    return report
