"""Issue 20, item 7: two dashboards on one home (a lecturer's laptop and the projector's
machine) show the same runs, and stop and resume work from either."""
import pytest

from autoenc.reliability.browser import chromium, start_server, stop_server
from autoenc.runs import launcher
from autoenc.runs.store import RunStore
from tests.browser import exceptions_on, require_browser, wait_for_app

pytestmark = pytest.mark.browser
TITLE = "MSE loss (train and validation)"


def status_of(store, rid):
    return store.get(rid).status


def wait_status(page, store, rid, status, timeout_ms=60_000):
    """The run has that status in the store, and this page says so in the run's badge."""
    page.wait_for_function(
        "(s) => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
        ".some(e => e.innerText.includes(s + ' step'))", arg=status, timeout=timeout_ms, polling=250)
    assert status_of(store, rid) == status


def test_two_servers_on_one_home_show_the_same_run_and_both_control_it(tmp_path):
    require_browser()
    store = RunStore(tmp_path)
    laptop = projector = None
    try:
        laptop, projector = start_server(tmp_path), start_server(tmp_path)
        with chromium() as browser:
            a = browser.new_page(viewport={"width": 1400, "height": 1000})
            b = browser.new_page(viewport={"width": 1400, "height": 1000})
            for page, (url, _) in ((a, laptop), (b, projector)):
                page.set_default_timeout(60_000)
                page.goto(url + "/denoiser")
                wait_for_app(page, "The three noise datasets")
            a.get_by_role("button", name="Train").click()          # started on the laptop
            a.get_by_text(TITLE).first.wait_for()
            [run] = store.list(model="denoiser")
            wait_status(a, store, run.id, "running")
            b.reload()                                              # the projector sees it
            wait_for_app(b, TITLE)
            wait_status(b, store, run.id, "running")
            b.get_by_role("button", name="Stop").click()           # stopped from the projector
            wait_status(b, store, run.id, "stopped")
            wait_status(a, store, run.id, "stopped")               # the laptop follows
            a.get_by_role("button", name="Resume").click()         # resumed from the laptop
            wait_status(a, store, run.id, "running")
            b.reload()
            wait_for_app(b, TITLE)
            wait_status(b, store, run.id, "running")
            assert store.get(run.id).step >= store.get(run.id).checkpoint_step > 0
            b.get_by_role("button", name="Stop").click()
            wait_status(a, store, run.id, "stopped")
            assert not exceptions_on(a) and not exceptions_on(b)
    finally:
        for server in (laptop, projector):
            if server:
                stop_server(server[1])
        for r in store.list():
            if r.active:
                launcher.stop_run(store, r.id, wait_s=30)
