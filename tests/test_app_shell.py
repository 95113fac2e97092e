"""AppTest of the home and Runs pages (one script run each; no browser)."""
import time

from streamlit.testing.v1 import AppTest

from autoenc.registry import MODELS
from autoenc.runs.store import RunStore


def test_home_shows_a_card_per_model_and_runs(home):
    store = RunStore(home)
    rid = store.create_run("denoiser", {"noise": "uniform"}, total_steps=100)
    store.update(rid, status="finished", step=100)
    at = AppTest.from_file("../app.py", default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "autoenc"
    cards = [m.value[5:] for m in at.markdown if m.value.startswith("#### ") and "\n" not in m.value]
    assert sorted(cards) == sorted(spec.title for spec in MODELS.values())
    captions = [c.value for c in at.caption]
    # every model that ships checkpoints says how many of them are there (all of them, in the repo)
    shipping = {name: len(spec.task_class().shipped_files()) for name, spec in MODELS.items()}
    assert sum("pretrained checkpoints" in c for c in captions) == sum(1 for n in shipping.values() if n)
    for n in shipping.values():
        if n:
            assert any(f"pretrained checkpoints: {n} of {n}" in c for c in captions)
    assert "Runs: 0 training, 0 queued, 1 in all" in [link.proto.label for link in at.get("page_link")]


def test_runs_page_lists_runs_and_errors(home):
    store = RunStore(home)
    ok = store.create_run("denoiser", {"noise": "uniform"}, run_id="good", total_steps=50)
    store.update(ok, status="finished", step=50, started=time.time() - 10, ended=time.time())
    bad = store.create_run("denoiser", {"noise": "cosine"}, run_id="bad", total_steps=50)
    store.update(bad, status="failed", step=3, error="loss became nan at step 4: training diverged")
    at = AppTest.from_file("../pages/runs.py", default_timeout=30).run()
    assert not at.exception
    df = at.dataframe[0].value
    assert set(df["run"]) == {"good", "bad"}
    assert dict(zip(df["run"], df["status"])) == {"good": "finished", "bad": "failed"}
    at.selectbox(key="run_choice").select("bad").run()
    assert any("diverged" in e.value for e in at.error)


def test_runs_page_empty_store(home):
    at = AppTest.from_file("../pages/runs.py", default_timeout=30).run()
    assert not at.exception
    assert "No runs yet" in at.info[0].value


def test_runs_page_sets_the_concurrency_limit(home):
    at = AppTest.from_file("../pages/runs.py", default_timeout=30).run()
    at.number_input(key="max_concurrent").set_value(2).run()
    assert not at.exception
    assert RunStore(home).max_concurrent() == 2


def test_runs_page_marks_dead_process_interrupted(home):
    store = RunStore(home)
    rid = store.create_run("denoiser", {}, run_id="dead", total_steps=50)
    store.update(rid, status="running", pid=2**22 + 4321, heartbeat=time.time(), step=7, checkpoint_step=5)
    at = AppTest.from_file("../pages/runs.py", default_timeout=30).run()
    assert not at.exception
    assert dict(zip(at.dataframe[0].value["run"], at.dataframe[0].value["status"])) == {"dead": "interrupted"}
    assert any("Resume continues from its checkpoint at step 5" in w.value for w in at.warning)


def test_a_missing_page_file_stops_the_app_with_its_name(home, monkeypatch):
    from autoenc import registry
    spec = registry.ModelSpec("lost", "Lost", "a model whose page file is gone", "autoenc.train.gan:GANTask",
                              "pages/lost.py")
    monkeypatch.setitem(registry.MODELS, "lost", spec)
    at = AppTest.from_file("../app.py", default_timeout=30).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Page file(s) missing: pages/lost.py. Restore them, or remove their "
                                           "entry from autoenc/registry.py."]
