"""Adding a model touches its model file, its Task file, one registry entry and its page, no
more (README: Layout). A tiny seventh model (tests/seventh/) is registered here, trained by
the training loop, evaluated by the CLI, shown on the home page and on its own page."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from autoenc import registry
from autoenc.__main__ import main
from autoenc.runs import launcher
from autoenc.runs.store import RunStore
from autoenc.runs.worker import execute

SPEC = registry.ModelSpec("tiny", "Tiny autoencoder", "Reconstructs 8-number vectors through a 2-number code.",
                          "tests.seventh.task:TinyTask", "tests/seventh/page.py")


@pytest.fixture
def tiny(monkeypatch, home):
    monkeypatch.setitem(registry.MODELS, "tiny", SPEC)            # the one registry entry
    return RunStore(home)


def test_the_seventh_model_trains_evaluates_and_shows(tiny, capsys):
    run_id, outcome = execute(tiny, "tiny", {"steps": 40, "eval_every": 20}, threads=1)
    assert outcome.status == "finished" and outcome.step == 40
    steps, losses = tiny.metric_series(run_id, "loss")
    assert steps[-1] == 40 and losses[-1] < losses[0] / 10        # it learnt the plane
    assert tiny.metric_series(run_id, "val_loss")[0].tolist() == [20, 40]

    checkpoint = str(tiny.checkpoint_path(run_id))
    assert main(["eval", "tiny", "--checkpoint", checkpoint, "--n", "32", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 32 and result["mse"] < losses[0] / 10
    assert main(["eval", "tiny", "--json"]) == 2                   # ships no checkpoint: one clear line
    assert "no checkpoint of tiny is shipped" in capsys.readouterr().err
    assert main(["pretrain", "tiny"]) == 2
    assert "nothing to pretrain" in capsys.readouterr().err

    home = AppTest.from_file("../app.py", default_timeout=30).run()
    assert not home.exception
    assert "#### Tiny autoencoder" in [m.value for m in home.markdown]
    assert "Open Tiny autoencoder" in [link.proto.label for link in home.get("page_link")]

    page = AppTest.from_file("seventh/page.py", default_timeout=30).run()
    assert not page.exception
    assert page.title[0].value == "Tiny autoencoder"
    assert page.selectbox(key="tiny_run").value == run_id
    assert page.get("plotly_chart")                                # the live chart of its losses
    assert page.radio(key="tiny_source").value == f"run {run_id} (step 40)"
    assert [m.value for m in page.metric] == ["2"]                 # its checkpoint, loaded


def test_train_on_the_page_starts_the_seventh_models_run_and_shows_it(tiny):
    page = AppTest.from_file("seventh/page.py", default_timeout=30).run()
    page.button(key="tiny_train").click().run()
    assert not page.exception
    (run,) = tiny.list(model="tiny")
    assert page.selectbox(key="tiny_run").value == run.id          # the run just started, shown at once
    launcher.delete_run(tiny, run.id)        # its process knows no "tiny" (registered in this one only)
