"""Issue 7's faults: SIGKILL training processes at random points (20 times, every model)
and the Streamlit server while runs train; nothing is lost or half-written."""
import pytest

from autoenc.reliability.faults import FAULT_MODELS, kill_trials, resume_problems, server_kill_trial
from autoenc.runs.store import RunStore
from tests.browser import require_browser


def test_the_resume_check_reads_every_metric_a_model_logs(tmp_path):
    """A GAN logs loss_d and loss_g, never loss: a check of `loss` alone would pass on anything."""
    store = RunStore(tmp_path)
    good = store.create_run("wgan-gp", {}, total_steps=10)
    store.log_metrics(good, [(s, name, 1.0) for s in (1, 2, 3) for name in ("loss_d", "loss_g", "wasserstein")])
    assert resume_problems(store, good, "wgan-gp") == []
    twice = store.create_run("wgan-gp", {}, total_steps=10)      # resumed without truncating its curves
    store.log_metrics(twice, [(s, "loss_g", 1.0) for s in (1, 2, 3, 2, 3)] + [(1, "loss_d", 1.0)])
    assert resume_problems(store, twice, "wgan-gp") == ["the loss_g curve has repeated or unordered steps after resume"]
    nothing = store.create_run("gan", {}, total_steps=10)
    store.log_metrics(nothing, [(1, "loss", 1.0)])
    assert resume_problems(store, nothing, "gan") == ["no loss_g was logged, so the resume cannot be checked"]


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
