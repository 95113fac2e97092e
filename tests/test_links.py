"""Lesson links (issue 24): every page's view round-trips through its URL. A page opened with a
query shows the view it names, and every widget of that view is bound to the query parameter
of its key (so the browser writes it back as the student changes it: Streamlit's
bind="query-params"); ?hide= and ?present= hide parts of a page.

tests/test_browser_links.py does the whole round trip in Chromium: change the widgets, copy the
link, open it in a new browser, see the same image."""
import pytest
from streamlit.testing.v1 import AppTest

from autoenc.runs.store import RunStore
from pages.ui.views import DatasetsView, DenoiserView, GANView, MAEView, VAEView
from tests.test_history_pages import STEPS, gan_run_with_history


@pytest.fixture(autouse=True)
def no_page_switch(monkeypatch):
    import streamlit as st
    monkeypatch.setattr(st, "switch_page", lambda *a, **k: None)


def opened(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(f"../pages/{page}.py", default_timeout=240)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def bound_keys(at: AppTest) -> set[str]:
    """The keys of the page's widgets and sections that are bound to the URL."""
    out = set()

    def walk(node):
        key = getattr(getattr(node, "proto", None), "query_param_key", "")     # widgets and expanders alike
        if key:
            out.add(key)
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at._tree)
    return out


def expander_open(at: AppTest, label: str) -> bool:
    return next(e.proto.expanded for e in at.expander if e.label == label)


def test_the_denoiser_view_comes_from_its_link(home):
    query = {"noise": "uniform", "snr": ["3", "12.5"], "zoom": "false", "try_this": "false", "train_settings": "true",
             "own_traces": "true"}
    at = opened("denoiser", query)
    assert not at.exception
    assert at.radio(key="noise").value == "uniform"
    assert at.slider(key="snr").value == (3.0, 12.5)
    assert at.toggle(key="zoom").value is False
    assert not expander_open(at, "Try this") and expander_open(at, "Training settings")
    assert expander_open(at, "Try the model on your own traces (radio_data.npz)")
    assert set(query) <= bound_keys(at)
    # the example traces were drawn for the link's SNR range
    assert any("uniform · SNR" in m.value for m in at.markdown)


def test_the_denoiser_run_and_history_step_come_from_the_link(home, shipped):
    from autoenc.runs.worker import execute
    run_id, _ = execute(RunStore(home), "denoiser", {"steps": 6, "eval_every": 2, "n_train": 64, "n_val": 20,
                                                     "snapshot_seconds": 0.1, "batch_size": 8}, threads=1)
    steps = [s for s, _ in RunStore(home).sample_history(run_id, "val_traces")]
    at = opened("denoiser", {"denoiser_galactic_run": run_id, "denoiser_galactic_history_step": str(steps[0])})
    assert not at.exception
    assert at.selectbox(key="denoiser_galactic_run").value == run_id
    assert at.select_slider(key="denoiser_galactic_history_step").value == steps[0]
    assert any(m.value == f"**step {steps[0]:,}: example 1**" for m in at.markdown)
    assert {"denoiser_galactic_run", "denoiser_galactic_history_step", "denoiser_source_galactic"} <= bound_keys(at)


def test_the_vae_view_comes_from_its_link(home):
    query = {"interp_a": "3", "interp_b": "9", "interp_t": "0.8", "sample_seed": "42", "temperature": "0.7",
             "fitted": "false", "try_this": "false"}
    at = opened("vae", query)
    assert not at.exception
    assert (at.selectbox(key="interp_a").value, at.selectbox(key="interp_b").value) == (3, 9)
    assert at.slider(key="interp_t").value == 0.8
    assert at.number_input(key="sample_seed").value == 42 and at.slider(key="temperature").value == 0.7
    assert at.toggle(key="fitted").value is False
    captions = [c for im in at.get("image") for c in im.captions]
    assert "decoded at t = 0.80" in captions
    assert set(query) | {"arch", "size", "beta", "vae_source"} <= bound_keys(at)


