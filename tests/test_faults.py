"""Faults (issues 7 and 20): SIGKILL training processes at random moments at the settings
their pages use, and the Streamlit server while runs train; nothing is lost or half-written,
and a kill loses at most one checkpoint interval of training."""
import pytest
from streamlit.testing.v1 import AppTest

from autoenc.registry import MODELS, get_model
from autoenc.reliability.faults import FAULT_MODELS, kill_trials, resume_problems, server_kill_trial
from autoenc.runs import launcher
from autoenc.runs.page_defaults import PAGE_SETTINGS, PAGE_TIME_LIMIT
from autoenc.runs.store import RunStore
from autoenc.train.task import TrainSettings, config_from_dict, config_to_dict
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
def test_kills_at_page_settings_lose_at_most_one_checkpoint_interval(tmp_path):
    """SIGKILLs at the settings the pages train with, at random moments up to 40 s into
    training (before and after the first checkpoint by time): here two WGAN-GP runs (a trial
    takes up to a minute; test_reliability_cli kills a denoiser), `reliability` 20 across all six."""
    assert set(FAULT_MODELS) == set(MODELS) - {"classifier"}
    report = kill_trials(tmp_path, 2, seed=1, models=("wgan-gp",), window=(1.0, 40.0))
    assert report.failures == []
    assert report.tried == report.survived == 2 and report.runs_lost == 0 and report.checkpoints_corrupt == 0
    assert len(report.lost_seconds) == 2
    # at most the 30 s cadence, plus a step, a write and the kill's own latency on a busy machine
    assert max(report.lost_seconds) <= TrainSettings().checkpoint_seconds + 10, report.lost_seconds


@pytest.mark.browser
def test_killed_server_restarts_and_reattaches_to_runs(tmp_path):
    require_browser()
    report = server_kill_trial(tmp_path)
    assert report.failures == [] and report.survived == 1


@pytest.mark.parametrize("model, page, key", [("denoiser", "pages/denoiser.py", "denoiser_galactic"),
                                              ("vae", "pages/vae.py", "vae"),
                                              ("wgan-gp", "pages/wgan_gp.py", "wgan-gp"),
                                              ("acgan", "pages/acgan.py", "acgan")])
def test_the_harness_kills_runs_at_the_settings_the_pages_start(home, model, page, key):
    """PAGE_SETTINGS must be what Train starts with the widgets untouched (the page's recipe
    included), or the kills and the checkpoint and time-to-quality benchmarks measure runs
    nobody makes."""
    store = RunStore(home)
    at = AppTest.from_file(f"../{page}", default_timeout=120).run()
    at.button(key=f"{key}_train").click().run()
    assert not at.exception
    [run] = store.list(model=model)
    try:
        cls = get_model(model).task_class().Config
        assert run.config == config_to_dict(config_from_dict(cls, PAGE_SETTINGS[model]))
        assert run.max_seconds == PAGE_TIME_LIMIT[model]
    finally:
        launcher.delete_run(store, run.id)
