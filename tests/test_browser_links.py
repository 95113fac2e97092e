"""Lesson links, presenter mode and run bundles in headless Chromium (issue 24): a view changed
by hand is copied with Copy link and opened in a fresh browser context, which shows the same
image; presenter mode at 1280x720; a bundle downloaded from one home and imported on the Runs
page of another server."""
import re
import time

import pytest

from autoenc.runs.store import RunStore
from tests.browser import exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app
from tests.test_browser_gan import wait_until

pytestmark = pytest.mark.browser


def decoded(page) -> str:
    """The src of the VAE page's image decoded along the interpolation path."""
    box = page.locator('[data-testid="stImage"]', has_text="decoded at t =").first
    return box.locator("img").get_attribute("src") if box.count() else ""


def fresh_page(browser, link: str, ready: str, width: int = 1280, height: int = 2400):
    """`link` in a new browser context (no cookies, no session), once `ready` is on the page."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(60_000)
    page.goto(link)
    wait_for_app(page, ready, timeout_ms=120_000)
    return page


def copied_link(page) -> str:
    page.locator('[data-testid="autoenc-copy-link"]').click()
    field = page.locator('[data-testid="autoenc-link"]')
    wait_until(page, lambda: field.input_value(), 10, "the copied link")
    return field.input_value()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server (a classroom's) and one Chromium for the tests here: (url, home, browser)."""
    require_browser()
    from autoenc.reliability.browser import chromium
    home = tmp_path_factory.mktemp("classroom")
    with streamlit_server(home) as (url, _), chromium() as browser:
        yield url, home, browser


def test_a_copied_link_opens_the_same_view_in_a_new_browser(served):
    url, _, browser = served
    page = fresh_page(browser, f"{url}/vae", "Latent interpolation")
    wait_until(page, lambda: decoded(page), 60, "the decoded image")
    first = decoded(page)
    # another pair and another place on the path, as a lecturer prepares a view
    page.locator('[data-testid="stSelectbox"]', has_text="From image").click()
    page.get_by_role("option", name="3", exact=True).click()
    wait_until(page, lambda: "interp_a=3" in page.url, 30, "the pair in the URL")
    handle = page.locator('[data-testid="stSlider"]', has_text="Position along the path").get_by_role("slider")
    handle.focus()
    handle.press("End")
    wait_until(page, lambda: "interp_t=1" in page.url and decoded(page) not in ("", first), 30,
               "the position in the URL and a new image")
    time.sleep(1)
    wanted = decoded(page)
    link = copied_link(page)
    assert link == page.url and "interp_a=3" in link and "interp_t=1" in link
    assert not exceptions_on(page)

    fresh = fresh_page(browser, link, "Latent interpolation")
    wait_until(fresh, lambda: decoded(fresh) == wanted, 60, "the same decoded image")
    assert "decoded at t = 1.00" in fresh.get_by_text("decoded at t =").first.inner_text()
    screenshot(fresh, "link-opened-vae")

    # presenter mode on a 1280x720 projector, and a handout without training
    show = fresh_page(browser, f"{url}/denoiser?present=1", "The three noise datasets", width=1280, height=720)
    show.wait_for_function("getComputedStyle(document.documentElement).fontSize === '20px'", timeout=30_000)
    assert not show.get_by_text("Training settings").first.is_visible()
    assert show.locator('[data-testid="stSidebar"]').first.get_attribute("data-collapsed") == "true"
    screenshot(show, "present-denoiser-1280x720")
    show.goto(f"{url}/gan?hide=train,tips")
    wait_for_app(show, "random samples", timeout_ms=120_000)
    show.get_by_role("button", name="New samples").first.wait_for(timeout=60_000)     # the page is drawn
    assert not show.get_by_role("button", name="Train", exact=True).first.is_visible()
    assert not show.get_by_text("Try this").first.is_visible()
    assert not exceptions_on(show)


def samples(page) -> str:
    """The src of the acGAN page's grid of samples of the chosen class."""
    box = page.locator('[data-testid="stImage"]', has_text=re.compile(r"seed \d+$")).first
    return box.locator("img").get_attribute("src") if box.count() else ""


