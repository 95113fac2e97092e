"""VAE: shapes, the loss on hand-worked cases, a training smoke test, the page's helpers
and the errors a user can run into. Runs on tiny fake galaxy sets (no rendering)."""
import argparse
import io
import math

import numpy as np
import pytest
import torch

from autoenc.bench.vae import paper_dense_flops
from autoenc.data import heldout
from autoenc.data.galaxy_set import GalaxySet
from autoenc.errors import CheckpointError, UserError
from autoenc.images import image_grid, to_gif, to_png
from autoenc.inference import vae as V
from autoenc.models import count_parameters
from autoenc.models.vae import (
    ConvVAE,
    PaperVAE,
    active_dims,
    kl_divergence,
    kl_per_dimension,
    reconstruction_loss,
    vae_loss,
)
from autoenc.runs.checkpoint import save_checkpoint
from autoenc.train import vae as T
from autoenc.train.task import config_from_dict, config_to_dict

# ------------------------------------------------------------------------- fixtures

@pytest.fixture(autouse=True)
def one_thread():
    """On a shared 2-core machine two OpenMP threads that wait for each other make small
    convolutions 10x slower; these tests use tiny tensors, so one thread is fastest."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def fake_galaxies(n, size=64, seed=0, settings=None, cache_dir=None):
    """Stand-in for autoenc.data.galaxies.rendered_set: coloured Gaussian blobs of three
    shapes on a dark sky, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    width = np.array([0.08, 0.15, 0.25])[labels] * rng.uniform(0.8, 1.2, n)
    ecc = np.array([3.0, 1.0, 1.6])[labels]
    r2 = (xx[None] * ecc[:, None, None]) ** 2 + yy[None] ** 2
    blob = np.exp(-r2 / (2 * width[:, None, None] ** 2))
    colour = rng.uniform(0.4, 1.0, (n, 1, 1, 3))
    img = blob[..., None] * colour + rng.normal(0, 0.02, (n, size, size, 3))
    images = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    return GalaxySet(images=images, labels=labels.astype(np.int64))


@pytest.fixture
def fake_data(monkeypatch):
    import autoenc.data.galaxies as galaxies
    monkeypatch.setattr(galaxies, "rendered_set", fake_galaxies)
    monkeypatch.setattr(heldout, "VAE_GALAXIES", heldout.HeldOutGalaxies(n=24, seed=heldout.VAE_GALAXIES.seed))
    monkeypatch.setattr(heldout, "PROBE_GALAXIES", heldout.HeldOutGalaxies(n=60, seed=heldout.PROBE_GALAXIES.seed))


@pytest.fixture
def registered():
    """load_trained looks models up in the registry, which holds the VAE."""
    from autoenc import registry
    assert registry.MODELS["vae"].task == "autoenc.train.vae:VAETask"


def tiny_config(**kw):
    base = {"arch": "conv", "image_size": 32, "latent_dim": 8, "n_images": 48, "batch_size": 16,
            "lr": 2e-3, "steps": 20, "eval_every": 10}
    base.update(kw)
    return config_from_dict(T.VAEConfig, base)


def tiny_model(size=32, latent=8, seed=0):
    torch.manual_seed(seed)
    return ConvVAE(size, latent).eval()


# --------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("size", [32, 64, 128])
def test_conv_vae_shapes(size):
    m = ConvVAE(size)
    x = torch.rand(2, 3, size, size)
    x_hat, mu, logvar = m(x)
    assert x_hat.shape == x.shape and mu.shape == logvar.shape == (2, 50)
    assert 0 <= x_hat.min() and x_hat.max() <= 1
    assert count_parameters(m) * 4 < 8e6, "the shipped conv VAE should be a few MB"


def test_paper_vae_shapes_and_size():
    m = PaperVAE(128)
    assert m.enc.in_features == 49152 and m.enc.out_features == 500
    assert m.dec_out.out_features == 49152 and m.enc_mu.out_features == 50
    assert 49.0e6 < count_parameters(m) < 49.5e6
    x = torch.rand(2, 3, 128, 128)
    x_hat, mu, logvar = m(x)
    assert x_hat.shape == x.shape and mu.shape == (2, 50)
    assert PaperVAE(32).enc.in_features == 3 * 32 * 32


