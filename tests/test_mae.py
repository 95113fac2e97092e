"""The masked autoencoder: patches, masking, that the encoder never sees a hidden patch, the
loss on hidden patches only, the baseline, the linear probe, and its Task end to end."""
import argparse

import numpy as np
import pytest
import torch

from autoenc.data import heldout
from autoenc.errors import UserError
from autoenc.inference import mae as I
from autoenc.metrics.probe import probe_accuracy, split_probe
from autoenc.models.mae import (
    MaskedAutoencoder,
    masked_loss,
    patch_targets,
    patchify,
    random_masking,
    sincos_positions,
    unpatchify,
)
from autoenc.runs.checkpoint import save_checkpoint
from autoenc.train import mae as T
from autoenc.train.task import config_from_dict, config_to_dict
from tests.test_vae import fake_galaxies


@pytest.fixture
def fake_data(monkeypatch):
    import autoenc.data.galaxies as galaxies
    monkeypatch.setattr(galaxies, "rendered_set", fake_galaxies)
    monkeypatch.setattr(heldout, "MAE_GALAXIES", heldout.HeldOutGalaxies(n=20, seed=heldout.MAE_GALAXIES.seed))
    monkeypatch.setattr(heldout, "PROBE_GALAXIES", heldout.HeldOutGalaxies(n=60, seed=heldout.PROBE_GALAXIES.seed))


def tiny(size=16, patch=4, **kw):
    torch.manual_seed(0)
    return MaskedAutoencoder(size, patch, dim=32, depth=1, heads=2, decoder_dim=16, decoder_depth=1, decoder_heads=2, **kw)


# ------------------------------------------------------------ patches and masks

def test_patchify_cuts_row_by_row_and_unpatchify_undoes_it():
    x = torch.rand(2, 3, 16, 16)
    p = patchify(x, 4)
    assert p.shape == (2, 16, 48)
    # patch 1 is the second from the left in the top row; its first numbers are pixel (0, 4)'s channels
    assert torch.equal(p[0, 1, :3], x[0, :, 0, 4])
    assert torch.equal(p[1, 4].reshape(4, 4, 3), x[1, :, 4:8, 0:4].permute(1, 2, 0))
    assert torch.equal(unpatchify(p, 4, 16), x)


def test_masking_hides_the_ratio_and_keep_is_what_is_not_hidden():
    keep, mask = random_masking(5, 64, 0.75, torch.Generator().manual_seed(1))
    assert keep.shape == (5, 16) and mask.shape == (5, 64)
    assert (mask.sum(1) == 48).all()
    for k, m in zip(keep, mask):
        assert sorted(k.tolist()) == k.tolist() and set(k.tolist()) == set(torch.nonzero(~m).flatten().tolist())
    assert not torch.equal(mask[0], mask[1])                     # a mask per image
    again = random_masking(5, 64, 0.75, torch.Generator().manual_seed(1))[1]
    assert torch.equal(mask, again)                              # the same for the same seed
    assert random_masking(1, 64, 0.999)[0].shape == (1, 1)       # one patch stays visible


def test_position_codes_differ_per_patch():
    pos = sincos_positions(32, 4)
    assert pos.shape == (16, 32)
    assert torch.cdist(pos, pos).add(torch.eye(16) * 9).min() > 0.1


def test_the_encoder_never_sees_a_hidden_patch():
    model = tiny().eval()
    x = torch.rand(3, 3, 16, 16)
    keep, mask = random_masking(3, model.n_patches, 0.75, torch.Generator().manual_seed(0))
    scrambled = patchify(x, 4)
    scrambled[mask] = torch.rand_like(scrambled[mask]) * 100      # anything at all in the hidden patches
    y = unpatchify(scrambled, 4, 16)
    with torch.no_grad():
        assert torch.equal(model.encode(x, keep), model.encode(y, keep))
        assert not torch.equal(model.encode(x), model.encode(y))  # with every patch it does see them


def test_the_loss_counts_the_hidden_patches_only():
    model = tiny()
    x = torch.rand(2, 3, 16, 16)
    keep, mask = random_masking(2, model.n_patches, 0.5, torch.Generator().manual_seed(0))
    pred = model.decode(model.encode(x, keep), keep)
    target = patch_targets(x, 4, normalise=False)
    loss = masked_loss(pred, target, mask)
    loss.backward()
    spoilt = pred.detach().clone()
    spoilt[~mask] += 5.0                                           # wrong everywhere visible
    assert torch.isclose(masked_loss(spoilt, target, mask), loss)
    expected = ((pred.detach() - target) ** 2).mean(-1)[mask].mean()
    assert torch.isclose(loss, expected)
    # the gradient reaching the prediction is zero at the visible patches
    pred2 = pred.detach().clone().requires_grad_()
    masked_loss(pred2, target, mask).backward()
    assert pred2.grad[~mask].abs().max() == 0 and pred2.grad[mask].abs().max() > 0


def test_normalised_targets_have_zero_mean_and_unit_spread_per_patch():
    t = patch_targets(torch.rand(2, 3, 16, 16) * 0.3 + 0.5, 4, normalise=True)
    assert t.mean(-1).abs().max() < 1e-5 and (t.var(-1) - 1).abs().max() < 1e-3


def test_the_baseline_fills_hidden_patches_with_the_visible_mean():
    target = torch.zeros(1, 4, 3)                # 4 one-pixel patches
    target[0, 0] = torch.tensor([0.2, 0.4, 0.6])
    target[0, 1] = torch.tensor([0.4, 0.6, 0.8])
    mask = torch.tensor([[False, False, True, True]])
    fill = I.visible_mean_fill(target, mask)
    assert torch.allclose(fill[0, 2], torch.tensor([0.3, 0.5, 0.7])) and torch.allclose(fill[0, 3], fill[0, 2])