def test_the_denoiser_and_acgan_views_survive_their_links(served):
    url, home, browser = served
    page = fresh_page(browser, f"{url}/denoiser", "The three noise datasets")
    page.locator('[data-testid="stRadio"]').get_by_text("cosine", exact=True).first.click()
    wait_until(page, lambda: "noise=cosine" in page.url, 30, "the noise type in the URL")
    handle = page.locator('[data-testid="stSlider"]', has_text="SNR range").get_by_role("slider").first
    handle.focus()
    handle.press("ArrowRight")
    page.get_by_text("Training settings").first.click()
    wait_until(page, lambda: "snr=" in page.url and "train_settings=true" in page.url, 30, "the SNR and section")
    link = copied_link(page)
    assert link.count("snr=") == 2                      # a range: both ends
    # opened on a freshly started server with the same files: the router hands the whole query over
    with streamlit_server(home) as (restarted, _):
        there = fresh_page(browser, link.replace(url, restarted), "The three noise datasets")
        radio = there.locator('[data-testid="stRadio"]').first
        wait_until(there, lambda: radio.locator("input:checked").count() and "cosine" in radio.locator(
            "label:has(input:checked)").inner_text(), 30, "cosine chosen")
        assert there.locator('[data-testid="stSlider"]', has_text="SNR range").inner_text().split()[-4] == "2.50"
        there.get_by_text("Learning rate").first.wait_for(state="visible", timeout=30_000)   # the section is open
        assert not exceptions_on(there)

    page.goto(f"{url}/acgan")
    wait_for_app(page, "random samples", timeout_ms=120_000)
    wait_until(page, lambda: samples(page), 60, "the samples")
    page.locator('[data-testid="stRadio"]', has_text="Class").get_by_text("spiral", exact=True).click()
    seed = page.get_by_label("Sample seed")
    seed.fill("5")
    seed.press("Enter")
    wait_until(page, lambda: "acgan_sample_seed=5" in page.url and "acgan_class=spiral" in page.url
               and page.locator('[data-testid="stImage"]', has_text=re.compile(r"seed 5$")).count(), 60,
               "the class and seed in the URL and the grid")
    wanted = samples(page)
    fresh = fresh_page(browser, copied_link(page), "random samples")
    wait_until(fresh, lambda: samples(fresh) == wanted, 60, "the same samples")
    assert not exceptions_on(page) and not exceptions_on(fresh)


def test_a_bundle_from_one_home_imports_on_the_runs_page_of_another(served, tmp_path):
    url, classroom, browser = served
    from autoenc.runs import bundle
    from autoenc.runs.worker import execute
    from tests.test_bundle import TINY
    source = RunStore(tmp_path / "laptop")
    run_id, _ = execute(source, "denoiser", TINY, threads=1)
    zipped = tmp_path / "run.zip"
    zipped.write_bytes(bundle.export_run(source, run_id).data)
    page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{url}/runs")
    wait_for_app(page, "Runs", timeout_ms=120_000)
    page.get_by_text("Import a run bundle").click()
    page.locator('input[type="file"]').set_input_files(str(zipped))
    page.get_by_role("button", name="Import this bundle").click()
    page.get_by_text(f"Imported as run {run_id}").wait_for(timeout=60_000)
    assert not exceptions_on(page)
    assert RunStore(classroom).get(run_id).checkpoint_step == source.get(run_id).checkpoint_step
    # a file that is not a bundle is refused in words
    bad = tmp_path / "notes.zip"
    bad.write_bytes(b"PK not really a zip")
    assert not page.get_by_role("button", name="Import this bundle").count()      # done: no button left
    page.locator('input[type="file"]').set_input_files(str(bad))
    page.get_by_text("notes.zip").wait_for(timeout=60_000)
    page.get_by_role("button", name="Import this bundle").click()
    page.get_by_text("this bundle was not imported").wait_for(timeout=60_000)
    assert not exceptions_on(page)
    screenshot(page, "runs-bundle-import")
