"""GAN, acGAN, WGAN-GP and WGAN-div on galaxy thumbnails: one step, four loss pairs.

`GANTask.update` is the only GAN training step. It runs `n_critic` critic updates,
then one generator update; a variant says only how its critic and generator losses are
computed (`critic_loss`, `generator_loss`), so a lost `.detach()` or `n_critic` cannot
creep into one copy of the loop.

What makes the step fast (autoenc/bench/gan.py measures it against loops written the way
GAN examples usually are): the data on the device as one uint8 tensor; fused Adam; G run
without autograd in all but the last critic update, whose forward the generator update
reuses; no weight gradients for the critic in the generator update, nor for a penalty's
input images in the critic's; real and fake as one batch through a critic without
BatchNorm; channels_last memory; the losses left on the device, read back by the loop about
once a second (train/loss_log.py).

Every eval_every steps `validate` judges samples from one fixed z with the shipped galaxy
classifier (autoenc.metrics.judge); without the classifier file it measures nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from autoenc.data.datasets import training_set
from autoenc.data.galaxy_set import N_CLASSES, GalaxySet
from autoenc.errors import UserError
from autoenc.images import from_uint8, image_grid
from autoenc.inference.gan import EMA, generate, generate_from, sampling_generator
from autoenc.metrics.judge import (
    EVAL_SAMPLES,
    Judge,
    evaluate_generator,
    measures_to_metrics,
    training_judge,
)
from autoenc.models.gan import build_critic, build_generator
from autoenc.runs import bundle_use
from autoenc.train import losses
from autoenc.train.augment import random_orientation
from autoenc.train.critic_view import EXTREMES, EXTREMES_KEPT, CriticView
from autoenc.train.ema import WarmedEMA
from autoenc.train.gan_config import ACGANConfig, GANConfig, Recipe, WGANDivConfig, WGANGPConfig, adam
from autoenc.train.gan_state import GANCheckpointState, grid_noise
from autoenc.train.precision import compute_dtype
from autoenc.train.task import PretrainItem, Task
from autoenc.trained import load_checkpoint_or_shipped


class GANTask(GANCheckpointState, Task):
    """DCGAN with the BCE loss: the shared step; subclasses swap the two losses."""

    name = "gan"
    Config = GANConfig
    chart_metrics = {"loss_g": "generator", "loss_d": "critic (discriminator)"}
    history_sample = "grid"
    usage_snippet = bundle_use.GAN
    n_classes: ClassVar[int] = 0
    grid_shape: ClassVar[tuple[int, int]] = (4, 4)      # rows, columns of the live sample grid
    # the loss functions whose docstring formulas the page shows (critic, then generator)
    loss_functions: ClassVar[tuple[Callable, ...]] = (losses.bce_critic_loss, losses.bce_generator_loss)
    # the keep-best measure: how far the generated class mix is from the data's
    best_metric = ("tv_distance", True)
    # a file saved before the moving average existed has none: its generator draws the samples
    optional_modules = (EMA,)
    uses = ("classifier",)          # the judge of validate and of the page's measures
    recipe: ClassVar[Recipe] = Recipe(steps=3000)
    step_units = ("critic", "generator")
    synced_modules = {"generator": "forward", "critic": "forward"}
    critic_view_probabilities: ClassVar[bool] = True    # the critic's view in D's P(real), not scores
    # the critic's view: its rows (critic_beliefs)
    critic_view_rows: ClassVar[tuple[str, ...]] = ("real", "fake")
    sample_history = {EXTREMES: EXTREMES_KEPT}

    def __init__(self, config: GANConfig, device: torch.device, data: GalaxySet | None = None):
        """data: the galaxies to train on; by default the set the config names."""
        super().__init__(config, device)
        device = torch.device(device)
        self.device = device
        # channels_last helps the CPU's oneDNN convolutions (DESIGN §4) and a GPU's tensor
        # cores, which the bf16 autocast below runs the convolutions on
        self.memory_format = torch.channels_last
        mods = self.build_modules(config)
        self.generator = mods["generator"].to(device, memory_format=self.memory_format)
        self.critic = mods["critic"].to(device, memory_format=self.memory_format)
        # bf16 where the device has it: on a CPU ~1.6x faster convolutions (bench: gan.speedup_vs_reference)
        self.generator.compute_dtype = self.critic.compute_dtype = compute_dtype(config.precision, device)
        # The moving average of G draws every sample: validation, grid, checkpoints.
        self.ema = WarmedEMA(self.generator, config.ema_decay) if config.ema_decay > 0 else None
        self._standing_at: int | None = None     # the average's update count at its last standing statistics
        self.opt_g = adam(self.generator.parameters(), config, device)
        self.opt_d = adam(self.critic.parameters(), config, device, lr=config.critic_lr or config.lr)
        self._critic_params = list(self.critic.parameters())
        # one generator for batches, noise and penalty epsilons; its state is checkpointed
        self.rng = torch.Generator(device=device)
        self.rng.manual_seed(int(config.seed))

        if data is None:
            data = training_set(config.data, config.n_images, config.image_size, config.data_seed)
        if data.images.shape[1:] != (config.image_size, config.image_size, 3):
            raise UserError(f"training images are {data.images.shape[1]} px, the config says {config.image_size}")
        self.class_names = tuple(data.class_names)
        # (N, 3, S, S) uint8, 4x smaller than floats; batches are gathered, then mapped to [-1, 1]
        self.images = from_uint8(data.images, device)
        self.labels = torch.as_tensor(np.asarray(data.labels), dtype=torch.int64).to(device)
        if self.n_classes and len(self.labels) and int(self.labels.max()) >= self.n_classes:
            raise UserError(f"the data has labels up to {int(self.labels.max())}; this model knows {self.n_classes} classes")

        self.fixed_z, self.fixed_labels = grid_noise(*self.grid_shape, config.z_dim, config.seed + 1,
                                                     self.n_classes, device)
        self._judge: Judge | bool | None = None     # built at the first validation that finds the classifier
        self.critic_updates = 0     # all critic updates, in update and in step mode (checkpointed)
        self._critic_view: CriticView | None = None     # its fixed batches, made at the first snapshot

    # -- Task hooks ---------------------------------------------------------------------------
    @classmethod
    def build_modules(cls, config: GANConfig) -> dict[str, nn.Module]:
        mods = {
            "generator": build_generator(config.image_size, config.ngf, config.z_dim, cls.n_classes,
                                         config.sky_bias),
            "critic": build_critic(config.image_size, config.ndf, config.critic_norm, cls.n_classes),
        }
        if config.ema_decay > 0:
            mods[EMA] = build_generator(config.image_size, config.ngf, config.z_dim, cls.n_classes, config.sky_bias)
        return mods

    def modules(self) -> dict[str, nn.Module]:
        mods = {"generator": self.generator, "critic": self.critic}
        if self.ema is not None:
            mods[EMA] = self.ema.module
        return mods

    @property
    def sampler(self) -> nn.Module:
        """The generator that draws samples: the moving average where there is one."""
        return self.ema.module if self.ema is not None else self.generator

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    @property
    def steps_per_epoch(self) -> int:
        """Generator steps per pass over the data (each step reads n_critic real batches)."""
        return max(1, len(self.images) // (self.config.batch_size * self.config.n_critic))

    @classmethod
    def pretrain_plan(cls) -> list[PretrainItem]:
        """The shipped 64 px weights: G + D with ngf = ndf = 32 is about 7 MB per file."""
        r = cls.recipe
        return [PretrainItem(file=f"{cls.name}-64.safetensors",
                             settings={"image_size": 64, "ngf": 32, "ndf": 32, "n_images": 12_000,
                                       "steps": r.steps, "batch_size": r.batch_size, "checkpoint_every": 100,
                                       "precision": r.precision, "ema_decay": r.ema_decay},
                             max_seconds=r.max_seconds, then=r.then)]

    def update(self, step: int) -> dict[str, torch.Tensor]:
        """n_critic critic updates, then one generator update; the critic's parts are averaged."""
        n = self.config.n_critic
        critic_sums: dict[str, torch.Tensor] = {}
        for i in range(n):
            # Only the last fake needs its graph: the generator update reuses it.
            parts, fake, fake_labels = self.critic_step(keep_fake_graph=i == n - 1)
            for k, v in parts.items():
                critic_sums[k] = critic_sums[k] + v if k in critic_sums else v
        parts_g = self.generator_step(fake, fake_labels)
        return {**{k: v / n for k, v in critic_sums.items()}, **{k: v.detach() for k, v in parts_g.items()}}

    def critic_step(self, keep_fake_graph: bool = False):
        """One critic update on a fresh real batch and fake batch.

        Returns (parts, fake, fake_labels): the logged parts (detached tensors) and the fake
        batch, which carries the generator's graph when keep_fake_graph is set.
        """
        self.critic.requires_grad_(True)
        real, real_labels = self.real_batch()
        z, fake_labels = self.latent_batch()
        with torch.set_grad_enabled(keep_fake_graph):
            fake = self.sync("generator")(z, fake_labels)
        parts = self.critic_loss(self.critic_view(real), real_labels, self.critic_view(fake.detach()), fake_labels)
        self.opt_d.zero_grad(set_to_none=True)
        # inputs=: only the critic's weights; a penalty's input tensors need no gradient
        parts.pop("loss").backward(inputs=self._critic_params)
        self.opt_d.step()
        self.critic_updates += 1
        return parts, fake, fake_labels

    def generator_step(self, fake: torch.Tensor | None = None, fake_labels: torch.Tensor | None = None) -> losses.Parts:
        """One generator update on `fake` (run G on fresh noise if None or without a graph)."""
        if fake is None or not fake.requires_grad:
            z, fake_labels = self.latent_batch()
            fake = self.sync("generator")(z, fake_labels)
        # Gradients flow through the critic to the fake images, but its weights need none.
        self.critic.requires_grad_(False)
        try:
            parts = self.generator_loss(self.critic_view(fake), fake_labels)
            self.opt_g.zero_grad(set_to_none=True)
            parts.pop("loss").backward()
            self.opt_g.step()
        finally:
            self.critic.requires_grad_(True)
        if self.ema is not None:
            self.ema.update_parameters(self.generator)
        return parts

    def unit_step(self, unit: str) -> dict[str, float]:
        """Step mode: one critic update ("critic") or one generator update on fresh noise
        ("generator"), as update makes them; returns its parts."""
        if unit == "critic":
            parts = self.critic_step()[0]
        elif unit == "generator":
            parts = self.generator_step()
        else:
            raise ValueError(f"unit must be one of {self.step_units}, not {unit!r}")
        return dict(zip(parts, torch.stack(list(parts.values())).tolist()))

    def validate(self, step: int) -> dict[str, float]:
        """Measures of EVAL_SAMPLES samples from one fixed z (seed + 2), judged by the shipped
        classifier against the training data: hist_* (the generated class mix), data_hist_*,
        tv_distance, coverage, precision, recall, kid, and class_accuracy for the acGAN (share
        of samples the classifier puts in the class asked for). {} without the classifier."""
        judge = self.judge()
        if judge is None:
            return {}
        n = EVAL_SAMPLES
        labels = np.arange(n) % self.n_classes if self.n_classes else None
        self.refresh_standing_statistics()
        images = generate(self.sampler, n, self.config.seed + 2, labels=labels)
        return measures_to_metrics(judge.measure(images, requested=labels))

    def shard(self, rank: int, size: int, seed: int) -> None:
        if rank == 0:       # validate's judge compares with all the training galaxies
            self.judge()
        self.images, self.labels = self.images[rank::size], self.labels[rank::size]
        self.rng.manual_seed(seed)

    def judge(self) -> Judge | None:
        """The judge, its real features computed once per task; None while the classifier is missing."""
        if self._judge is None:
            self._judge = training_judge(self.images, self.labels)
        return self._judge or None

    # -- python -m autoenc eval gan|acgan|wgan-gp|wgan-div ---------------------------------------
    @classmethod
    def add_eval_arguments(cls, parser) -> None:
        parser.add_argument("--n", type=int, default=1000, help="samples to generate and judge (default 1000)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the samples' z (default 0)")

    @classmethod
    def evaluate_cli(cls, args) -> dict:
        """class_histogram, data_class_histogram (the classifier's held-out renders), coverage,
        kid, n (and class_accuracy for acGAN) of a checkpoint, default the shipped 64 px one."""
        trained = load_checkpoint_or_shipped(cls.name, args.checkpoint)
        return evaluate_generator(sampling_generator(trained.modules), n=args.n, seed=args.seed)

    def snapshot(self, step: int) -> dict[str, np.ndarray]:
        """{"grid": (H, W, 3) uint8} of the fixed z (one row per class for acGAN), eval mode,
        and the critic's view of its fixed batches (train/critic_view.py)."""
        with torch.no_grad():
            images = generate_from(self.sampler, self.fixed_z, self.fixed_labels)
        if self._critic_view is None:
            self._critic_view = CriticView(self)
        return {"grid": image_grid(images, self.grid_shape[1]), **self._critic_view.measure()}

    # -- batches ------------------------------------------------------------------------------
    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Real images (B, 3, S, S) float in [-1, 1] and their labels (B,), drawn with replacement."""
        idx = torch.randint(len(self.images), (self.rank_batch,), generator=self.rng, device=self.device)
        x = self.images[idx].to(torch.float32, memory_format=self.memory_format)
        return x.mul_(2 / 255).sub_(1), self.labels[idx]

    def latent_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """z (B, z_dim) and, for acGAN, uniformly drawn classes (B,)."""
        b = self.rank_batch
        z = torch.randn(b, self.config.z_dim, generator=self.rng, device=self.device)
        y = torch.randint(self.n_classes, (b,), generator=self.rng, device=self.device) if self.n_classes else None
        return z, y

    def critic_view(self, images: torch.Tensor) -> torch.Tensor:
        """The images as the critic sees them: as they are, or with `augment` each under its
        own random orientation (random_orientation)."""
        return random_orientation(images, self.rng) if self.config.augment else images

    def critic_scores(self, real: torch.Tensor, fake: torch.Tensor, critic: nn.Module | None = None):
        """D(real), D(fake), by `critic` (the critic as an update calls it) or the critic.
        BatchNorm sees real and fake as separate batches (DCGAN's practice: a mixed batch's
        statistics would tell D which half is fake); a per-sample critic takes them as one
        batch, which runs faster."""
        critic = self.critic if critic is None else critic
        if self.critic.norm == "batch":
            return critic(real), critic(fake)
        out = critic(torch.cat([real, fake]))
        b = len(real)
        if isinstance(out, tuple):
            return tuple(o[:b] for o in out), tuple(o[b:] for o in out)
        return out[:b], out[b:]

    # -- the two losses a variant defines -----------------------------------------------------
    def critic_loss(self, real, real_labels, fake, fake_labels) -> losses.Parts:
        real_logits, fake_logits = self.critic_scores(real, fake, self.sync("critic"))
        return losses.bce_critic_loss(real_logits, fake_logits)

    def generator_loss(self, fake, fake_labels) -> losses.Parts:
        return losses.bce_generator_loss(self.critic(fake))

    @torch.no_grad()
    def critic_beliefs(self, real, fake) -> dict[str, torch.Tensor]:
        """The critic's view (critic_view.py): D's probability that each image is real."""
        r, f = self.critic_scores(real, fake)
        r, f = (r[0], f[0]) if isinstance(r, tuple) else (r, f)     # acGAN: its real/fake head
        return {"real": torch.sigmoid(r), "fake": torch.sigmoid(f)}


class ACGANTask(GANTask):
    """Auxiliary-classifier GAN (Odena et al. 2017) on the three galaxy classes."""

    name = "acgan"
    Config = ACGANConfig
    usage_snippet = bundle_use.ACGAN
    chart_metrics = {**GANTask.chart_metrics, "class_loss_real": "class cross-entropy, real images"}
    n_classes = N_CLASSES
    grid_shape = (N_CLASSES, 6)
    loss_functions = (losses.acgan_critic_loss, losses.acgan_generator_loss)
    best_metric = ("class_accuracy", False)
    recipe = Recipe(steps=6000, precision="auto", max_seconds=3 * 3600.0,
                    then=({"steps": 7250, "fake_class_weight": 0.0}, {"steps": 9000, "class_weight": 3.0},
                          {"steps": 10500, "class_weight": 10.0},
                          {"steps": 11750, "augment": True, "from_best": True}))

    def critic_loss(self, real, real_labels, fake, fake_labels) -> losses.Parts:
        (real_logits, real_cls), (fake_logits, fake_cls) = self.critic_scores(real, fake, self.sync("critic"))
        return losses.acgan_critic_loss(real_logits, real_cls, real_labels, fake_logits, fake_cls, fake_labels,
                                        self.config.fake_class_weight)

    def generator_loss(self, fake, fake_labels) -> losses.Parts:
        logits, cls = self.critic(fake)
        return losses.acgan_generator_loss(logits, cls, fake_labels, self.config.class_weight)


class WGANGPTask(GANTask):
    """WGAN with gradient penalty (Gulrajani et al. 2017)."""

    name = "wgan-gp"
    Config = WGANGPConfig
    chart_metrics = {**GANTask.chart_metrics, "wasserstein": "Wasserstein estimate"}
    loss_functions = (losses.wgan_gp_critic_loss, losses.gradient_penalty, losses.wasserstein_generator_loss)
    critic_view_rows = ("real", "fake", "interpolate_norms")
    critic_view_probabilities = False
    recipe = Recipe(steps=1100, batch_size=32, max_seconds=4 * 3600.0,
                    then=({"steps": 2000, "precision": "auto"}, {"steps": 3400, "ema_decay": 0.999}))

    def critic_loss(self, real, real_labels, fake, fake_labels) -> losses.Parts:
        critic = self.sync("critic")
        real_scores, fake_scores = self.critic_scores(real, fake, critic)
        penalty = losses.gradient_penalty(critic, real, fake, self.config.gp_lambda, self.rng)
        return losses.wgan_gp_critic_loss(real_scores, fake_scores, penalty)

    def generator_loss(self, fake, fake_labels) -> losses.Parts:
        return losses.wasserstein_generator_loss(self.critic(fake))

    def critic_beliefs(self, real, fake) -> dict[str, torch.Tensor]:
        """The critic's scores, and its gradient norms at interpolates drawn with a fixed seed."""
        with torch.no_grad():
            r, f = self.critic_scores(real, fake)
        x_hat, _ = losses.interpolates(real, fake, torch.Generator(real.device).manual_seed(self.config.seed + 4))
        norms, _ = losses.input_gradient_norms(self.critic, x_hat)
        return {"real": r, "fake": f, "interpolate_norms": norms.detach()}


