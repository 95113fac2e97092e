"""GAN nets, configs and the shared training step, on tiny nets and a toy galaxy set."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from autoenc.data.galaxy_set import GalaxySet
from autoenc.errors import UserError
from autoenc.images import image_grid
from autoenc.inference.gan import generate, generate_from, sampling_generator
from autoenc.models import count_parameters
from autoenc.models.gan import ConditionalCritic, ConditionalGenerator, Critic, Generator, build_critic, build_generator
from autoenc.runs.checkpoint import load_checkpoint, save_checkpoint
from autoenc.train import gan as gan_module
from autoenc.train.augment import random_orientation
from autoenc.train.ema import standing_statistics
from autoenc.train.gan import TASKS, ACGANTask, GANTask, WGANDivTask, WGANGPTask
from autoenc.train.gan_config import GANConfig
from autoenc.train.precision import compute_dtype
from autoenc.train.task import config_from_dict, config_to_dict
from autoenc.trained import load_trained

torch.set_num_threads(1)
CPU = torch.device("cpu")
TINY = {"ngf": 8, "ndf": 8, "batch_size": 16, "image_size": 32}


def toy_galaxies(n=48, size=32, seed=0) -> GalaxySet:
    """A bright blob whose colour tells the class (0 red, 1 green, 2 blue), on noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    yy, xx = np.mgrid[:size, :size]
    blob = np.exp(-((yy - size / 2) ** 2 + (xx - size / 2) ** 2) / (2 * (size / 6) ** 2))
    images = rng.normal(20, 8, (n, size, size, 3))
    for i, c in enumerate(labels):
        images[i, :, :, c] += 200 * blob
    return GalaxySet(images=np.clip(images, 0, 255).astype(np.uint8), labels=labels.astype(np.int64))


def make_task(cls, seed=0, data=None, **settings):
    cfg = config_from_dict(cls.Config, {**TINY, "seed": seed, **settings})
    torch.manual_seed(seed)
    return cls(cfg, CPU, data=data if data is not None else toy_galaxies())


# -- nets -------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_and_range_at_every_size(size):
    z = torch.randn(3, 100)
    g = Generator(size, ngf=8)
    x = g(z)
    assert x.shape == (3, 3, size, size) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    for norm in ("batch", "layer", "instance", "none"):
        assert Critic(size, ndf=8, norm=norm)(x).shape == (3,)
    cg = ConditionalGenerator(size, ngf=8)
    assert cg(z, torch.tensor([0, 1, 2])).shape == (3, 3, size, size)
    logits, classes = ConditionalCritic(size, ndf=8)(x)
    assert logits.shape == (3,) and classes.shape == (3, 3)


def test_channels_last_gives_the_same_numbers():
    torch.manual_seed(0)
    g, d = Generator(32, 8), Critic(32, 8, "layer")
    z = torch.randn(4, 100)
    want = d(g(z))
    g.to(memory_format=torch.channels_last)
    d.to(memory_format=torch.channels_last)
    assert torch.allclose(d(g(z)), want, atol=1e-5)


