"""Every page readable on a projector (issue 19, 6): at 1280x720, 1024x768 and 853 px wide
(a 1280 px projector at 150 % zoom), with the sidebar open and what a class has trained shown
(a run per model page, logged GAN evaluations), no metric, button, link or label cut short,
no word broken across lines in a heading, no sample grid shrunk below 48 px a galaxy, and
no legend over an axis or chart title. Screenshots of each go to artifacts/screenshots."""
from pathlib import Path

import pytest

from autoenc.registry import MODELS
from autoenc.runs.store import RunStore
from autoenc.runs.worker import execute
from tests.browser import exceptions_on, require_browser, screenshot, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser
SIZES = ((1280, 720), (1024, 768), (853, 640))
PAGES = ["home"] + [Path(spec.page).stem for spec in MODELS.values() if spec.page] + ["datasets", "runs"]
READABLE_JS = (Path(__file__).parent / "readable.js").read_text()
GAN = {"image_size": 32, "ngf": 8, "ndf": 8, "n_images": 48, "batch_size": 16, "steps": 4, "eval_every": 2}


def trained_home(home: Path) -> None:
    store = RunStore(home)
    execute(store, "denoiser", {"n_train": 256, "n_val": 64, "steps": 20, "eval_every": 10}, threads=1)
    execute(store, "vae", {"image_size": 64, "n_images": 48, "steps": 4, "batch_size": 8, "eval_every": 2}, threads=1)
    execute(store, "mae", {"image_size": 32, "n_images": 48, "steps": 4, "batch_size": 8, "eval_every": 2, "dim": 32,
                           "depth": 1, "heads": 2, "decoder_dim": 16, "decoder_depth": 1}, threads=1)
    for model in ("gan", "acgan", "wgan-gp", "wgan-div"):
        execute(store, model, GAN, threads=1)


def test_every_page_is_readable_at_projector_widths(tmp_path):
    require_browser()
    from autoenc.reliability.browser import chromium, wait_until_settled
    trained_home(tmp_path)
    problems = {}
    with streamlit_server(tmp_path) as (url, _), chromium() as browser:
        # each page is opened once and resized through the widths: the layout follows the window
        # as it would on a projector whose resolution is changed, without running the page again
        context = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
        page = context.new_page()
        page.set_default_timeout(60_000)
        for name in PAGES:
            page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
            page.goto(url + ("/" if name == "home" else f"/{name}"))
            wait_for_app(page)
            wait_until_settled(page)
            assert not exceptions_on(page), (name, exceptions_on(page))
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_timeout(300)          # the layout and plotly.js's resize handlers
                wait_until_settled(page)
                sidebar = page.evaluate("() => document.querySelector('[data-testid=\"stSidebar\"]')"
                                        ".getBoundingClientRect().toJSON()")
                assert sidebar["left"] >= 0 and sidebar["width"] > 200, (width, name, "the sidebar is closed")
                found = page.evaluate(READABLE_JS)
                if found:
                    problems[f"{name} at {width} px"] = found
                screenshot(page, f"width-{width}-{name}")
        context.close()
    assert problems == {}
