"""Issue 7's faults: SIGKILL training processes at random points (20 times, every model)
and the Streamlit server while runs train; nothing is lost or half-written."""
import pytest

from autoenc.reliability.faults import FAULT_MODELS, kill_trials, server_kill_trial
from tests.browser import require_browser


@pytest.mark.slow
def test_twenty_sigkills_across_models_all_resume_from_their_checkpoint(tmp_path):
    report = kill_trials(tmp_path, 20, seed=1)
    assert report.tried == 20 and len(FAULT_MODELS) >= 6
    assert report.failures == []
    assert report.survived == 20 and report.runs_lost == 0 and report.checkpoints_corrupt == 0


@pytest.mark.browser
def test_killed_server_restarts_and_reattaches_to_runs(tmp_path):
    require_browser()
    report = server_kill_trial(tmp_path)
    assert report.failures == [] and report.survived == 1
