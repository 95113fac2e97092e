"""The real app in headless Chromium: home, then every page in the navigation, no exception box;
and a deep link on a freshly started server, which Streamlit first runs outside the router."""
import pytest

from autoenc.registry import MODELS
from autoenc.reliability.browser import wait_until_settled
from tests.browser import browser_page, exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
EXPECTED_NAV = {"Home", "Datasets", "Runs", "Compare"} | {spec.title for spec in MODELS.values() if spec.page}


def nav_names(page) -> list[str]:
    links = page.locator('[data-testid="stSidebarNav"] a')
    return [links.nth(i).inner_text().split("\n")[-1].strip() for i in range(links.count())]


def test_every_page_opens_without_an_exception(tmp_path):
    require_browser()
    with streamlit_server(tmp_path) as (url, _), browser_page() as page:
        page.goto(url)
        wait_for_app(page, "Train autoencoders and GANs live")
        wait_until_settled(page)
        assert not exceptions_on(page)
        screenshot(page, "home")
        names = nav_names(page)
        assert set(names) == EXPECTED_NAV and len(names) == len(EXPECTED_NAV), names
        for name in names:
            title = page.locator("h1").first.inner_text()
            page.locator('[data-testid="stSidebarNav"] a', has_text=name).first.click()
            if name != "Home":      # the page open now; every other one brings its own title
                page.wait_for_function("(t) => { const h = document.querySelector('h1'); return h && h.innerText !== t; }",
                                       arg=title, timeout=60_000)
            wait_until_settled(page)
            errs = exceptions_on(page)
            assert not errs, f"page {name} shows an exception: {errs}"
            screenshot(page, f"page-{name.lower().replace(' ', '-')}")


def test_a_deep_link_on_a_fresh_server_opens_the_page_inside_the_router(tmp_path):
    """pages.ui.setup.page_setup hands the first run over to app.py: the page comes up with the
    router's navigation (titles from the registry, the shared UI not listed as pages)."""
    require_browser()
    with streamlit_server(tmp_path) as (url, _), browser_page() as page:
        page.goto(url + "/wgan_gp")
        wait_for_app(page, "Train it live")
        page.wait_for_timeout(1000)
        assert page.locator("h1").first.inner_text().strip() == "WGAN-GP"
        assert set(nav_names(page)) == EXPECTED_NAV
        assert not exceptions_on(page)