def test_paper_dense_flops_count_what_autograd_executes():
    m = PaperVAE(32, latent_dim=10, hidden=20)
    n_in = 3 * 32 * 32
    # first layer: forward + weight gradient (the images need no gradient); others: 3 passes
    want = 2 * 2 * n_in * 20 + 3 * 2 * (20 * 10 * 2 + 10 * 20 + 20 * n_in)
    assert paper_dense_flops(m, batch=1) == want
    assert paper_dense_flops(m, batch=8) == 8 * want


def test_reparameterize_samples_in_training_and_is_the_mean_in_eval():
    m = ConvVAE(32, 4)
    mu, logvar = torch.zeros(5000, 4), torch.full((5000, 4), math.log(4.0))
    m.train()
    z = m.reparameterize(mu, logvar)
    assert abs(z.std().item() - 2.0) < 0.05
    m.eval()
    assert torch.equal(m.reparameterize(mu, logvar), mu)


# ---------------------------------------------------------------------------- losses

def test_kl_known_cases():
    latent = 50
    assert kl_divergence(torch.zeros(4, latent), torch.zeros(4, latent)).item() == 0.0
    assert kl_divergence(torch.ones(4, latent), torch.zeros(4, latent)).item() == pytest.approx(latent / 2)
    # sigma^2 = e: -1/2 (1 + 1 - 0 - e) per dimension
    kl = kl_divergence(torch.zeros(3, 2), torch.ones(3, 2)).item()
    assert kl == pytest.approx(2 * -0.5 * (2 - np.e), rel=1e-6)


def test_reconstruction_is_summed_per_image_and_averaged_over_batch():
    x = torch.rand(4, 3, 8, 8)
    assert reconstruction_loss(x, x).item() == 0.0
    off = torch.zeros(4, 3, 8, 8)
    off[0] = 0.5       # only the first image is off, by 0.5 in all 192 values
    assert reconstruction_loss(off, torch.zeros_like(off)).item() == pytest.approx(192 * 0.25 / 4)
    total, recon, kl = vae_loss(off, torch.zeros_like(off), torch.ones(4, 6), torch.zeros(4, 6), beta=2.0)
    assert total.item() == pytest.approx(recon.item() + 2.0 * 3.0)


def test_kl_per_dimension_sums_to_kl_and_counts_active_dims():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(16, 10, generator=g), torch.randn(16, 10, generator=g)
    mu[:, 7:], logvar[:, 7:] = 0.0, 0.0           # three dimensions at the prior
    per = kl_per_dimension(mu, logvar)
    assert per.shape == (10,)
    assert per.sum().item() == pytest.approx(kl_divergence(mu, logvar).item(), rel=1e-5)
    assert active_dims(per) == 7
    assert active_dims(per, threshold=1e9) == 0


def test_kl_matches_monte_carlo():
    """KL(q || p) = E_q[log q(z) - log p(z)], estimated with 400k samples."""
    g = torch.Generator().manual_seed(1)
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, -1.0, 0.7]], dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = mu + torch.exp(0.5 * logvar) * torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    mc = (q.log_prob(z) - p.log_prob(z)).sum(1).mean().item()
    assert kl_divergence(mu, logvar).item() == pytest.approx(mc, abs=0.02)


# ---------------------------------------------------------------------------- config

def test_config_defaults_follow_the_arch():
    assert T.VAEConfig().image_size == 64
    assert T.VAEConfig(arch="paper").image_size == 128
    assert config_from_dict(T.VAEConfig, {"arch": "paper"}).image_size == 128
    cfg = config_from_dict(T.VAEConfig, {"arch": "conv", "image_size": 32})
    assert config_from_dict(T.VAEConfig, config_to_dict(cfg)) == cfg


@pytest.mark.parametrize("settings, says", [
    ({"arch": "mlp"}, "arch must be one of conv, paper"),
    ({"image_size": 48}, "image_size must be one of"),
    ({"n_images": 1}, "n_images must be at least 2"),
    ({"n_images": 0}, "n_images must be at least 2"),
    ({"beta": -1}, "beta must be at least 0"),
    ({"beta": -1e-6}, "beta must be at least 0"),
    ({"data_seed": heldout.VAE_GALAXIES.seed}, "held-out"),
])
def test_bad_settings_are_user_errors(settings, says):
    with pytest.raises(UserError, match=says):
        config_from_dict(T.VAEConfig, settings)


