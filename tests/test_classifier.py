"""The galaxy classifier: a few training steps, and the eval command's JSON contract."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from autoenc.data.galaxies import render
from autoenc.data.galaxy_loaders import load_galaxy_file
from autoenc.inference.classifier import evaluate
from autoenc.metrics.judge import load_judge_classifier as load_classifier
from autoenc.train.classifier import ClassifierConfig, ClassifierTask
from tests.conftest import SHARED_DATA, run_cli


def test_a_few_steps_lower_the_loss(monkeypatch, tmp_path):
    monkeypatch.setattr("autoenc.paths.CACHE_DIR", tmp_path)
    torch.manual_seed(0)
    task = ClassifierTask(ClassifierConfig(image_size=32, n_images=60, steps=40, batch_size=30, lr=3e-3,
                                           width=8), torch.device("cpu"))
    first = [task.train_step(s)["loss"] for s in range(1, 6)]
    for s in range(6, 36):
        task.train_step(s)
    last = [task.train_step(s)["loss"] for s in range(36, 41)]
    assert sum(last) < sum(first)
    # validation is the share of held-out images the model puts in their class, in eval mode
    task.model.eval()
    with torch.no_grad():
        right = (task.model(task.val_x).argmax(1) == task.val_y).float().mean().item()
    task.model.train()
    assert task.validate(40)["val_accuracy"] == pytest.approx(right)
    assert task.model.training


def test_eval_json_contract_on_rendered_heldout(home):
    r = run_cli("eval", "classifier", "--json", home=home, timeout=400)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"accuracy", "balanced_accuracy", "per_class", "n"}
    assert out["n"] == 600 and set(out["per_class"]) == {"barred spiral", "elliptical", "spiral"}
    assert out["balanced_accuracy"] == pytest.approx(sum(out["per_class"].values()) / 3)
    # the shipped judge of the GAN pages: it must tell the classes apart on renders (0.99)
    assert out["accuracy"] >= 0.9


def test_eval_on_the_real_galaxy_zoo_examples():
    real = SHARED_DATA / "galaxy_zoo_examples_128.npz"
    if not real.exists():
        pytest.skip("shared real examples not present")
    model = load_classifier()
    out = evaluate(model, load_galaxy_file(real, size=model.image_size))
    assert out["n"] == 132
    # the realism figure (issue 4 aims at 0.70): per-class recall averaged, as spirals are 2/3
    assert out["balanced_accuracy"] >= 0.70


def test_the_judge_keeps_its_classes_under_pixel_noise_and_blocky_resampling():
    # GAN samples carry pixel-scale mottling. Judges trained at 64 px on renderer version 3
    # called noisy ellipticals spirals (22 % kept at sigma 12/255; 6 % after a blocky 2x
    # resampling), so the WGAN files then shipped read as two thirds spirals. The 32 px judge
    # must not: each class keeps most of its renders under both.
    model = load_classifier()
    data = render(300, 64, 4242)
    rng = np.random.default_rng(0)
    noisy = np.clip(data.images + rng.normal(0, 12, data.images.shape), 0, 255).astype(np.uint8)
    blocky = data.images[:, ::2, ::2].repeat(2, axis=1).repeat(2, axis=2)
    for name, images in (("clean", data.images), ("noise", noisy), ("blocky", blocky)):
        recall = evaluate(model, dataclasses.replace(data, images=images))["per_class"]
        assert min(recall.values()) >= 0.85, (name, recall)
