"""Step mode as a student meets it (issue 22): seconds from a click on "1 generator step" to
the page showing the new grid, in headless Chromium, on the GAN page at 32 px with the page's
settings (the run started paused from the page, as a lecturer would)."""
from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from autoenc.reliability.browser import chromium, start_server, stop_server, wait_until_settled

CLICKS = 7
TIMEOUT_S = 120.0


def _wait(tab, check, timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("the GAN page did not show the step in time")
        tab.wait_for_timeout(20)


def grid_step(tab) -> int | None:
    """The step in the live grid's caption ('Step 12: ...'), None before it is drawn."""
    caption = tab.locator('[data-testid="stImageCaption"]', has_text=re.compile(r"^Step [\d,]+:")).first
    if not caption.count():
        return None
    return int(re.match(r"Step ([\d,]+):", caption.inner_text())[1].replace(",", ""))


def step_latencies(clicks: int = CLICKS) -> list[float]:
    """Seconds from each click on "1 generator step" to the grid of the step it made."""
    with tempfile.TemporaryDirectory() as home, chromium() as browser:
        url, proc = start_server(Path(home))
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 1600})
            tab.goto(f"{url}/gan")
            wait_until_settled(tab)
            tab.get_by_text("Start paused, to train step by step").click()
            tab.get_by_role("button", name="Train", exact=True).click()
            _wait(tab, lambda: grid_step(tab) == 0, TIMEOUT_S)      # renders the training set first
            out = []
            for i in range(1, clicks + 1):
                t0 = time.perf_counter()
                tab.get_by_role("button", name="1 generator step", exact=True).first.click()
                _wait(tab, lambda i=i: grid_step(tab) == i, 30.0)
                out.append(time.perf_counter() - t0)
                wait_until_settled(tab)         # the rest of the page drawn before the next click
            tab.get_by_role("button", name="Stop", exact=True).click()
            return out
        finally:
            stop_server(proc)
