"""AppTest of the VAE page: without any checkpoint, and exploring a tiny trained run."""
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from autoenc.runs.store import RunStore
from autoenc.runs.worker import execute


@pytest.fixture
def tiny_run(home, shipped):
    store = RunStore(home)
    run_id, outcome = execute(store, "vae", {"arch": "conv", "image_size": 32, "n_images": 60, "steps": 4,
                                             "batch_size": 8, "eval_every": 2, "checkpoint_every": 2},
                              threads=1)
    assert outcome.status == "finished"
    return run_id


def test_vae_page_without_checkpoint(home, shipped):
    at = AppTest.from_file("../pages/vae.py", default_timeout=120).run()
    assert not at.exception
    assert any("No VAE checkpoint yet" in i.value for i in at.info)


def test_vae_page_explores_a_run(tiny_run):
    at = AppTest.from_file("../pages/vae.py", default_timeout=240).run()
    assert not at.exception
    source = at.radio(key="vae_source")
    assert source.options == [f"run {tiny_run} (step 4)"]       # the shipped file is absent here
    assert source.value == f"run {tiny_run} (step 4)"
    assert not at.exception
    captions = [i.proto.imgs[0].caption for i in at.get("image")]
    assert any("reconstructions" in c for c in captions)
    # every grid can be saved as a PNG, the walk and the run's history as GIFs, the model as a bundle
    downloads = [d.proto for d in at.get("download_button")]
    assert sorted(d.label for d in downloads) == ["Download PNG"] * 5 + ["Download as a bundle",
                                                     "Download the walk as an animated GIF", "GIF"]
    def decoded():
        return next(i.proto.imgs[0] for i in at.get("image") if i.proto.imgs[0].caption.startswith("decoded at"))
    before = decoded()
    at.slider(key="interp_t").set_value(1.0).run()
    assert not at.exception
    after = decoded()
    assert after.caption == "decoded at t = 1.00" and after.url != before.url     # another point on the path
    # the same image at both ends: a clear message, no traceback
    at.selectbox(key="interp_b").set_value(0).run()
    assert not at.exception
    assert any("same image" in e.value for e in at.error)


def test_while_a_vae_run_trains_its_column_shows_its_logged_validation(home):
    """Beside the shipped VAE, a training run's checkpoint is described by the validation it
    logged at that step (per pixel and channel, as the held-out figures), not measured again."""
    import os
    import time
    store = RunStore(home)
    run_id, _ = execute(store, "vae", {"arch": "conv", "image_size": 32, "n_images": 60, "steps": 4, "batch_size": 8,
                                       "eval_every": 2, "checkpoint_every": 2}, threads=1)
    store.log_metrics(run_id, [(4, "val_recon", 3 * 32 * 32 * 2.5e-3), (4, "val_kl", 123.0),
                               (4, "val_active_dims", 7.0)])
    store.update(run_id, status="running", pid=os.getpid(), heartbeat=time.time())
    at = AppTest.from_file("../pages/vae.py", default_timeout=240).run()
    assert not at.exception
    table = at.dataframe[0].value
    column = table[f"run {run_id} (step 4)"]
    assert column["reconstruction error (MSE per pixel)"] == "2.50e-03"
    assert column["KL (nats)"] == "123" and column["dimensions in use"] == "7 of 50"
    assert column["measured on"] == "validation set (run still training)"
    store.update(run_id, status="stopped", pid=None)


def test_the_page_names_its_recipe_and_trains_the_paper_mlp_without_it(home, shipped):
    """The conv VAE trains with the page's recipe, which the page states from PAGE_RECIPE;
    the paper MLP, which needs large batches, keeps the config's defaults."""
    from autoenc.runs import launcher
    from autoenc.runs.page_defaults import PAGE_RECIPE
    from autoenc.train.vae import VAEConfig
    store = RunStore(home)
    at = AppTest.from_file("../pages/vae.py", default_timeout=120).run()
    recipe = PAGE_RECIPE["vae"]
    [caption] = [c.value for c in at.caption if "Train starts this page's recipe" in c.value]
    assert f"batches of {recipe['batch_size']} galaxies at a learning rate of {recipe['lr']:g}" in caption
    assert f"(the defaults: {VAEConfig.batch_size} and {VAEConfig.lr:g})" in caption
    assert f"noise of spread {np.exp(recipe['logvar_start'] / 2):.2g} to it" in caption
    at.selectbox(key="arch").set_value("paper").run()
    assert not [c for c in at.caption if "Train starts this page's recipe" in c.value]
    at.button(key="vae_train").click().run()
    assert not at.exception
    [run] = store.list(model="vae")
    try:
        assert run.config["arch"] == "paper"
        assert (run.config["batch_size"], run.config["lr"]) == (VAEConfig.batch_size, VAEConfig.lr)
        assert run.config["logvar_start"] == VAEConfig.logvar_start
    finally:
        launcher.delete_run(store, run.id)