# ------------------------------------------------------------------------------ task

def test_task_trains_and_loss_goes_down(fake_data):
    torch.manual_seed(0)
    task = T.VAETask(tiny_config(), torch.device("cpu"))
    losses = [task.train_step(s)["loss"] for s in range(1, 21)]
    assert all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    val = task.validate(20)
    assert set(val) >= {"val_recon", "val_kl", "val_loss"} and all(np.isfinite(list(val.values())))
    assert set(task.chart_metrics) <= set(task.train_step(21)) | set(val)
    grid = task.snapshot(21)["recon_grid"]
    assert grid.dtype == np.uint8 and grid.shape == (2 * 32 + 3 * 2, 8 * 32 + 9 * 2, 3)


def test_state_tensors_round_trip(fake_data):
    torch.manual_seed(0)
    cfg = tiny_config()
    a = T.VAETask(cfg, torch.device("cpu"))
    for s in range(1, 4):
        a.train_step(s)
    state = a.state_tensors()
    assert any(k.startswith("optim.adam.") for k in state)
    torch.manual_seed(1)
    b = T.VAETask(cfg, torch.device("cpu"))
    b.load_state_tensors(state)
    for k, v in b.state_tensors().items():
        assert torch.equal(v, state[k]), k
    x = torch.rand(2, 3, 32, 32)
    a.model.eval(), b.model.eval()
    assert torch.equal(a.model(x)[0], b.model(x)[0])
    assert torch.equal(a._batch(), b._batch()), "a resumed run continues the same batch order"


def test_the_training_loop_runs_the_task(tmp_path, fake_data, registered):
    from autoenc.runs.store import RunStore
    from autoenc.train.loop import train
    store = RunStore(tmp_path)
    cfg = tiny_config(steps=4, eval_every=2, checkpoint_every=2)
    run_id = store.create_run("vae", config_to_dict(cfg), total_steps=4)
    torch.manual_seed(0)
    outcome = train(T.VAETask(cfg, torch.device("cpu")), store, run_id, total_steps=4)
    assert outcome.status == "finished" and outcome.step == 4
    for name in ("loss", "recon", "kl", "val_recon", "val_kl"):
        steps, values = store.metric_series(run_id, name)
        assert len(values) and np.all(np.isfinite(values)), name
    step, grid = store.latest_sample(run_id, "recon_grid")
    assert step == 4 and grid.dtype == np.uint8 and grid.ndim == 3
    trained = V.load_vae(store.checkpoint_path(run_id))
    assert trained.meta["step"] == 4 and "latent_mean" in trained.extra


def test_one_image_dataset_is_refused(fake_data, monkeypatch):
    import autoenc.data.galaxies as galaxies
    monkeypatch.setattr(galaxies, "rendered_set", lambda n, size=64, seed=0, settings=None: fake_galaxies(1, size))
    with pytest.raises(UserError, match="at least 2"):
        T.VAETask(tiny_config(), torch.device("cpu"))


# ---------------------------------------------------------------------- page helpers

def two_images(size=32):
    g = fake_galaxies(2, size, seed=3)
    return g.images[0], g.images[1]


def test_interpolation_ends_are_the_reconstructions():
    m = tiny_model()
    a, b = two_images()
    ra, rb = V.reconstruct(m, np.stack([a, b]))
    for t, want in ((0.0, ra), (1.0, rb)):
        got = V.interpolate(m, a, b, t)
        assert got.dtype == np.uint8 and got.shape == (32, 32, 3)
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    strip = V.interpolation_strip(m, a, b, steps=5)
    assert strip.shape == (5, 32, 32, 3)
    assert np.abs(strip[0].astype(int) - ra.astype(int)).max() <= 1
    assert np.abs(strip[-1].astype(int) - rb.astype(int)).max() <= 1
    mid = V.interpolate(m, a, b, 0.5)
    mu = V.encode_images(m, np.stack([a, b]))
    assert np.abs(mid.astype(int) - V.decode_latents(m, mu.mean(0))[0].astype(int)).max() <= 1


