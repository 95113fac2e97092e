"""Step mode in headless Chromium (issue 22): start a WGAN-GP run paused, click "1 generator
step" and see the grid and the step counts change; a critic step moves only the critic's count;
Play and Pause. Screenshots at the four widths go to artifacts/screenshots/."""
import re

import pytest

from tests.browser import browser_page, exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app
from tests.test_browser_gan import set_number, wait_until

pytestmark = pytest.mark.browser


def counts(page) -> tuple[int, int] | None:
    """(critic step, generator step) from the step controls' caption."""
    caption = page.locator('[data-testid="stCaptionContainer"]', has_text="critic step").first
    if not caption.count():
        return None
    m = re.search(r"critic step ([\d,]+), generator step ([\d,]+)", caption.inner_text())
    return (int(m[1].replace(",", "")), int(m[2].replace(",", ""))) if m else None


def grid(page) -> tuple[str, str]:
    """The live grid's caption and image source."""
    box = page.locator('[data-testid="stImage"]', has_text="Step ").first
    return box.inner_text(), box.locator("img").get_attribute("src")


def test_a_paused_run_steps_by_hand_and_the_grid_follows(tmp_path):
    require_browser()
    with streamlit_server(tmp_path) as (url, _), browser_page(height=2600) as page:
        page.goto(f"{url}/wgan_gp")
        wait_for_app(page, "Train it live", timeout_ms=60_000)
        set_number(page, "Training images", 48)
        page.get_by_text("Start paused, to train step by step").click()
        page.get_by_role("button", name="Train", exact=True).click()
        wait_until(page, lambda: counts(page) == (0, 0) and page.get_by_text("Step 0:").count(), 120,
                   "the paused run at step 0 and its first grid")
        assert "paused" in page.locator('[data-testid="stCaptionContainer"]', has_text="critic step").first.inner_text()
        page.get_by_role("button", name="1 critic step", exact=True).first.click()
        wait_until(page, lambda: counts(page) == (1, 0), 30, "one critic step")
        assert grid(page)[0].startswith("Step 0:"), "a critic step leaves the generator where it was"
        page.get_by_role("button", name="1 generator step", exact=True).first.click()
        wait_until(page, lambda: counts(page) == (1, 1) and grid(page)[0].startswith("Step 1:"), 30,
                   "one generator step and its grid")

        # from the first steps a single step hardly shows (the critic has learnt little yet):
        # play a while, pause, then step
        page.get_by_role("button", name="Play", exact=True).first.click()
        wait_until(page, lambda: (counts(page) or (0, 0))[1] > 15, 90, "the run to play on")
        page.get_by_role("button", name="Pause", exact=True).first.click()
        wait_until(page, lambda: page.get_by_role("button", name="Play", exact=True).count(), 30, "the Play button back")
        critic, generator = counts(page)
        # the grid where it paused: the page redraws the run's views every few seconds
        before = wait_until(page, lambda: (g := grid(page))[0].startswith(f"Step {generator:,}:") and g, 15,
                            "the grid where the run paused")
        page.get_by_role("button", name="1 generator step", exact=True).first.click()
        wait_until(page, lambda: counts(page) == (critic, generator + 1), 30, "one generator step")
        after = grid(page)
        assert after[0].startswith(f"Step {generator + 1:,}:") and after[1] != before[1], "the grid moved on"

        page.get_by_role("button", name="2 critic, then 1 generator", exact=True).first.click()      # k = WGAN-GP page's n_critic
        wait_until(page, lambda: counts(page) == (critic + 2, generator + 2), 60, "two critic steps and one more")
        for width in (1400, 1280, 1024, 853):
            page.set_viewport_size({"width": width, "height": 2600})
            page.wait_for_timeout(800)
            screenshot(page, f"step-mode-{width}")

        assert not exceptions_on(page)
