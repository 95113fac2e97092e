"""Browser-test helpers: the library's (autoenc.reliability.browser) plus pytest's skip rule."""
from __future__ import annotations

import os

import pytest

from autoenc.paths import REPO_ROOT
from autoenc.reliability.browser import (  # noqa: F401
    CHROMIUM,
    browser_missing,
    browser_page,
    chart_last_x,
    exceptions_on,
    free_port,
    streamlit_server,
    wait_for_app,
)

ROOT = REPO_ROOT
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def require_browser():
    why = browser_missing()
    if why:
        if os.environ.get("AUTOENC_REQUIRE_BROWSER"):
            pytest.fail(why)
        pytest.skip(f"{why}; .ci/run installs it")


def captioned_image(page, caption: str) -> tuple[str, bytes]:
    """(src, bytes) of the first image whose caption contains `caption`, once it is there."""
    import urllib.parse
    import urllib.request
    box = page.locator('[data-testid="stImage"], [data-testid="stFullScreenFrame"]').filter(
        has_text=caption).locator("img").first
    box.wait_for(timeout=60_000)
    src = urllib.parse.urljoin(page.url, box.get_attribute("src"))
    return src, urllib.request.urlopen(src, timeout=10).read()


def screenshot(page, name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