class WGANDivTask(WGANGPTask):
    """WGAN-div (Wu et al. 2018): a penalty on |grad D|^p at real and fake samples, no target norm."""

    name = "wgan-div"
    Config = WGANDivConfig
    loss_functions = (losses.wgan_div_critic_loss, losses.wasserstein_generator_loss)
    critic_view_rows = ("real", "fake", "real_norms", "fake_norms")
    recipe = Recipe(steps=800, batch_size=32, max_seconds=4 * 3600.0,
                    then=({"steps": 3400, "precision": "auto", "ema_decay": 0.999},
                          {"steps": 3400, "batch_size": 64, "from_best": True}))

    def critic_loss(self, real, real_labels, fake, fake_labels) -> losses.Parts:
        # One pass over real and fake gives both the scores and the gradients the penalty needs.
        b, cfg = len(real), self.config
        norms, scores = losses.input_gradient_norms(self.sync("critic"), torch.cat([real, fake]), power=cfg.div_p)
        penalty = losses.divergence_penalty(norms[:b], norms[b:], cfg.div_k, cfg.div_p)
        return losses.wgan_div_critic_loss(scores[:b], scores[b:], penalty)

    def critic_beliefs(self, real, fake) -> dict[str, torch.Tensor]:
        """The critic's scores, and its gradient norms at the real and the generated images."""
        norms, scores = losses.input_gradient_norms(self.critic, torch.cat([real, fake]))
        b = len(real)
        scores, norms = scores.detach(), norms.detach()
        return {"real": scores[:b], "fake": scores[b:], "real_norms": norms[:b], "fake_norms": norms[b:]}

TASKS: dict[str, type[GANTask]] = {t.name: t for t in (GANTask, ACGANTask, WGANGPTask, WGANDivTask)}