def test_sampling_traversal_and_errors():
    m = tiny_model()
    s1, s2 = V.sample_prior(m, 6, seed=4), V.sample_prior(m, 6, seed=4)
    assert s1.shape == (6, 32, 32, 3) and s1.dtype == np.uint8 and np.array_equal(s1, s2)
    mu = V.encode_images(m, fake_galaxies(3, 32).images)
    assert mu.shape == (3, 8) and mu.dtype == np.float32
    tr = V.traverse(m, mu[0], dim=2, values=[-2, 0, 2])
    assert tr.shape == (3, 32, 32, 3)
    imgs = fake_galaxies(10, 32).images
    err = V.reconstruction_errors(m, imgs)
    rec = V.reconstruct(m, imgs).astype(float) / 255
    assert err.shape == (10,) and np.allclose(err, ((rec - imgs / 255) ** 2).mean((1, 2, 3)), atol=1e-4)
    kl = V.latent_kl(m, imgs)
    assert kl.shape == (8,) and np.all(kl >= 0)


def test_latent_gaussian_fit_and_samples():
    m = tiny_model()
    imgs = fake_galaxies(40, 32).images
    mean, cov = V.fit_latent_gaussian(m, imgs)
    mu = V.encode_images(m, imgs)
    assert mean.shape == (8,) and cov.shape == (8, 8)
    assert np.allclose(mean, mu.mean(0), atol=1e-5) and np.allclose(cov, np.cov(mu.T), atol=1e-5)
    s1 = V.sample_latent_gaussian(m, 5, 1, mean, cov)
    assert s1.shape == (5, 32, 32, 3) and np.array_equal(s1, V.sample_latent_gaussian(m, 5, 1, mean, cov))
    # temperature 0 decodes the mean code; so does the prior at temperature 0 for a zero mean
    t0 = V.sample_latent_gaussian(m, 2, 0, mean, cov, temperature=0)
    assert np.array_equal(t0[0], V.decode_latents(m, mean)[0])
    assert np.array_equal(V.sample_prior(m, 1, 0, temperature=0)[0], V.decode_latents(m, np.zeros(8))[0])
    with pytest.raises(UserError, match="8x8 covariance"):
        V.sample_latent_gaussian(m, 2, 0, mean[:3], cov)


def test_gif_and_png():
    from PIL import Image
    frames = fake_galaxies(4, 32).images
    gif = to_gif(frames, duration_ms=50)
    im = Image.open(io.BytesIO(gif))
    assert im.format == "GIF" and im.n_frames == 6          # boomerang: 0 1 2 3 2 1
    png = to_png(image_grid(frames, ncols=2))
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.size == (2 * 32 + 3 * 2, 2 * 32 + 3 * 2)


@pytest.mark.parametrize("call, says", [
    (lambda m, a, b: V.interpolate(m, a, a, 0.5), "same image"),
    (lambda m, a, b: V.interpolation_strip(m, a, a.copy()), "same image"),
    (lambda m, a, b: V.interpolate(m, a, b, 1.5), "between 0 and 1"),
    (lambda m, a, b: V.interpolation_strip(m, a, b, steps=1), "2 to 256 steps"),
    (lambda m, a, b: V.reconstruct(m, np.zeros((0, 32, 32, 3), np.uint8)), "no images"),
    (lambda m, a, b: V.reconstruction_errors(m, np.zeros((2, 64, 64, 3), np.uint8)), "64x64 px but this conv VAE at 32 px"),
    (lambda m, a, b: V.encode_images(m, np.zeros((2, 32, 32), np.uint8)), "RGB images"),
    (lambda m, a, b: V.encode_images(m, np.zeros((2, 32, 32, 3), np.float32)), "uint8"),
    (lambda m, a, b: V.traverse(m, np.zeros(8), dim=8, values=[0]), "from 0 to 7"),
    (lambda m, a, b: V.traverse(m, np.zeros(5), dim=0, values=[0]), "8 numbers"),
    (lambda m, a, b: V.decode_latents(m, np.full((1, 8), np.nan)), "NaN"),
    (lambda m, a, b: V.sample_prior(m, 0), "from 1 to"),
])
def test_bad_inputs_are_user_errors(call, says):
    m = tiny_model()
    a, b = two_images()
    with pytest.raises(UserError, match=says):
        call(m, a, b)


