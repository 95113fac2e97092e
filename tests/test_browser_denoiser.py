"""The Denoiser page in headless Chromium: switch noise, train briefly, see the loss chart grow, stop."""
import pytest

from tests.browser import browser_page, exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

CHART_POINTS_JS = """(title) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const t = gd.layout && (gd.layout.meta || (gd.layout.title && (gd.layout.title.text || String(gd.layout.title))));
    if (t && t.includes(title)) return (gd._fullData || []).reduce((n, tr) => n + (tr._length || 0), 0);
  }
  return -1;
}"""
TITLE = "MSE loss (train and validation)"


def test_denoiser_page_trains_and_stops(tmp_path):
    require_browser()
    with streamlit_server(tmp_path) as (url, _), browser_page() as page:
        page.goto(url + "/denoiser")
        wait_for_app(page, "The three noise datasets")
        page.get_by_text("Peak accuracy").first.wait_for(timeout=60_000)
        assert not exceptions_on(page)
        screenshot(page, "denoiser-open")

        page.locator('[data-testid="stRadio"]').get_by_text("uniform", exact=True).first.click()
        page.get_by_text("No uniform run yet").wait_for(timeout=30_000)
        page.get_by_role("button", name="Train").click()
        page.get_by_text(TITLE).first.wait_for(timeout=60_000)
        points = -1
        for _ in range(90):  # the fragment polls every 2 s; the run needs a few s to start
            page.wait_for_timeout(1000)
            points = page.evaluate(CHART_POINTS_JS, TITLE)
            if points >= 4:
                break
        assert points >= 4, f"the loss chart did not gain points ({points})"
        screenshot(page, "denoiser-training")
        page.get_by_role("button", name="Stop").click()
        page.get_by_text("stopped").first.wait_for(timeout=60_000)
        assert not exceptions_on(page)
        screenshot(page, "denoiser-stopped")
