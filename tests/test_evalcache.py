"""Figures of a checkpoint are computed once per file and read back after that (issue 19, 14)."""
import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from autoenc import evalcache, paths
from autoenc.data import heldout


def test_figures_are_computed_once_per_file_and_again_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "cache")
    f = tmp_path / "a.safetensors"
    f.write_bytes(b"weights one")
    calls = []

    def compute():
        calls.append(1)
        return {"accuracy": np.float32(0.5), "curve": np.arange(3), "bins": [{"n": np.int64(2)}]}
    first = evalcache.cached(f, "report", compute)
    assert first == {"accuracy": 0.5, "curve": [0, 1, 2], "bins": [{"n": 2}]} and len(calls) == 1
    assert evalcache.cached(f, "report", compute) == first and len(calls) == 1
    assert evalcache.cached(f, "other", compute) and len(calls) == 2            # another figure, another entry
    f.write_bytes(b"weights two")                                              # a run's checkpoint, rewritten
    evalcache.cached(f, "report", compute)
    assert len(calls) == 3


@pytest.fixture
def small_radio_sets(monkeypatch):
    """Held-out radio sets of 200 traces (not 2000): the page computes every figure afresh here."""
    monkeypatch.setattr(heldout, "RADIO_SIZE", 200)
    heldout.radio.cache_clear()
    yield
    heldout.radio.cache_clear()
    st.cache_data.clear()                                                      # no small-set figures for later tests


def test_the_denoiser_page_reads_its_held_out_figures_from_the_cache(home, tmp_path, monkeypatch, small_radio_sets):
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "cache")
    st.cache_data.clear()                                                      # figures of earlier tests
    first = AppTest.from_file("../pages/denoiser.py", default_timeout=240).run()
    assert not first.exception
    figures = {m.label: m.value for m in first.metric}
    # a report of each noise type's shipped model, and the cross-noise matrix: 4 models x 3 noises
    assert len(list((tmp_path / "cache" / "evals").glob("*.json"))) == 3 + 4 * 3
    st.cache_data.clear()                                                      # a new server process

    def evaluate_again(*args, **kwargs):
        raise AssertionError("evaluated again")
    monkeypatch.setattr("autoenc.inference.denoiser.report", evaluate_again)
    monkeypatch.setattr("autoenc.inference.cross_noise.evaluate", evaluate_again)
    again = AppTest.from_file("../pages/denoiser.py", default_timeout=60).run()
    assert not again.exception
    assert {m.label: m.value for m in again.metric} == figures
