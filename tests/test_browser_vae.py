"""The VAE page in headless Chromium: move the interpolation slider, see the decoded image change."""
import urllib.request

import pytest

from tests.browser import browser_page, exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser


def decoded_image(page, t: str):
    """(src, bytes) of the image captioned 'decoded at t = T', once it is there."""
    box = page.locator('[data-testid="stImage"], [data-testid="stFullScreenFrame"]').filter(
        has_text=f"decoded at t = {t}").locator("img").first
    box.wait_for(timeout=60_000)
    src = box.get_attribute("src")
    if src.startswith("/"):
        src = page.url.split("/vae")[0] + src
    return src, urllib.request.urlopen(src, timeout=10).read()


def test_moving_the_interpolation_slider_changes_the_decoded_image(tmp_path):
    require_browser()
    with streamlit_server(tmp_path) as (url, _), browser_page() as page:
        page.goto(url + "/vae")
        wait_for_app(page, "Latent interpolation")
        src_mid, png_mid = decoded_image(page, "0.50")
        assert png_mid.startswith(b"\x89PNG") or png_mid[:3] == b"\xff\xd8\xff"
        slider = page.locator('[data-testid="stSlider"]').filter(has_text="Position along the path").get_by_role("slider")
        slider.focus()
        slider.press("End")                      # t -> 1.00, the second image's reconstruction
        src_end, png_end = decoded_image(page, "1.00")
        assert src_end != src_mid and png_end != png_mid
        for _ in range(4):                      # back to 0.80 in steps of 0.05
            slider.press("ArrowLeft")
        src_08, png_08 = decoded_image(page, "0.80")
        assert png_08 not in (png_end, png_mid)
        assert not exceptions_on(page)
        screenshot(page, "vae-interpolation")
