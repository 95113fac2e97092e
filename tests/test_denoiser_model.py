"""Denoiser network and its Task: shapes, the bottleneck, a short training run, checkpoint
round trips, inference in physical units and the fixed held-out set."""
import numpy as np
import pytest
import torch

from autoenc.data import heldout, radio
from autoenc.errors import UserError
from autoenc.inference import denoiser as infer
from autoenc.models import count_parameters
from autoenc.models.denoiser import Denoiser
from autoenc.runs.checkpoint import save_checkpoint
from autoenc.train import denoiser as dn
from autoenc.train.task import config_from_dict, config_to_dict
from autoenc.trained import load_trained


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny convolutions on a shared 2-core machine run fastest on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TINY = {"n_train": 256, "n_val": 40, "steps": 30, "noise": "uniform"}


def tiny_task(seed=0, **settings):
    torch.manual_seed(seed)
    cfg = config_from_dict(dn.DenoiserConfig, {**TINY, "seed": seed, **settings})
    return dn.DenoiserTask(cfg, torch.device("cpu"))


def test_shapes_and_bottleneck():
    model = Denoiser()
    x = torch.rand(4, 500)
    out = model(x)
    assert out.shape == (4, 500) and ((out > 0) & (out < 1)).all()
    assert model(x[:, None, :]).shape == (4, 1, 500)
    assert model.encode(x).shape == (4, 16, 31)                  # 496 numbers per trace
    assert 20_000 < count_parameters(model) < 35_000
    wide = Denoiser(width=64)
    assert wide.encode(x).shape == (4, 16, 31) and wide(x).shape == (4, 500)


def test_calibrate_sets_scale_and_unit_input_rms():
    d = radio.simulate(300, "galactic", seed=1)
    model = Denoiser()
    model.calibrate(d.noisy)
    assert float(model.scale) == pytest.approx(radio.unit_scale(d.noisy))
    u = torch.from_numpy(radio.to_unit(d.noisy, float(model.scale)))
    assert float(((u - 0.5) * model.input_gain).std()) == pytest.approx(1.0, rel=1e-3)


def test_task_trains_and_the_loss_goes_down():
    assert dn.DenoiserTask.name == "denoiser" and list(dn.DenoiserTask.chart_metrics) == ["loss", "val_loss"]
    task = tiny_task()
    before = task.validate(0)["val_loss"]
    losses = [task.train_step(step)["loss"] for step in range(1, 31)]
    assert np.isfinite(losses).all()
    # On the fixed validation traces: per-batch losses swing with each batch's SNR mix.
    # (30 steps is mostly the plateau before the net resolves the pulse's phase: a small drop.)
    assert task.validate(30)["val_loss"] < before
    val = task.validate(30)
    assert set(val) == {"val_loss", "val_peak_accuracy", "val_snr_gain_db"}
    snap = task.snapshot(30)["val_traces"]
    assert snap.shape == (3, 3, 500) and snap.dtype == np.float32
    np.testing.assert_allclose(np.median(snap[:, 1], axis=1), 0.0, atol=1e-2)  # clean rows (µV): the baseline
    assert task.steps_per_epoch == 8


def test_fixed_training_set_mode_and_resumable_batches():
    task = tiny_task(fresh_data=False)
    assert task.train_set is not None and len(task.train_set) == 256
    x1, _ = task._batch(5)
    x2, _ = task._batch(5)
    torch.testing.assert_close(x1, x2)  # batches are a function of (seed, step)


def test_state_tensors_round_trip(tmp_path):
    a = tiny_task(seed=1)
    for step in range(1, 6):
        a.train_step(step)
    tensors = a.state_tensors()
    assert {"extra.scale", "model.denoiser.scale", "model.denoiser.input_gain"} <= set(tensors)
    assert any(k.startswith("optim.adam.") for k in tensors)

    b = tiny_task(seed=2, n_train=300)  # another seed and set: another scale until loaded
    assert float(b.model.scale) != float(a.model.scale)
    b.load_state_tensors(tensors)
    assert float(b.model.scale) == float(a.model.scale)
    torch.testing.assert_close(b.model(a.val_x), a.model(a.val_x))
    # Both continue identically: same optimiser state, same next batch.
    b.config = a.config
    assert b.train_step(6)["loss"] == pytest.approx(a.train_step(6)["loss"])

    # A checkpoint file alone rebuilds a model that denoises physical traces.
    path = tmp_path / "d.safetensors"
    meta = {"model": "denoiser", "config": config_to_dict(a.config), "step": 6}
    save_checkpoint(path, a.state_tensors(with_optimizer=False), meta)
    loaded = load_trained(path, "denoiser").modules["denoiser"]
    noisy = a.val.noisy[:5]
    np.testing.assert_allclose(infer.denoise(loaded, noisy), infer.denoise(a.model, noisy), rtol=1e-5, atol=1e-3)


def test_denoise_keeps_shape_and_units():
    task = tiny_task()
    one = task.val.noisy[0]
    out = infer.denoise(task.model, one)
    assert out.shape == (500,) and out.dtype == np.float32
    # An untrained net outputs ~0.5, i.e. ~0 microvolts, never the [0, 1] value itself.
    assert np.abs(out).max() < 0.6 * float(task.model.scale)


@pytest.mark.parametrize("settings, message", [
    ({"snr_min": 10, "snr_max": 2}, "snr_min"),
    ({"kernel": 4}, "odd"),
    ({"seed": heldout.RADIO_SEED}, "reserved"),
    ({"noise": "pink"}, "noise must be one of"),
])
def test_bad_settings_are_user_errors(settings, message):
    with pytest.raises(UserError, match=message):
        config_from_dict(dn.DenoiserConfig, settings)


def test_heldout_set_is_fixed_and_evaluate_reports():
    d = heldout.radio("cosine")
    assert len(d) == 2000 and d.snr.min() >= 2 and d.snr.max() <= 20 and (d.snr > 0).all()
    assert heldout.radio("cosine") is d and not d.noisy.flags.writeable
    assert not np.array_equal(d.noisy[:10], heldout.radio("uniform").noisy[:10])
    model = Denoiser(width=4)  # the held-out set is fixed; a narrow net keeps this test fast
    model.calibrate(d.noisy)
    result = infer.evaluate(model, "uniform")
    assert set(result) == {"peak_accuracy", "snr_gain_db", "n"} and result["n"] == 2000
    bins = infer.evaluate_bins(model, "uniform")
    assert [b["n"] for b in bins] and sum(b["n"] for b in bins) == 2000
    rep = infer.report(model, radio.simulate(30, "uniform", noise_only_fraction=0.2, seed=3), rescale=True)
    assert len(rep["examples"]) == 3 and all(e["output"].shape == (500,) for e in rep["examples"])
    assert {"spectrum_noisy", "spectrum_clean", "spectrum_output", "bins"} <= set(rep) and "data" not in rep


def test_pretrain_plan_covers_every_noise():
    plan = dn.DenoiserTask.pretrain_plan()
    assert [p.file for p in plan] == [dn.shipped_file(n) for n in radio.TRAINING_NOISES]
    for item in plan:
        config_from_dict(dn.DenoiserConfig, item.settings)
