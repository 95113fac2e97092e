"""The active galaxy set (chosen or imported on the Datasets page) is what the VAE and the
GANs train on: through the settings, the CLI's --data and the pages."""
import torch
from streamlit.testing.v1 import AppTest

from autoenc.data import datasets
from autoenc.runs.store import RunStore
from autoenc.train import gan, vae
from autoenc.train.task import config_from_dict
from tests.conftest import run_cli
from tests.test_datasets_page import small_zip

CPU = torch.device("cpu")


def test_training_set_is_rendered_or_an_imported_subset(home):
    assert len(datasets.training_set("rendered", 30, 32, 0)) == 30
    name, _ = datasets.import_upload(home, "mine.zip", small_zip())   # 9 images, 3 per class
    gs = datasets.training_set(name, 100, 32, 0)
    assert gs.images.shape == (9, 32, 32, 3) and sorted(gs.labels.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    sub = datasets.training_set(name, 5, 32, 0)
    assert len(sub) == 5 and (datasets.training_set(name, 5, 32, 0).images == sub.images).all()


def test_gan_and_vae_tasks_train_on_the_imported_set(home):
    name, imported = datasets.import_upload(home, "mine.zip", small_zip())
    cfg = config_from_dict(gan.ACGANConfig, {"image_size": 32, "ngf": 8, "ndf": 8, "data": name})
    task = gan.ACGANTask(cfg, CPU)
    assert task.images.shape == (9, 3, 32, 32)
    assert sorted(task.labels.tolist()) == sorted(imported.labels.tolist())
    vcfg = config_from_dict(vae.VAEConfig, {"image_size": 32, "data": name})
    assert vae.VAETask(vcfg, CPU).images.shape == (9, 3, 32, 32)


def test_active_set_falls_back_to_rendered_when_it_is_gone(home):
    store = RunStore(home)
    assert datasets.active_set(store) == "rendered"
    store.set_setting(datasets.ACTIVE_SETTING, "deleted-set")
    assert datasets.active_set(store) == "rendered"


def test_cli_trains_on_a_named_set_and_refuses_an_unknown_one(home):
    name, _ = datasets.import_upload(home, "mine.zip", small_zip())
    r = run_cli("train", "gan", "--data", name, "--image-size", "32", "--ngf", "8", "--ndf", "8",
                "--batch-size", "4", "--steps", "2", "--eval-every", "100", "--run-id", "g1", home=home)
    assert r.returncode == 0 and "finished at step 2" in r.stdout, r.stderr
    assert RunStore(home).get("g1").config["data"] == name
    r = run_cli("train", "gan", "--data", "nope", "--steps", "1", "--run-id", "g2", home=home)
    assert r.returncode == 1 and "no galaxy set named 'nope'" in r.stdout + r.stderr


def test_pages_say_which_set_new_runs_train_on(home):
    name, _ = datasets.import_upload(home, "mine.zip", small_zip())
    RunStore(home).set_setting(datasets.ACTIVE_SETTING, name)
    for page in ("../pages/gan.py", "../pages/vae.py"):
        at = AppTest.from_file(page, default_timeout=60).run()
        assert not at.exception
        assert any(f"the imported set '{name}'" in c.value for c in at.caption), page
