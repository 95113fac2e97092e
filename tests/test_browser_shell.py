"""The real app in headless Chromium: home, then every page in the navigation, no exception box."""
import pytest

from tests.browser import browser_page, exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser


def test_every_page_opens_without_an_exception(tmp_path):
    require_browser()
    with streamlit_server(tmp_path) as (url, _), browser_page() as page:
        page.goto(url)
        wait_for_app(page, "Train autoencoders and GANs live")
        page.wait_for_timeout(1500)
        assert not exceptions_on(page)
        screenshot(page, "home")
        links = page.locator('[data-testid="stSidebarNav"] a')
        names = [links.nth(i).inner_text().split("\n")[-1].strip() for i in range(links.count())]
        assert {"Home", "Runs"} <= set(names), names
        for name in names:
            page.locator('[data-testid="stSidebarNav"] a', has_text=name).first.click()
            page.wait_for_timeout(2500)
            wait_for_app(page)
            errs = exceptions_on(page)
            assert not errs, f"page {name} shows an exception: {errs}"
            screenshot(page, f"page-{name.lower().replace(' ', '-')}")
