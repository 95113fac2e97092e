"""The Datasets page in headless Chromium: switch the class, upload a small zip of galaxies."""
import pytest

from tests.browser import browser_page, exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app
from tests.test_datasets_page import small_zip

pytestmark = pytest.mark.browser


def test_datasets_page_switch_class_and_upload(tmp_path):
    require_browser()
    archive = tmp_path / "my galaxies.zip"
    archive.write_bytes(small_zip())
    with streamlit_server(tmp_path) as (url, _), browser_page() as page:
        page.goto(url + "/datasets")
        wait_for_app(page, "barred spiral images")
        page.locator('[data-testid="stButtonGroup"]').get_by_text("elliptical", exact=True).click()
        page.get_by_text("elliptical images").first.wait_for(timeout=60_000)
        assert not exceptions_on(page)
        page.get_by_text("Bring your own galaxy set").click()
        page.locator('input[type="file"]').set_input_files(str(archive))
        page.get_by_role("button", name="Import").click()
        page.get_by_text("Imported 9 images as 'my-galaxies'").wait_for(timeout=60_000)
        assert not exceptions_on(page)
        screenshot(page, "datasets-uploaded")
