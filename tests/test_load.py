"""Issue 7's load test: browser sessions on one server while two runs train. A short
version runs in the suite; the full one (10 sessions, minutes) by `python -m autoenc
reliability` or `pytest -m load`."""
import pytest

from autoenc.reliability.load import load_test
from tests.browser import require_browser


@pytest.mark.browser
def test_three_sessions_keep_updating_while_two_runs_train(tmp_path):
    require_browser()
    report = load_test(tmp_path, sessions=3, seconds=30)
    assert report.errors == [] and report.session_errors == 0
    assert report.chart_updates_min >= 3
    # the server's memory was measured (its high-water mark is at least what it held once the
    # sessions were open) and it does not grow with every chart tick
    assert report.server_peak_rss_mb >= report.server_rss_start_mb > 50
    assert report.rss_growth_kb_per_tick < 200, report


@pytest.mark.load
def test_ten_sessions_for_three_minutes(tmp_path):
    require_browser()
    report = load_test(tmp_path, sessions=10, seconds=180)
    assert report.errors == [] and report.session_errors == 0
    assert report.rss_growth_kb_per_tick < 50, report