# ------------------------------------------------------------ checkpoints and eval

def save_tiny(path, task_config, weights_from=None):
    modules = T.VAETask.build_modules(weights_from or task_config)
    tensors = {f"model.vae.{k}": v for k, v in modules["vae"].state_dict().items()}
    save_checkpoint(path, tensors, {"model": "vae", "config": config_to_dict(task_config), "step": 1})


def test_checkpoint_loads_and_evaluates(tmp_path, fake_data, registered):
    cfg = tiny_config()
    path = tmp_path / "v.safetensors"
    save_tiny(path, cfg)
    trained = V.load_vae(path, arch="conv", image_size=32)
    assert trained.config == cfg
    result = V.evaluate(trained.modules["vae"])
    assert set(result) == {"recon_mse", "kl", "active_dims", "n", "probe_accuracy"} and result["n"] == 24
    assert 0 <= result["probe_accuracy"] <= 1
    assert 0 <= result["recon_mse"] <= 1 and 0 <= result["active_dims"] <= 8
    cli = T.VAETask.evaluate_cli(argparse.Namespace(checkpoint=str(path)))
    assert set(cli) == {"recon_mse", "kl", "active_dims", "n", "probe_accuracy"} and cli["n"] == 24
    mean, cov = V.latent_gaussian(trained)      # no fit in this file: made on the held-out set
    assert mean.shape == (8,) and cov.shape == (8, 8)


def test_checkpoint_written_by_the_task_carries_the_latent_fit(tmp_path, fake_data, registered):
    torch.manual_seed(0)
    task = T.VAETask(tiny_config(), torch.device("cpu"))
    task.train_step(1)
    path = tmp_path / "run.safetensors"
    save_checkpoint(path, task.state_tensors(), {"model": "vae", "config": config_to_dict(task.config), "step": 1})
    trained = V.load_vae(path)
    mean, cov = V.latent_gaussian(trained)
    want_mean, want_cov = V.fit_latent_gaussian(task.model, task.images.permute(0, 2, 3, 1).numpy())
    assert np.allclose(mean, want_mean, atol=1e-5) and np.allclose(cov, want_cov, atol=1e-5)


def test_checkpoint_of_another_arch_or_size_says_what_it_holds(tmp_path, registered):
    path = tmp_path / "p.safetensors"
    save_tiny(path, tiny_config(arch="paper", image_size=32))
    with pytest.raises(CheckpointError, match="holds a paper VAE at 32 px .*not a conv VAE"):
        V.load_vae(path, arch="conv")
    with pytest.raises(CheckpointError, match="holds a paper VAE at 32 px .*not one for 64 px"):
        V.load_vae(path, image_size=64)
    # weights that do not fit what the file's config says (a 64 px net labelled 32 px)
    bad = tmp_path / "bad.safetensors"
    save_tiny(bad, tiny_config(), weights_from=tiny_config(image_size=64))
    with pytest.raises(CheckpointError, match="says it holds a conv VAE at 32 px .*do not fit"):
        V.load_vae(bad)
    with pytest.raises(CheckpointError, match="not found"):
        V.load_vae(tmp_path / "missing.safetensors")


def test_fused_sigmoid_squared_error_matches_autograd():
    from autoenc.models.vae import sigmoid_squared_error
    torch.manual_seed(0)
    logits = torch.randn(3, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    x = torch.rand(3, 3, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: sigmoid_squared_error(a, x), (logits,))
    assert torch.allclose(sigmoid_squared_error(logits, x), reconstruction_loss(torch.sigmoid(logits), x))


@pytest.mark.parametrize("arch, size", [("conv", 32), ("paper", 32)])
def test_training_loss_equals_vae_loss_in_value_and_gradient(arch, size):
    from autoenc.models.vae import build_vae
    model = build_vae(arch, size).train()
    x = torch.rand(6, 3, size, size)
    torch.manual_seed(1)
    fused = model.training_loss(x, beta=0.5)
    g_fused = torch.autograd.grad(fused[0], list(model.parameters()))
    torch.manual_seed(1)                      # the same reparameterisation noise
    x_hat, mu, logvar = model(x)
    plain = vae_loss(x_hat, x, mu, logvar, beta=0.5)
    g_plain = torch.autograd.grad(plain[0], list(model.parameters()))
    for a, b in zip(fused, plain):
        assert torch.allclose(a, b, rtol=1e-5)
    for a, b in zip(g_fused, g_plain):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6 * b.abs().max())


