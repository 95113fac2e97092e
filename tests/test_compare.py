"""Runs side by side (autoenc/runs/compare.py and the Compare page), and the race of the three
GAN losses."""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from autoenc.runs import compare, launcher
from autoenc.runs.store import RunStore


def made_run(store: RunStore, model: str, config: dict, tv: list[float], image_value: int = 0) -> str:
    run_id = store.create_run(model, config, total_steps=len(tv) * 10)
    for i, v in enumerate(tv, start=1):
        store.log_metrics(run_id, [(i * 10, "tv_distance", v), (i * 10, "coverage", 0.5), (i * 10, "loss_g", 1.0)],
                          step=i * 10)
        store.put_sample(run_id, i * 10, "grid", np.full((8, 8, 3), image_value + i, np.uint8))
    store.update(run_id, status="finished")
    return run_id


@pytest.fixture
def no_processes(monkeypatch):
    """Runs started here are recorded and stay queued: no training process is spawned."""
    started = []
    monkeypatch.setattr(launcher, "_spawn", lambda cmd, store, run_id: started.append(cmd) or 0)
    return started


def test_run_ids_from_a_link():
    assert compare.parse_run_ids(" a, b,,a ,c") == ["a", "b", "c"]
    assert compare.parse_run_ids(None) == [] and compare.parse_run_ids("") == []


def test_the_settings_diff_has_only_what_differs(tmp_path):
    store = RunStore(tmp_path)
    a = made_run(store, "gan", {"lr": 2e-4, "seed": 0, "image_size": 32, "checkpoint_seconds": 30}, [0.1])
    b = made_run(store, "wgan-gp", {"lr": 2e-4, "seed": 0, "image_size": 32, "n_critic": 2,
                                    "checkpoint_seconds": 10}, [0.1])
    runs, unknown = compare.known_runs(store, [b, "nope", a])
    assert [r.id for r in runs] == [b, a] and unknown == ["nope"]
    diff = compare.settings_diff(runs)
    assert diff == {"model": ["wgan-gp", "gan"], "n_critic": [2, None]}
    assert compare.settings_diff([runs[0], runs[0]]) == {}


def test_curves_by_step_and_wall_time_and_the_final_measures(tmp_path):
    store = RunStore(tmp_path)
    a = made_run(store, "gan", {}, [0.3, 0.2, 0.1])
    run = store.get(a)
    curves = compare.curves(store, run, ["tv_distance", "missing"])
    steps, values, seconds = curves["tv_distance"]
    assert steps == [10, 20, 30] and values == [0.3, 0.2, 0.1]
    assert seconds[0] == 0.0 and seconds == sorted(seconds)
    assert compare.final_measures(store, [run]) == {"tv_distance": [0.1], "coverage": [0.5]}
    assert compare.logged_names(store, [run])[:2] == ["tv_distance", "coverage"]


def test_the_race_starts_the_three_losses_from_one_seed_data_and_size(tmp_path, no_processes):
    store = RunStore(tmp_path)
    ids = compare.start_race(store, 32, 7, "rendered", 500, max_seconds=60)
    runs = [store.get(i) for i in ids]
    assert [r.model for r in runs] == list(compare.RACE) and len(no_processes) == 3
    for r in runs:
        assert (r.config["seed"], r.config["image_size"], r.config["data"], r.config["n_images"]) == (7, 32, "rendered", 500)
        assert r.max_seconds == 60
    assert runs[1].config["n_critic"] == 2          # each with its page's recipe
    assert compare.race_summary(store, runs) is None      # nothing measured yet


def test_the_race_summary_reads_each_runs_class_mix(tmp_path):
    store = RunStore(tmp_path)
    ids = [made_run(store, m, {}, tv) for m, tv in zip(compare.RACE, ([0.1, 0.4, 0.6], [0.2, 0.1, 0.1], [0.3, 0.2]))]
    summary = compare.race_summary(store, [store.get(i) for i in ids])
    assert summary["gan_mean"] == "0.50" and summary["gan_max"] == "0.60" and summary["gan_n"] == "3"
    assert summary["wgan_gp_mean"] == "0.10" and summary["wgan_div_mean"] == "0.20"


def test_the_compare_page_opens_from_a_link_with_both_runs(home):
    store = RunStore(home)
    a = made_run(store, "gan", {"lr": 2e-4, "seed": 0}, [0.3, 0.2], image_value=0)
    b = made_run(store, "wgan-gp", {"lr": 1e-4, "seed": 0}, [0.2, 0.1], image_value=100)
    at = AppTest.from_file("../pages/compare.py", default_timeout=120)
    at.query_params["runs"] = f"{a},{b}"
    at.run()
    assert not at.exception
    assert at.multiselect(key="compare_runs").value == [a, b]
    captions = [c for im in at.get("image") for c in im.captions]
    assert captions == ["step 20", "step 20"]
    titles = {m.value for m in at.markdown}
    assert f"**{a} (GAN)**" in titles and f"**{b} (WGAN-GP)**" in titles
    settings = next(d.value for d in at.dataframe if "setting" in d.value.columns)
    assert list(settings["setting"]) == ["model", "lr"]
    at.select_slider(key="compare_step").set_value(10).run()
    assert [c for im in at.get("image") for c in im.captions] == ["step 10", "step 10"]
    at.toggle(key="compare_by_time").set_value(True).run()
    assert not at.exception
    # a link naming a run this store lacks says so, and one run is not yet a comparison
    at = AppTest.from_file("../pages/compare.py", default_timeout=120)
    at.query_params["runs"] = f"{a},gone-0101"
    at.run()
    assert any("gone-0101" in w.value for w in at.warning)
    assert any("Pick at least two runs" in i.value for i in at.info)


def test_the_race_button_on_a_gan_page_opens_the_comparison(home, shipped, no_processes, monkeypatch):
    import streamlit as st
    opened = []
    monkeypatch.setattr(st, "switch_page", lambda page, query_params=None: opened.append((page, query_params)))
    at = AppTest.from_file("../pages/wgan_gp.py", default_timeout=120).run()
    at.button(key="wgan-gp_race").click().run()
    assert not at.exception
    runs = RunStore(home).list()
    assert sorted(r.model for r in runs) == sorted(compare.RACE) and len(no_processes) == 3
    assert {r.config["image_size"] for r in runs} == {32} and {r.max_seconds for r in runs} == {300}
    (page, query), = opened
    assert page == "pages/compare.py" and sorted(compare.parse_run_ids(query["runs"])) == sorted(r.id for r in runs)
    # the Compare page's own button starts a race and shows it
    at = AppTest.from_file("../pages/compare.py", default_timeout=120).run()
    at.button(key="race_start").click().run()
    assert not at.exception
    assert len(RunStore(home).list()) == 6 and len(at.multiselect(key="compare_runs").value) == 3
    assert any("waits in the queue" in c.value or "queued" in c.value for c in at.caption)
