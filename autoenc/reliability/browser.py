"""Start the real app with `streamlit run` and drive it in headless Chromium (Playwright).

Used by the browser tests and by `python -m autoenc reliability`. Playwright is a test
dependency (requirements-test.txt) and Chromium is Debian's, so both are imported lazily.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from autoenc.errors import UserError
from autoenc.paths import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage",
                 # Many sessions in one browser are many students' foreground tabs, not
                 # background tabs: Chromium would throttle their timers (Streamlit's
                 # run_every fires from the page) to once a minute and lower their priority.
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]


def browser_missing() -> str | None:
    """Why a browser cannot be driven here, or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401 - a test requirement, not the app's
    except ImportError:
        return "playwright is not installed (pip install -r requirements-test.txt)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int | None = None, extra_env: dict | None = None) -> tuple[str, subprocess.Popen]:
    """`streamlit run app.py` on 127.0.0.1 with its own run-store home; waits until healthy."""
    port = port or free_port()
    env = dict(os.environ, AUTOENC_HOME=str(home), PYTHONUNBUFFERED="1", **(extra_env or {}))
    log_path = Path(home) / "server.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return url, proc
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop_server(proc)
            raise UserError("streamlit did not start:\n" + log_path.read_text(errors="replace")[-3000:])
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextmanager
def streamlit_server(home: Path, extra_env: dict | None = None):
    url, proc = start_server(home, extra_env=extra_env)
    try:
        yield url, proc
    finally:
        stop_server(proc)


@contextmanager
def chromium():
    """A headless Debian Chromium under Playwright."""
    from playwright.sync_api import sync_playwright  # a test requirement, not the app's
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(width=1400, height=1000):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(30_000)
        yield page


def wait_for_app(page, text: str | None = None, timeout_ms: int = 30_000):
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    if text:
        page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)


SETTLED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')) return false;
  const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]').length;
  return document.querySelectorAll('.js-plotly-plot .main-svg').length >= charts;
}"""


def wait_until_settled(page, timeout_ms: int = 60_000) -> None:
    """Until the page's script run has ended and every chart on it is drawn."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(SETTLED_JS, timeout=timeout_ms, polling=50)


def exceptions_on(page) -> list[str]:
    """Tracebacks Streamlit shows on the page (there should never be any)."""
    return [e.inner_text() for e in page.query_selector_all('[data-testid="stException"]')]


# The largest x (training step) of the Plotly chart whose title contains `title` (plotly.js
# keeps the figure on its graph div), or null: a chart that keeps updating shows it growing.
CHART_LAST_X_JS = """(title) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const t = gd.layout && (gd.layout.meta || (gd.layout.title && (gd.layout.title.text || String(gd.layout.title))));
    if (!t || !t.includes(title)) continue;
    const xs = (gd.data || []).flatMap(tr => Array.from(tr.x || [])).filter(v => typeof v === 'number');
    return xs.length ? Math.max(...xs) : null;
  }
  return null;
}"""


def chart_last_x(page, title: str):
    return page.evaluate(CHART_LAST_X_JS, title)


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process in MiB from Linux /proc (VmHWM: its peak), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# What each process of a load test is, by its command line: where the machine's cores went.
PROCESS_KINDS = {"server": "streamlit run", "browsers": "chromium", "runs": "autoenc train"}


def cpu_seconds_by_kind() -> dict[str, float]:
    """CPU seconds (user + system) every running process of each PROCESS_KINDS kind has used
    so far, from Linux /proc; the difference of two calls is where the cores went between."""
    tick = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys(PROCESS_KINDS, 0.0)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for kind, marker in PROCESS_KINDS.items():
            if marker in cmdline:
                out[kind] += (int(fields[11]) + int(fields[12])) / tick     # utime, stime
                break
    return out
