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


def test_a_chosen_set_falls_back_to_rendered_when_it_is_gone(home):
    assert datasets.existing_set(home, None) == "rendered"
    assert datasets.existing_set(home, "deleted-set") == "rendered"
    name, _ = datasets.import_upload(home, "mine.zip", small_zip())
    assert datasets.existing_set(home, name) == name


def test_cli_trains_on_a_named_set_and_refuses_an_unknown_one(home):
    name, _ = datasets.import_upload(home, "mine.zip", small_zip())
    r = run_cli("train", "gan", "--data", name, "--image-size", "32", "--ngf", "8", "--ndf", "8",
                "--batch-size", "4", "--steps", "2", "--eval-every", "100", "--run-id", "g1", home=home)
    assert r.returncode == 0 and "finished at step 2" in r.stdout, r.stderr
    assert RunStore(home).get("g1").config["data"] == name
    r = run_cli("train", "gan", "--data", "nope", "--steps", "1", "--run-id", "g2", home=home)
    assert r.returncode == 1 and "no galaxy set named 'nope'" in r.stdout + r.stderr


def test_pages_say_which_set_new_runs_train_on_and_a_choice_is_the_sessions_own(home):
    """Issue 19: importing a set on the Datasets page made it every session's active set."""
    name, _ = datasets.import_upload(home, "mine.zip", small_zip())
    store = RunStore(home)
    mine = AppTest.from_file("../pages/datasets.py", default_timeout=180).run()
    mine.selectbox(key="galaxy_set").select(name).run()
    mine.button(key="activate").click().run()
    assert not mine.exception
    assert any(f"train on '{name}'" in c.value for c in mine.caption)
    chosen = mine.session_state["_training_set"]
    assert chosen == name
    for page, key in (("gan", "gan_training_set"), ("vae", "vae_training_set")):
        same = AppTest.from_file(f"../pages/{page}.py", default_timeout=60)
        same.session_state["_training_set"] = chosen                      # this session, on another page
        same.run()
        assert not same.exception and same.selectbox(key=key).value == name
        other = AppTest.from_file(f"../pages/{page}.py", default_timeout=60).run()     # another session
        assert not other.exception and other.selectbox(key=key).value == "rendered"
        assert f"imported set '{name}'" in other.selectbox(key=key).options     # imported sets are listed for all
    assert store.get_setting("active_galaxy_set") is None                # nothing global was set


def test_right_after_an_import_the_page_says_one_thing(home):
    """Issue 19: after an import the page said both "'rendered' is the active set" and "it is now the active set"."""
    at = AppTest.from_file("../pages/datasets.py", default_timeout=180).run()
    at.file_uploader(key="galaxy_upload").set_value(("mine.zip", small_zip(), "application/zip")).run()
    at.button(key="import").click().run()
    assert not at.exception
    said = [m.value for m in [*at.success, *at.caption]]
    assert any("Imported 9 images as 'mine'" in t for t in said)
    assert at.selectbox(key="galaxy_set").value == "mine"
    assert not any("'rendered'" in t for t in said), said
