"""The VAE page in headless Chromium: move the interpolation slider, see the decoded image change;
click the latent map, see the decoded image of that point, and a second click's path."""
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
# Where a point of the latent map is on the screen, from plotly.js's own axes.
MAP_POINT_JS = """([trace, i]) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    if (!gd._fullData || !gd._fullData.some(t => t.name === 'barred spiral')) continue;
    const t = gd._fullData[trace], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const r = gd.getBoundingClientRect();
    return [r.left + xa._offset + xa.l2p(t.x[i]), r.top + ya._offset + ya.l2p(t.y[i])];
  }
  return null;
}"""


def decoded_image(page, t: str):
    return captioned_image(page, f"decoded at t = {t}")


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

        # the latent map: a click on empty space decodes that point, a second click draws a path
        chart = page.locator('[data-testid="stPlotlyChart"]', has=page.locator("text=barred spiral")).first
        chart.scroll_into_view_if_needed()
        page.mouse.click(*page.evaluate(MAP_POINT_JS, [0, 40]))        # the background grid is trace 0
        first = page.locator('[data-testid="stImage"]', has_text="decoded at (").first
        first.wait_for(timeout=60_000)
        before = first.locator("img").get_attribute("src")
        chart.scroll_into_view_if_needed()
        page.mouse.click(*page.evaluate(MAP_POINT_JS, [0, 1200]))
        page.get_by_text("Along your path from A to B").first.wait_for(timeout=60_000)
        page.wait_for_function("""(before) => { const b = [...document.querySelectorAll('[data-testid="stImage"]')]
            .find(e => e.innerText.startsWith('decoded at (')); return b && b.querySelector('img').src !== before; }""",
                               arg=before, timeout=60_000)
        assert page.get_by_text("your path").count()
        assert not exceptions_on(page)

        # hovering over a galaxy shows its thumbnail beside the cursor, taken from the page's sprite
        chart.scroll_into_view_if_needed()
        galaxy = page.evaluate("""() => { for (const gd of document.querySelectorAll('.js-plotly-plot'))
            if (gd._fullData && gd._fullData.some(t => t.name === 'barred spiral'))
              return gd._fullData.findIndex(t => t.name === 'elliptical'); }""")
        index = page.evaluate(f"""() => {{ for (const gd of document.querySelectorAll('.js-plotly-plot'))
            if (gd._fullData && gd._fullData.some(t => t.name === 'barred spiral'))
              return gd._fullData[{galaxy}].customdata[5]; }}""")
        page.mouse.move(*page.evaluate(MAP_POINT_JS, [galaxy, 5]))
        thumb = page.locator('[data-testid="autoenc-thumbnail"]')
        thumb.wait_for(state="visible", timeout=30_000)
        assert thumb.get_attribute("data-index") == str(index)
        assert "url(" in thumb.evaluate("e => e.style.backgroundImage")
        sprite = page.locator('[class*="st-key-autoenc-thumbs-"] img').first
        assert not sprite.is_visible() and sprite.evaluate("e => e.naturalWidth") == 1280
        screenshot(page, "vae-latent-map")