# ------------------------------------------------------------ the probe

def test_the_probe_reads_separable_classes_and_not_noise():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 400)
    centres = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]])
    feats = centres[labels] + rng.normal(0, 0.5, (400, 4))
    assert split_probe(feats, labels) > 0.97
    noise = rng.normal(0, 1, (400, 4))
    assert split_probe(noise, labels) < 0.5
    with pytest.raises(UserError, match="two classes"):
        probe_accuracy(feats[:10], np.zeros(10), feats[10:20], labels[10:20])
    with pytest.raises(UserError, match="width"):
        probe_accuracy(feats, labels, feats[:, :2], labels)


# ------------------------------------------------------------ the Task, a checkpoint and its evaluation

def tiny_config(**kw):
    base = {"image_size": 32, "patch_size": 8, "dim": 32, "depth": 1, "heads": 2, "decoder_dim": 16,
            "decoder_depth": 1, "n_images": 48, "batch_size": 8, "steps": 30, "eval_every": 10}
    return config_from_dict(T.MAEConfig, {**base, **kw})


@pytest.mark.parametrize("values, message", [
    ({"patch_size": 5}, "one of"),
    ({"image_size": 64, "patch_size": 16, "heads": 3}, "divide by heads"),
    ({"data_seed": heldout.MAE_GALAXIES.seed}, "held-out"),
    ({"mask_ratio": 0.99}, "at most"),
])
def test_bad_settings_say_what_is_wrong(values, message):
    with pytest.raises(UserError, match=message):
        config_from_dict(T.MAEConfig, {"image_size": 32, **values})


def test_the_default_patch_gives_an_8_by_8_grid():
    assert T.MAEConfig(image_size=64).patch == 8 and T.MAEConfig(image_size=32).patch == 4


def test_the_task_learns_and_beats_the_baseline_on_toy_galaxies(fake_data):
    torch.manual_seed(0)
    task = T.MAETask(tiny_config(steps=150, lr=3e-3), torch.device("cpu"))
    first = task.validate(0)
    for step in range(150):
        logged = task.train_step(step)
        assert np.isfinite(logged["loss"])
    last = task.validate(150)
    assert last["val_masked_mse"] < 0.5 * first["val_masked_mse"]
    assert last["val_masked_mse"] < last["val_baseline_mse"]
    grid = task.snapshot(150)["recon_grid"]
    assert grid.dtype == np.uint8 and grid.shape[0] > 3 * 32      # three rows: masked, reconstruction, original


def test_a_checkpoint_evaluates_with_the_cli_s_figures(tmp_path, fake_data):
    cfg = tiny_config()
    modules = T.MAETask.build_modules(cfg)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, {f"model.mae.{k}": v for k, v in modules["mae"].state_dict().items()},
                    {"model": "mae", "config": config_to_dict(cfg), "step": 1})
    result = T.MAETask.evaluate_cli(argparse.Namespace(checkpoint=str(path), mask_ratio=0.75))
    assert set(result) == {"masked_mse", "baseline_mse", "probe_accuracy", "n"} and result["n"] == 20
    assert result["masked_mse"] > 0 and result["baseline_mse"] > 0 and 0 <= result["probe_accuracy"] <= 1
    with pytest.raises(UserError, match="mask-ratio"):
        T.MAETask.evaluate_cli(argparse.Namespace(checkpoint=str(path), mask_ratio=1.0))


def test_a_reconstruction_keeps_the_visible_patches_and_greys_the_hidden():
    model = tiny(size=32, patch=8).eval()
    images = (np.random.default_rng(0).random((2, 32, 32, 3)) * 255).astype(np.uint8)
    out = I.reconstruct(model, images, ratio=0.5, seed=3)
    visible = ~out.mask[0]
    tiles = lambda a: a[0].reshape(4, 8, 4, 8, 3).transpose(0, 2, 1, 3, 4).reshape(16, -1)   # noqa: E731
    assert (tiles(out.reconstruction)[visible] == tiles(images)[visible]).all()
    assert (tiles(out.masked)[~visible] == round(I.HIDDEN_GREY * 255)).all()
    assert out.error.shape == out.baseline.shape == (2,)
    mine, base = I.masked_errors(model, images, 0.5, seed=3)       # the evaluation's figures, on the same masks
    assert np.allclose(out.error, mine) and np.allclose(out.baseline, base)
    again = I.reconstruct(model, images, ratio=0.5, seed=3)
    assert (again.mask == out.mask).all()
    assert not (I.reconstruct(model, images, ratio=0.5, seed=4).mask == out.mask).all()
    with pytest.raises(UserError, match="32x32"):
        I.reconstruct(model, images[:, :16, :16])


def test_a_normalised_model_s_patches_are_given_back_their_own_mean_and_spread():
    model = tiny(size=32, patch=8).eval()
    images = (np.random.default_rng(1).random((2, 32, 32, 3)) * 255).astype(np.uint8)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    keep, _ = I.fixed_mask(model, 2, 0.5, 3)
    with torch.no_grad():
        raw = model.decode(model.encode(x, keep), keep)
        shown = I._predicted_pixels(model, x, keep, norm_pix=True)
        target = patchify(x, 8)
    # the normalised prediction, scaled by each patch's true spread and shifted by its true mean
    expected = raw * (target.var(-1, keepdim=True) + 1e-6).sqrt() + target.mean(-1, keepdim=True)
    assert torch.allclose(shown, expected)
    out = I.reconstruct(model, images, ratio=0.5, seed=3, norm_pix=True)
    assert out.reconstruction.dtype == np.uint8 and np.isfinite(out.error).all()
