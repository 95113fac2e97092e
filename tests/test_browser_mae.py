"""The MAE page in headless Chromium: move the mask-ratio slider and press "New random mask", and
see the masked input and its reconstruction change."""
import pytest

from tests.browser import (
    browser_page,
    captioned_image,
    exceptions_on,
    require_browser,
    screenshot,
    streamlit_server,
    wait_for_app,
)

pytestmark = pytest.mark.browser


def masked_image(page, percent: int) -> tuple[str, bytes]:
    return captioned_image(page, f"masked input (top, {percent}% hidden)")


def test_the_mask_ratio_slider_and_a_new_mask_change_the_pictures(tmp_path):
    require_browser()
    with streamlit_server(tmp_path) as (url, _), browser_page() as page:
        page.goto(url + "/mae")
        wait_for_app(page, "Hide, then paint in")
        src75, png75 = masked_image(page, 75)
        slider = page.locator('[data-testid="stSlider"]').filter(has_text="Mask ratio (% of patches hidden)")
        thumb = slider.get_by_role("slider")
        thumb.focus()
        for _ in range(3):                      # 75 -> 90 % in steps of 5
            thumb.press("ArrowRight")
        src90, png90 = masked_image(page, 90)
        assert src90 != src75 and png90 != png75
        page.get_by_text("On these 8 galaxies with 90% hidden").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="New random mask").click()
        page.wait_for_function("""(before) => [...document.querySelectorAll('[data-testid="stImage"]')]
            .some(e => e.innerText.startsWith('masked input (top, 90%') && e.querySelector('img').src !== before)""",
                               arg=src90, timeout=60_000)
        assert masked_image(page, 90)[1] != png90
        assert not exceptions_on(page)
        screenshot(page, "mae-masked")
