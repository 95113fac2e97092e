"""GAN pages in headless Chromium: train a tiny run, watch it, stop it, sample from it.

The four GAN pages are one page module (pages/ui/gan.py) with a model each: the browser trains
the basic GAN and the acGAN (its class picker too); the WGAN pages' Train, Stop and samples are
AppTests (tests/test_gan_pages.py), and WGAN-GP's live grid is stepped in Chromium by
tests/test_browser_step_mode.py. Each run is 32 px on 48 rendered images and is stopped as soon
as it reports a step.
"""
import re
import time

import pytest

from tests.browser import browser_page, exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
PAGES = [("gan", "gan", "GAN"), ("acgan", "acgan", "acGAN")]


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(700)


def status_text(page) -> str:
    """The live chart's caption: '<status> step N/M ...' ('' before it is drawn)."""
    captions = page.locator('[data-testid="stCaptionContainer"]', has_text=re.compile(r"step [\d,]+/"))
    return captions.first.inner_text() if captions.count() else ""


def wait_until(page, check, timeout_s: float, what: str):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        result = check()
        if result:
            return result
        errs = exceptions_on(page)
        assert not errs, f"exception while waiting for {what}: {errs}"
        page.wait_for_timeout(500)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; status: {status_text(page)!r}")


def sample_sources(page) -> list[str]:
    return [img.get_attribute("src") for img in page.locator('[data-testid="stImage"] img').all()]


def test_gan_pages_train_stop_and_sample(tmp_path):
    require_browser()
    with streamlit_server(tmp_path) as (url, _), browser_page(height=3000) as page:
        for model, path, title in PAGES:
            page.goto(f"{url}/{path}")
            wait_for_app(page, "Train it live", timeout_ms=60_000)
            assert page.locator("h1", has_text=title).count()
            set_number(page, "Training images", 48)
            set_number(page, "Time limit (s)", 60)
            page.get_by_role("button", name="Train", exact=True).click()
            wait_until(page, lambda: re.search(r"(running|finished) step [1-9]", status_text(page)), 120,
                       f"{model} to train a step")
            page.get_by_role("button", name="Stop", exact=True).click()
            wait_until(page, lambda: re.search(r"^(stopped|finished)", status_text(page)), 60, f"{model} to stop")
            # the stopped run saved a checkpoint: 32 samples are drawn from it
            wait_until(page, lambda: page.get_by_text("seed 0", exact=False).count(), 30, f"{model} samples")
            page.wait_for_timeout(1000)
            assert not exceptions_on(page), f"{model}: {exceptions_on(page)}"
            screenshot(page, f"gan-page-{model}")
            if model == "acgan":
                before = sample_sources(page)
                page.locator('[data-testid="stRadio"]', has_text="Class").get_by_text("elliptical", exact=True).click()
                after = wait_until(page, lambda: (s := sample_sources(page)) and len(s) == len(before)  # noqa: B023
                                   and s != before and s, 30, "the class grid to change")  # noqa: B023
                # the class's grid changed; the one row per class (the same z) and the previews did not
                assert sum(a != b for a, b in zip(before, after)) == 1
                assert not exceptions_on(page)
                screenshot(page, "gan-page-acgan-elliptical")
