"""AppTest of the VAE page: without any checkpoint, and exploring a tiny trained run."""
import pytest
from streamlit.testing.v1 import AppTest

from autoenc.runs.store import RunStore
from autoenc.runs.worker import execute


@pytest.fixture
def tiny_run(home, monkeypatch):
    monkeypatch.setattr("autoenc.train.vae._pretrained_path", lambda: home / "absent.safetensors")
    store = RunStore(home)
    run_id, outcome = execute(store, "vae", {"arch": "conv", "image_size": 32, "n_images": 60, "steps": 4,
                                             "batch_size": 8, "eval_every": 2, "checkpoint_every": 2},
                              threads=1)
    assert outcome.status == "finished"
    return run_id


def test_vae_page_without_checkpoint(home, monkeypatch):
    monkeypatch.setattr("autoenc.train.vae._pretrained_path", lambda: home / "absent.safetensors")
    at = AppTest.from_file("../pages/vae.py", default_timeout=120).run()
    assert not at.exception
    assert any("No VAE checkpoint yet" in i.value for i in at.info)


def test_vae_page_explores_a_run(tiny_run):
    at = AppTest.from_file("../pages/vae.py", default_timeout=240).run()
    assert not at.exception
    at.toggle(key="use_run").set_value(True).run()
    assert not at.exception
    captions = [i.proto.imgs[0].caption for i in at.get("image")]
    assert any("reconstructions" in c for c in captions)
    # every grid can be saved as a PNG, the walk as a GIF
    downloads = [d.proto for d in at.get("download_button")]
    assert sorted(d.label for d in downloads) == ["Download PNG"] * 5 + ["Download the walk as an animated GIF"]
    before = [i.proto.imgs[0].url for i in at.get("image")]
    at.slider(key="interp_t").set_value(1.0).run()
    assert not at.exception
    assert any("decoded at t = 1.00" in i.proto.imgs[0].caption for i in at.get("image"))
    # the same image at both ends: a clear message, no traceback
    at.selectbox(key="interp_b").set_value(0).run()
    assert not at.exception
    assert any("same image" in e.value for e in at.error)
    assert before