@pytest.mark.parametrize("page,model", [("gan", "gan"), ("acgan", "acgan"), ("wgan_gp", "wgan-gp"),
                                        ("wgan_div", "wgan-div")])
def test_a_gan_pages_view_comes_from_its_link(home, page, model):
    query = {f"{model}_sample_seed": "7", "try_this": "false"}
    if model == "acgan":
        query[f"{model}_class"] = "elliptical"
    at = opened(page, query)
    assert not at.exception
    assert at.number_input(key=f"{model}_sample_seed").value == 7
    captions = [c for im in at.get("image") for c in im.captions]
    assert any(c.endswith("seed 7") for c in captions)
    if model == "acgan":
        assert at.radio(key="acgan_class").value == 1
        assert any(m.value.startswith("**elliptical**") for m in at.markdown)
    assert set(query) | {f"{model}_source"} <= bound_keys(at)


def test_the_gan_run_and_its_history_step_come_from_the_link(home, shipped):
    run_id = gan_run_with_history(home)
    at = opened("gan", {"gan_run": run_id, "gan_history_step": str(STEPS[0])})
    assert not at.exception
    assert at.select_slider(key="gan_history_step").value == STEPS[0]
    assert any(c.startswith(f"Step {STEPS[0]}:") for im in at.get("image") for c in im.captions)


def test_the_datasets_view_comes_from_its_link(home):
    query = {"galaxy_size": "32", "galaxy_class": "spiral", "own_set": "true"}
    at = opened("datasets", query)
    assert not at.exception
    assert at.selectbox(key="galaxy_size").value == 32
    assert any("spiral images" in c for im in at.get("image") for c in im.captions)
    assert set(query) | {"galaxy_set"} <= bound_keys(at)


def test_the_runs_and_compare_views_come_from_their_links(home):
    a, b = gan_run_with_history(home), gan_run_with_history(home)
    at = opened("runs", {"run_choice": a})
    assert not at.exception and at.selectbox(key="run_choice").value == a
    assert "run_choice" in bound_keys(at)
    at = opened("compare", {"runs": f"{a},{b}", "compare_by_time": "true", "compare_step": "20"})
    assert not at.exception and at.multiselect(key="compare_runs").value == [a, b]
    assert at.toggle(key="compare_by_time").value is True and at.select_slider(key="compare_step").value == 20
    assert {"compare_curves", "compare_by_time", "compare_step"} <= bound_keys(at)


def test_hide_and_present_hide_the_parts_they_name(home):
    at = opened("denoiser", {"hide": "train,tips", "present": "1"})
    assert not at.exception
    css = " ".join(h.proto.body for h in at.get("html"))
    for part in ("train", "tips", "settings"):          # presenter mode hides the settings
        assert f'[class*="st-key-part-{part}-"] {{ display: none; }}' in css
    assert "html { font-size: 20px; }" in css
    assert '[class*="st-key-part-upload-"]' not in css
    at = opened("gan", {"hide": "train,wings"})
    assert [w.value for w in at.warning if "wings" in w.value]          # a wrong name is said, not ignored
    assert not at.exception
    # without a link's parameters no part is hidden
    at = opened("vae", {})
    assert "st-key-part-" not in " ".join(h.proto.body for h in at.get("html"))


@pytest.mark.parametrize("page,view", [("denoiser", DenoiserView()), ("vae", VAEView()), ("datasets", DatasetsView()),
                                       ("acgan", GANView(prefix="acgan_")), ("mae", MAEView())])
def test_each_pages_view_object_names_its_bound_widgets_and_their_defaults(home, page, view):
    at = opened(page, {})
    assert not at.exception
    assert set(view.keys()) <= bound_keys(at)
    by_key = {w.key: w for kind in ("radio", "slider", "toggle", "selectbox", "number_input") for w in getattr(at, kind)
              if w.key}
    for key, default in view.defaults().items():
        if key in by_key:
            assert by_key[key].value == default, key
