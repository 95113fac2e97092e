"""The dashboard as a student meets it: seconds from opening a page to a settled page (its
script run over, its charts drawn), in headless Chromium, on a fresh server (cold) and again
in new sessions on a warm one; and the server's CPU seconds for a warm open."""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from autoenc.bench import Record
from autoenc.registry import MODELS
from autoenc.reliability.browser import browser_missing, chromium, start_server, stop_server, wait_until_settled

WARM_OPENS = 3
TOOLS = ("datasets", "runs")


def pages() -> list[str]:
    """URL paths of every page: home, each model's, the tools."""
    return ["home"] + [Path(spec.page).stem for spec in MODELS.values() if spec.page] + list(TOOLS)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_page(browser, url: str, page: str, server_pid: int) -> tuple[float, float]:
    """(seconds to settled, server CPU seconds) of one open in a new session."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    tab = context.new_page()
    cpu0, t0 = cpu_seconds(server_pid), time.perf_counter()
    tab.goto(url + ("/" if page == "home" else f"/{page}"))
    wait_until_settled(tab)
    took, cpu = time.perf_counter() - t0, cpu_seconds(server_pid) - cpu0
    context.close()
    return took, cpu


def benchmarks() -> Iterator[Record]:
    """app.page_settled_s.<page>.cold (target 2 s) and .warm (target 1 s), the median of
    WARM_OPENS opens with its spread; app.page_server_cpu_s.<page>.warm. Each page's cold
    open is the first one on a server started for it, with the disk caches of earlier
    servers (renders, held-out figures) in place, as on a machine that has run the app."""
    why = browser_missing()
    if why:
        yield Record("app.browser_missing", 1.0, why)
        return
    with tempfile.TemporaryDirectory() as home, chromium() as browser:
        url, proc = start_server(Path(home))               # fill the disk caches once
        try:
            for page in pages():
                open_page(browser, url, page, proc.pid)
        finally:
            stop_server(proc)
        for page in pages():
            url, proc = start_server(Path(home))
            try:
                cold, _ = open_page(browser, url, page, proc.pid)
                warm = [open_page(browser, url, page, proc.pid) for _ in range(WARM_OPENS)]
            finally:
                stop_server(proc)
            times, cpus = [w[0] for w in warm], [w[1] for w in warm]
            yield Record(f"app.page_settled_s.{page}.cold", cold, "s", target=2.0, higher_is_better=False)
            yield Record(f"app.page_settled_s.{page}.warm", statistics.median(times), "s", target=1.0,
                         higher_is_better=False, n=len(times), spread=max(times) - min(times))
            yield Record(f"app.page_server_cpu_s.{page}.warm", statistics.median(cpus), "s", target=1.0,
                         higher_is_better=False, n=len(cpus), spread=max(cpus) - min(cpus))