def test_dcgan_initialisation():
    torch.manual_seed(0)
    g, d = Generator(64, 32), Critic(64, 32, "batch")
    convs = [m.weight for m in [*g.modules(), *d.modules()] if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    w = torch.cat([c.flatten() for c in convs])
    assert abs(w.mean().item()) < 1e-3 and w.std().item() == pytest.approx(0.02, rel=0.05)
    bn = torch.cat([m.weight for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert bn.mean().item() == pytest.approx(1.0, abs=0.01) and bn.std().item() == pytest.approx(0.02, rel=0.2)


@pytest.mark.parametrize("norm", ["layer", "instance", "none"])
def test_wgan_critics_have_no_batchnorm_and_treat_samples_alone(norm):
    torch.manual_seed(0)
    d = Critic(32, 8, norm)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    x = torch.randn(4, 3, 32, 32)
    assert torch.allclose(d(x)[:2], d(x[:2]), atol=1e-6)      # a sample's score ignores the batch


def test_64px_nets_stay_a_few_megabytes():
    g, d = build_generator(64, 32), build_critic(64, 32, "layer")
    assert count_parameters(g) == 1_100_224                     # 4.4 MB float32
    assert (count_parameters(g) + count_parameters(d)) * 4 < 8e6


def test_bad_size_and_norm_are_refused():
    with pytest.raises(ValueError, match="image_size"):
        Generator(48)
    with pytest.raises(ValueError, match="norm"):
        Critic(32, norm="spectral")


# -- configs ----------------------------------------------------------------------------------

def test_configs_have_per_model_defaults_and_round_trip():
    gan, wgp, wdiv, ac = GANTask.Config(), WGANGPTask.Config(), WGANDivTask.Config(), ACGANTask.Config()
    assert (gan.n_critic, gan.lr, gan.betas, gan.critic_norm) == (1, 2e-4, (0.5, 0.999), "batch")
    assert (ac.n_critic, ac.critic_norm) == (1, "batch")
    for w in (wgp, wdiv):
        assert (w.n_critic, w.lr, w.betas, w.critic_norm) == (5, 1e-4, (0.0, 0.9), "layer")
    assert wgp.gp_lambda == 10 and (wdiv.div_k, wdiv.div_p) == (2, 6)
    assert gan.image_size == 32 and gan.z_dim == 100 and gan.batch_size == 64
    assert not hasattr(gan, "gp_lambda")                          # each page shows only its own settings
    for cls in TASKS.values():
        cfg = cls.Config(image_size=64)
        assert config_from_dict(cls.Config, config_to_dict(cfg)) == cfg


def test_configs_refuse_bad_values():
    with pytest.raises(UserError, match="BatchNorm"):
        config_from_dict(WGANGPTask.Config, {"critic_norm": "batch"})
    with pytest.raises(UserError, match="image_size"):
        config_from_dict(GANConfig, {"image_size": 48})
    with pytest.raises(UserError, match="betas"):
        config_from_dict(GANConfig, {"betas": "0.5,1.5"})


def test_pretrain_plan_is_64px_and_valid():
    for name, cls in TASKS.items():
        (item,) = cls.pretrain_plan()
        assert item.file == f"{name}-64.safetensors"
        cfg = config_from_dict(cls.Config, item.settings)
        assert cfg.image_size == 64 and cfg.ngf == 32 and item.max_seconds


# -- the training step --------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(TASKS))
def test_one_step_does_n_critic_critic_updates_then_one_generator_update(name):
    task = make_task(TASKS[name], n_critic=3)
    out = task.train_step(1)
    assert set(task.chart_metrics) <= set(out) and {"loss_d", "loss_g"} <= set(out)
    assert all(isinstance(v, float) and np.isfinite(v) for v in out.values())
    d_steps = {int(s["step"]) for s in task.opt_d.state.values()}
    g_steps = {int(s["step"]) for s in task.opt_g.state.values()}
    assert d_steps == {3} and g_steps == {1}
    assert all(p.requires_grad for p in task.critic.parameters())


def test_generator_step_leaves_the_critic_untouched():
    task = make_task(WGANGPTask)
    _, fake, labels = task.critic_step(keep_fake_graph=True)
    grads = [p.grad.clone() for p in task.critic.parameters()]
    weights = [p.detach().clone() for p in task.critic.parameters()]
    g_before = [p.detach().clone() for p in task.generator.parameters()]
    task.generator_step(fake, labels)
    assert all(torch.equal(a, p.grad) for a, p in zip(grads, task.critic.parameters()))
    assert all(torch.equal(a, p) for a, p in zip(weights, task.critic.parameters()))
    assert any(not torch.equal(a, p) for a, p in zip(g_before, task.generator.parameters()))


@pytest.mark.parametrize("name", ["gan", "wgan-gp", "wgan-div"])
def test_training_only_the_critic_lowers_its_loss(name):
    task = make_task(TASKS[name], lr=5e-4)
    g_before = [p.detach().clone() for p in task.generator.parameters()]
    loss = [task.critic_step()[0]["loss_d"].item() for _ in range(20)]
    assert np.mean(loss[-4:]) < np.mean(loss[:4]) - 0.05 * abs(np.mean(loss[:4])), loss
    assert all(torch.equal(a, p) for a, p in zip(g_before, task.generator.parameters()))


def test_acgan_learns_the_classes_of_real_images():
    task = make_task(ACGANTask, lr=5e-4)
    out = [task.train_step(i + 1) for i in range(25)]
    ce = [o["class_loss_real"] for o in out]
    assert ce[0] == pytest.approx(np.log(3), abs=0.15)            # chance at first
    assert np.mean(ce[-5:]) < 0.5 * np.mean(ce[:5]), ce
    assert np.mean([o["class_acc_real"] for o in out[-5:]]) > 0.8


def test_batches_follow_the_seed():
    a, b, c = make_task(GANTask, seed=3), make_task(GANTask, seed=3), make_task(GANTask, seed=4)
    ra, la = a.real_batch()
    rb, lb = b.real_batch()
    rc, _ = c.real_batch()
    assert torch.equal(ra, rb) and torch.equal(la, lb) and not torch.equal(ra, rc)
    assert ra.shape == (16, 3, 32, 32) and -1 <= ra.min() and ra.max() <= 1


@pytest.mark.parametrize("cls", [ACGANTask, WGANGPTask])
def test_state_round_trip_resumes_the_same_run(cls, tmp_path):
    a = make_task(cls, seed=1)
    a.train_step(1)
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, a.state_tensors(), {"model": cls.name, "config": config_to_dict(a.config), "step": 1})
    tensors, _ = load_checkpoint(path, expect_model=cls.name)
    assert "extra.fixed_z" in tensors and "extra.rng_state" in tensors
    b = make_task(cls, seed=1)
    b.fixed_z = torch.zeros_like(b.fixed_z)
    b.rng.manual_seed(99)
    b.load_state_tensors(tensors)
    assert torch.equal(a.fixed_z, b.fixed_z)
    if cls.n_classes:
        assert torch.equal(a.fixed_labels, b.fixed_labels)
    assert a.train_step(2) == b.train_step(2)                     # same weights, optimiser, RNG
    assert np.array_equal(a.snapshot(2)["grid"], b.snapshot(2)["grid"])


def test_snapshot_grids_and_the_fixed_noise():
    gan = make_task(GANTask)
    grid = gan.snapshot(0)["grid"]
    assert grid.shape == (4 * 34 + 2, 4 * 34 + 2, 3) and grid.dtype == np.uint8
    ac = make_task(ACGANTask)
    assert ac.snapshot(0)["grid"].shape == (3 * 34 + 2, 6 * 34 + 2, 3)
    z = ac.fixed_z.reshape(3, 6, -1)
    assert torch.equal(z[0], z[1]) and torch.equal(z[0], z[2])    # one z per column, every class
    assert ac.fixed_labels.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert gan.generator.training                                 # back in training mode


def test_trains_through_the_loop_and_reloads(tmp_path):
    from autoenc.runs.store import RunStore
    from autoenc.train.loop import train
    store = RunStore(tmp_path)
    task = make_task(WGANDivTask, n_critic=2)
    run_id = store.create_run(task.name, config_to_dict(task.config), total_steps=3)
    outcome = train(task, store, run_id, total_steps=3)
    assert outcome.status == "finished" and outcome.step == 3
    step, grid = store.latest_sample(run_id, "grid")
    assert step == 3 and grid.shape == (138, 138, 3)
    tensors, meta = load_checkpoint(store.checkpoint_path(run_id), expect_model="wgan-div")
    fresh = WGANDivTask.build_modules(config_from_dict(WGANDivTask.Config, meta["config"]))
    fresh["generator"].load_state_dict({k[len("model.generator."):]: v for k, v in tensors.items()
                                        if k.startswith("model.generator.")})
    assert np.array_equal(generate(fresh["generator"], 4, seed=1), generate(task.generator, 4, seed=1))


def test_default_data_is_the_rendered_set(monkeypatch):
    import autoenc.data.galaxies as galaxies
    calls = []

    def fake_rendered_set(n, size, seed, settings=None):
        calls.append((n, size, seed))
        return toy_galaxies(n, size)
    monkeypatch.setattr(galaxies, "rendered_set", fake_rendered_set)
    cfg = config_from_dict(GANConfig, {**TINY, "n_images": 30, "data_seed": 5})
    task = GANTask(cfg, CPU)
    assert calls == [(30, 32, 5)] and task.images.shape == (30, 3, 32, 32)
    with pytest.raises(UserError, match="px"):
        GANTask(cfg, CPU, data=toy_galaxies(size=64))


# -- inference helpers ----------------------------------------------------------------------------

def test_generate_is_seeded_uint8_and_keeps_the_mode():
    torch.manual_seed(0)
    g = Generator(32, 8)
    a, b, c = generate(g, 5, seed=1), generate(g, 5, seed=1), generate(g, 5, seed=2)
    assert a.shape == (5, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert g.training
    assert np.array_equal(generate(g, 5, seed=1, batch_size=2), a)


def test_generate_conditional_labels():
    torch.manual_seed(0)
    g = ConditionalGenerator(32, 8)
    cycled = generate(g, 6, seed=0)
    explicit = generate(g, 6, seed=0, labels=[0, 1, 2, 0, 1, 2])
    assert np.array_equal(cycled, explicit)
    assert not np.array_equal(generate(g, 6, seed=0, labels=1), explicit)
    with pytest.raises(UserError, match="class"):
        generate(g, 2, seed=0, labels=[0, 3])


def test_image_grid_layout():
    imgs = np.stack([np.full((2, 3, 3), 10 * (i + 1), np.uint8) for i in range(5)])
    grid = image_grid(imgs, ncols=2, pad=1)
    assert grid.shape == (3 * 3 + 1, 2 * 4 + 1, 3)
    assert (grid[1:3, 1:4] == 10).all() and (grid[1:3, 5:8] == 20).all()
    assert (grid[7:9, 1:4] == 50).all() and (grid[7:9, 5:8] == 0).all()   # empty cell stays fill
    assert (grid[0] == 0).all()


def test_a_weights_only_file_rebuilds_for_inference(tmp_path, monkeypatch):
    """What `pretrain` ships (weights + extras, no optimiser) and `load_trained` reads."""
    from autoenc import registry
    monkeypatch.setitem(registry.MODELS, "acgan", registry.ModelSpec(
        "acgan", "acGAN", "", "autoenc.train.gan:ACGANTask", "pages/gan.py"))
    task = make_task(ACGANTask)
    task.train_step(1)
    weights = {k: v for k, v in task.state_tensors(with_optimizer=False).items()}
    path = tmp_path / "acgan-32.safetensors"
    save_checkpoint(path, weights, {"model": "acgan", "config": config_to_dict(task.config), "step": 1})
    trained = load_trained(path, "acgan")
    assert trained.config == task.config and torch.equal(trained.extra["fixed_z"], task.fixed_z)
    g = trained.modules["generator"]
    assert not g.training and g.compute_dtype is None        # inference runs in fp32
    task.generator.compute_dtype = None                       # (training may have used bf16)
    assert np.array_equal(generate(g, 6, seed=3, labels=2), generate(task.generator, 6, seed=3, labels=2))


def test_sky_bias_starts_the_generator_at_a_dark_sky():
    import math

    from autoenc.models.gan import SKY_TANH
    from autoenc.train.gan_config import WGANDivConfig, WGANGPConfig
    torch.manual_seed(0)
    dark = build_generator(32, 8, sky_bias=True)(torch.randn(16, 100))
    grey = build_generator(32, 8)(torch.randn(16, 100))
    assert abs(dark.mean().item() - math.tanh(SKY_TANH)) < 0.05 and abs(grey.mean().item()) < 0.05
    assert WGANGPConfig().sky_bias and WGANDivConfig().sky_bias and not GANConfig().sky_bias
    assert "net.12.bias" in build_generator(64, 8, sky_bias=True).state_dict()
    assert "net.12.bias" not in build_generator(64, 8).state_dict()   # the shipped DCGAN file has no such key


# -- precision -------------------------------------------------------------------------------

def test_precision_setting_picks_the_nets_dtype(monkeypatch):
    assert compute_dtype("fp32", CPU) is None and compute_dtype("bf16", CPU) is torch.bfloat16
    monkeypatch.setattr("autoenc.train.precision.native_bf16", lambda device: True)
    assert compute_dtype("auto", CPU) is torch.bfloat16
    monkeypatch.setattr("autoenc.train.precision.native_bf16", lambda device: False)
    assert compute_dtype("auto", CPU) is None
    with pytest.raises(UserError):
        config_from_dict(GANConfig, {"precision": "fp16"})


@pytest.mark.parametrize("name", list(TASKS))
def test_bf16_nets_match_fp32_closely_and_train_with_fp32_weights(name):
    a = make_task(TASKS[name], precision="fp32")
    b = make_task(TASKS[name], precision="bf16")
    assert a.generator.compute_dtype is None and b.critic.compute_dtype is torch.bfloat16
    b.generator.load_state_dict(a.generator.state_dict())
    b.critic.load_state_dict(a.critic.state_dict())
    z, y = a.latent_batch()
    with torch.no_grad():
        fa, fb = a.generator(z, y), b.generator(z, y)
        sa, sb = a.critic_scores(fa, fa)[0], b.critic_scores(fa, fa)[0]
    assert fb.dtype == torch.float32 and (fa - fb).abs().max() < 0.05     # bf16: ~3 digits
    sa, sb = (s[0] if isinstance(s, tuple) else s for s in (sa, sb))
    assert sb.dtype == torch.float32 and torch.allclose(sa, sb, atol=0.05, rtol=0.05)
    out = b.train_step(1)                   # penalties' double backward included
    assert all(np.isfinite(v) for v in out.values())
    assert all(p.dtype == torch.float32 for p in [*b.generator.parameters(), *b.critic.parameters()])


# -- the moving-average generator -------------------------------------------------------------------

def _first_weight(g: nn.Module) -> torch.Tensor:
    return g.net[0].weight.detach().clone()


def test_ema_follows_the_generator_with_a_warmed_up_decay():
    task = make_task(ACGANTask, ema_decay=0.999)
    assert task.sampler is task.ema.module and not task.sampler.training
    task.train_step(1)                                   # the first update copies the generator
    assert torch.equal(_first_weight(task.sampler), _first_weight(task.generator))
    before = _first_weight(task.sampler)
    task.train_step(2)                                   # then lerps with decay min(0.999, (1 + 1) / (10 + 1))
    d = 2 / 11
    want = d * before + (1 - d) * _first_weight(task.generator)
    assert torch.allclose(_first_weight(task.sampler), want, atol=1e-7)
    assert not torch.equal(_first_weight(task.sampler), _first_weight(task.generator))
    # BatchNorm statistics are averaged too (eval mode reads them)
    bn_ema, bn_g = task.sampler.net[1], task.generator.net[1]
    assert not torch.equal(bn_ema.running_mean, bn_g.running_mean)


def test_ema_draws_the_grid_and_the_validation_samples(monkeypatch):
    task = make_task(WGANGPTask, ema_decay=0.99, n_critic=1)
    for s in range(4):
        task.train_step(s + 1)
    grid = task.snapshot(4)["grid"]
    want = image_grid(generate_from(task.ema.module, task.fixed_z), task.grid_shape[1])
    assert np.array_equal(grid, want)
    assert task.generator.training                       # drawing left the trained net in training mode
    drawn_by = []

    class Judge:
        def measure(self, images, requested=None):
            return {"tv_distance": 0.0}
    monkeypatch.setattr(gan_module, "generate", lambda g, n, seed, labels=None: drawn_by.append(g) or
                        np.zeros((n, 32, 32, 3), np.uint8))
    monkeypatch.setattr(gan_module, "measures_to_metrics", lambda m: m)
    task._judge = Judge()
    assert task.validate(4) == {"tv_distance": 0.0} and drawn_by == [task.ema.module]
    off = make_task(GANTask)                             # the basic GAN draws with its raw generator
    assert off.ema is None and off.sampler is off.generator and "generator_ema" not in off.modules()


def test_ema_is_checkpointed_and_draws_after_reloading(tmp_path, monkeypatch):
    from autoenc import registry
    monkeypatch.setitem(registry.MODELS, "wgan-gp", registry.ModelSpec(
        "wgan-gp", "WGAN-GP", "", "autoenc.train.gan:WGANGPTask", "pages/gan.py"))
    task = make_task(WGANGPTask, ema_decay=0.99, n_critic=1)
    for s in range(3):
        task.train_step(s + 1)
    tensors = task.state_tensors()
    assert int(tensors["extra.ema_updates"]) == 3
    # resume: the same average, the same update count
    again = make_task(WGANGPTask, seed=1, ema_decay=0.99, n_critic=1)
    again.load_state_tensors(tensors)
    assert torch.equal(_first_weight(again.sampler), _first_weight(task.sampler)) and int(again.ema.n_averaged) == 3
    # inference: the weights-only file rebuilds the average, and it draws the samples
    path = tmp_path / "w.safetensors"
    save_checkpoint(path, task.state_tensors(with_optimizer=False),
                    {"model": "wgan-gp", "config": config_to_dict(task.config), "step": 3})
    trained = load_trained(path, "wgan-gp")
    g = sampling_generator(trained.modules)
    assert g is trained.modules["generator_ema"]
    task.sampler.compute_dtype = None
    assert np.array_equal(generate(g, 4, seed=2), generate(task.sampler, 4, seed=2))


def test_a_file_without_an_average_still_loads_and_starts_one(tmp_path, monkeypatch):
    """Checkpoints saved with the average off (or before it existed) keep working."""
    from autoenc import registry
    monkeypatch.setitem(registry.MODELS, "acgan", registry.ModelSpec(
        "acgan", "acGAN", "", "autoenc.train.gan:ACGANTask", "pages/gan.py"))
    old = make_task(ACGANTask, ema_decay=0.0)
    old.train_step(1)
    tensors = old.state_tensors()
    assert not any(k.startswith("model.generator_ema.") for k in tensors)
    path = tmp_path / "old.safetensors"
    cfg = {**config_to_dict(old.config), "ema_decay": 0.999}    # the average asked for, none saved
    save_checkpoint(path, tensors, {"model": "acgan", "config": cfg, "step": 1})
    trained = load_trained(path, "acgan")
    assert trained.config.ema_decay == 0.999 and "generator_ema" not in trained.modules
    assert sampling_generator(trained.modules) is trained.modules["generator"]
    resumed = make_task(ACGANTask, seed=3, ema_decay=0.999)
    resumed.load_state_tensors(tensors)               # resuming such a run starts the average at its generator
    assert torch.equal(_first_weight(resumed.sampler), _first_weight(old.generator))


def test_standing_statistics_are_the_mean_of_the_generators_own_activations():
    g = build_generator(32, 8, n_classes=3).eval()
    bn = g.net[1]
    bn.running_mean.fill_(5.0)                                # stale statistics, as an average has
    seen = []
    bn.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().float()))
    standing_statistics(g, batches=3, batch_size=16)
    assert len(seen) == 3 and not g.training and bn.momentum == 0.1   # mode and momentum restored
    want = torch.stack([x.mean((0, 2, 3)) for x in seen]).mean(0)
    assert torch.allclose(bn.running_mean, want, atol=1e-5)
    first = [b.clone() for b in g.buffers()]
    standing_statistics(g, batches=3, batch_size=16)       # same z: same statistics
    assert all(torch.equal(a, b) for a, b in zip(first, g.buffers()))


def test_the_average_draws_and_is_saved_with_standing_statistics(monkeypatch):
    task = make_task(WGANGPTask, ema_decay=0.99, n_critic=1)
    for s in range(3):
        task.train_step(s + 1)
    reference = copy.deepcopy(task.ema.module)
    standing_statistics(reference)
    averaged = task.ema.module.net[1].running_mean.clone()
    assert not torch.allclose(averaged, reference.net[1].running_mean)
    tensors = task.state_tensors()
    saved = tensors["model.generator_ema.net.1.running_mean"]
    assert torch.equal(saved, reference.net[1].running_mean)

    class Judge:
        def measure(self, images, requested=None):
            return {"tv_distance": 0.0}
    task.train_step(4)                                   # the average's statistics drift again
    task._judge = Judge()
    monkeypatch.setattr(gan_module, "measures_to_metrics", lambda m: m)
    stats = []
    monkeypatch.setattr(gan_module, "generate", lambda g, n, seed, labels=None: stats.append(
        g.net[1].running_mean.clone()) or np.zeros((n, 32, 32, 3), np.uint8))
    task.validate(4)
    fresh = copy.deepcopy(task.ema.module)
    standing_statistics(fresh)
    assert torch.equal(stats[0], fresh.net[1].running_mean)       # validation drew with fresh ones


# -- augment: the critic sees every image under a random orientation ---------------------------

def dihedral(image: torch.Tensor) -> list[torch.Tensor]:
    """The 8 orientations of a (C, H, W) image: 4 quarter turns, mirrored or not."""
    return [torch.rot90(m, q, (1, 2)) for m in (image, image.flip(2)) for q in range(4)]


def test_random_orientation_turns_each_image_on_its_own_and_passes_gradients():
    x = torch.arange(64 * 3 * 5 * 5, dtype=torch.float32).view(64, 3, 5, 5).requires_grad_(True)
    out = random_orientation(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    seen = []
    for i in range(len(x)):
        matches = [k for k, v in enumerate(dihedral(x[i].detach())) if torch.equal(v, out[i].detach())]
        assert len(matches) == 1, i             # each output is one orientation of its own input
        seen.append(matches[0])
    assert len(set(seen)) == 8                   # all 8 drawn, per image, not one per batch
    again = random_orientation(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)               # follows the seed
    out.sum().backward()                         # a permutation of pixels: every gradient is 1
    assert torch.equal(x.grad, torch.ones_like(x))


def test_augment_shows_the_critic_turned_images_only_when_set():
    plain, turned = make_task(ACGANTask), make_task(ACGANTask, augment=True)
    x = torch.randn(16, 3, 32, 32)
    assert plain.critic_view(x) is x
    views = turned.critic_view(x)
    assert not torch.equal(views, x)
    assert all(any(torch.equal(v, views[i]) for v in dihedral(x[i])) for i in range(len(x)))


@pytest.mark.parametrize("name", list(TASKS))
def test_every_model_trains_with_augment(name):
    task = make_task(TASKS[name], augment=True, n_critic=2)
    out = [task.train_step(i + 1) for i in range(3)]
    assert all(np.isfinite(v) for o in out for v in o.values())
    assert {int(s["step"]) for s in task.opt_g.state.values()} == {3}


def test_augment_lets_the_acgan_class_head_learn_the_classes():
    task = make_task(ACGANTask, lr=5e-4, augment=True)
    out = [task.train_step(i + 1) for i in range(25)]
    assert np.mean([o["class_acc_real"] for o in out[-5:]]) > 0.8


def test_a_diverging_gan_stops_with_a_message_and_keeps_its_last_good_checkpoint(tmp_path):
    """The generator's loss turns inf at step 5 (checkpoints every 2 steps)."""
    from autoenc.runs.checkpoint import read_meta
    from autoenc.runs.store import RunStore
    from autoenc.train.loop import train
    task = make_task(WGANGPTask, n_critic=1, checkpoint_every=2, eval_every=1000)
    honest = task.generator_loss
    calls = []

    def exploding(fake, labels):
        parts = honest(fake, labels)
        calls.append(1)
        if len(calls) >= 5:
            parts["loss_g"] = torch.tensor(float("inf"))
        return parts
    task.generator_loss = exploding
    store = RunStore(tmp_path)
    run_id = store.create_run("wgan-gp", {})
    outcome = train(task, store, run_id, total_steps=20)
    assert outcome.status == "failed" and outcome.step == 4
    assert "loss_g became inf at step 5" in outcome.message and "last good checkpoint (step 4)" in outcome.message
    assert read_meta(store.checkpoint_path(run_id))["step"] == 4


def test_the_critic_can_learn_faster_than_the_generator():
    """critic_lr (two time-scale rule): the critic's Adam takes it, the generator's keeps lr."""
    task = make_task(WGANGPTask, lr=1e-4, critic_lr=4e-4)
    assert task.opt_d.param_groups[0]["lr"] == 4e-4 and task.opt_g.param_groups[0]["lr"] == 1e-4
    same = make_task(GANTask, lr=3e-4)
    assert same.opt_d.param_groups[0]["lr"] == same.opt_g.param_groups[0]["lr"] == 3e-4