@pytest.mark.parametrize("chunk_bytes", [8 << 20, 500])
def test_fused_loss_in_chunks_and_overwriting_its_logits_gives_the_same_value_and_gradient(monkeypatch, chunk_bytes):
    from autoenc.models import vae as models_vae
    monkeypatch.setattr(models_vae, "LOSS_CHUNK_BYTES", chunk_bytes)     # 500 B: one row per chunk
    torch.manual_seed(0)
    leaf = torch.randn(5, 3, 8, 8, requires_grad=True)
    x = torch.rand(5, 3, 8, 8)
    want = reconstruction_loss(torch.sigmoid(leaf * 2.0), x)
    want_grad, = torch.autograd.grad(want, leaf)
    logits = leaf * 2.0                                      # a fresh output, as the decoder's
    got = models_vae.sigmoid_squared_error(logits, x, overwrite=True)
    got_grad, = torch.autograd.grad(got, leaf)
    assert torch.allclose(got, want) and torch.allclose(got_grad, want_grad, atol=1e-7)
    assert not torch.equal(logits, leaf * 2.0)                # overwritten: its memory was reused
    untouched = leaf * 2.0
    models_vae.sigmoid_squared_error(untouched, x)           # without overwrite the input stays
    assert torch.equal(untouched, leaf * 2.0)


def test_precision_auto_is_bf16_for_the_conv_vae_where_the_cpu_has_it_and_fp32_for_the_paper_mlp():
    """auto: bf16 where the device computes it natively (the conv VAE's step ran 1.6x faster
    so on one AMX core), except the paper MLP on a CPU (its bf16 step ran 1.13x slower)."""
    from autoenc.train.precision import native_bf16
    cpu = torch.device("cpu")
    conv = config_from_dict(T.VAEConfig, {"arch": "conv"})
    paper = config_from_dict(T.VAEConfig, {"arch": "paper"})
    assert T.amp_dtype(conv, cpu) is (torch.bfloat16 if native_bf16(cpu) else None)
    assert T.amp_dtype(paper, cpu) is None
    assert T.amp_dtype(config_from_dict(T.VAEConfig, {"arch": "paper", "precision": "bf16"}), cpu) is torch.bfloat16
    assert T.amp_dtype(config_from_dict(T.VAEConfig, {"precision": "fp32"}), cpu) is None
    assert T.PRETRAIN_SETTINGS["precision"] == "fp32"          # how the shipped file was made


@pytest.mark.parametrize("arch", ["conv", "paper"])
def test_posteriors_start_at_the_logvar_asked_for_and_only_logvar_changes(arch):
    torch.manual_seed(0)
    model = (ConvVAE(32, 8) if arch == "conv" else PaperVAE(32, 8)).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(6, 3, 32, 32)
    mu0, logvar0 = model.encode(x)
    assert logvar0.abs().max() < 1.5                           # the default init: variance about 1
    model.start_posteriors_at(-6.0)
    mu, logvar = model.encode(x)
    assert torch.equal(mu, mu0)                                # the means are untouched
    assert (logvar + 6).abs().max() < 0.2                      # every image's posterior starts sharp
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == ({"to_stats.weight", "to_stats.bias"} if arch == "conv"
                       else {"enc_logvar.weight", "enc_logvar.bias"})


def test_the_task_starts_its_posteriors_where_its_config_says(fake_data):
    x = torch.rand(4, 3, 32, 32)
    default = T.VAETask(tiny_config(), torch.device("cpu")).model.encode(x)[1]
    sharp = T.VAETask(tiny_config(logvar_start=-6.0), torch.device("cpu")).model.encode(x)[1]
    assert default.abs().max() < 1.5 and (sharp + 6).abs().max() < 0.2
