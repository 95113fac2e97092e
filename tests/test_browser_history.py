"""The history slider and the Compare page in headless Chromium: /compare?runs=A,B opened on a
fresh server shows both runs; moving the slider changes the grid and the loss chart's cursor."""
import re

import pytest

from autoenc.runs.store import RunStore
from tests.browser import browser_page, exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app
from tests.test_browser_gan import wait_until
from tests.test_history_pages import gan_run_with_history

pytestmark = pytest.mark.browser


def grid(page) -> tuple[str, str]:
    box = page.locator('[data-testid="stImage"]', has_text=re.compile(r"^Step \d")).first
    if not box.count():
        return "", ""
    return box.inner_text(), box.locator("img").get_attribute("src") or ""


def cursor(page) -> str:
    notes = page.locator(".annotation-text", has_text=re.compile(r"^step [\d,]+$"))
    return notes.first.text_content() if notes.count() else ""


def test_the_history_slider_moves_the_grid_and_the_cursor_and_compare_opens_from_a_link(tmp_path):
    require_browser()
    home = tmp_path / "home"
    a = gan_run_with_history(home)
    b = gan_run_with_history(home)
    RunStore(home).update(b, config={**RunStore(home).get(b).config, "lr": 1e-4})
    with streamlit_server(home) as (url, _), browser_page(height=2600) as page:
        # first a deep link on the fresh server: the router takes it over with its query
        page.goto(f"{url}/compare?runs={a},{b}")
        wait_for_app(page, "Compare runs", timeout_ms=60_000)
        wait_until(page, lambda: page.get_by_text(f"{a} (GAN)", exact=True).count()
                   and page.get_by_text(f"{b} (GAN)", exact=True).count(), 60, "both runs on the Compare page")
        wait_until(page, lambda: page.locator('[data-testid="stImage"]', has_text="step 30").count() == 2, 30,
                   "their grids at the same step")
        assert f"runs={a}" in page.url
        assert not exceptions_on(page)
        screenshot(page, "compare-two-runs")

        page.goto(f"{url}/gan")
        wait_for_app(page, "Train it live", timeout_ms=60_000)
        wait_until(page, lambda: grid(page)[0].startswith("Step 30:") and cursor(page) == "step 30", 60,
                   "the newest grid and the cursor at step 30")
        before = grid(page)
        handle = page.locator('[data-testid="stSlider"]', has_text="History").get_by_role("slider")
        handle.focus()
        handle.press("Home")
        wait_until(page, lambda: grid(page)[0].startswith("Step 10:") and cursor(page) == "step 10", 30,
                   "the grid and the cursor at step 10")
        assert grid(page)[1] != before[1], "the grid image changed"
        assert page.get_by_text("Measured at step 10").count()
        screenshot(page, "history-slider-gan")
