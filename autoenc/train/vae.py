"""VAE on rendered galaxy thumbnails: its config and its Task for the training loop.

The loss (Kingma & Welling 2014) lives in autoenc.models.vae with its formula;
reconstruction is the squared error summed over each image's pixels, so beta = 2 sigma^2
of a Gaussian decoder (beta 1: the ELBO). What the page does with a trained VAE is in
autoenc.inference.vae.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from autoenc.data import heldout
from autoenc.data.datasets import training_set
from autoenc.errors import UserError
from autoenc.images import image_grid
from autoenc.inference.vae import evaluate, fit_latent_gaussian, load_vae, probe, reconstruct
from autoenc.models.vae import ARCHES, active_dims, build_vae, kl_per_dimension, reconstruction_loss
from autoenc.runs import bundle_use
from autoenc.train.precision import PRECISIONS, compute_dtype, mixed_precision, to_device
from autoenc.train.task import PretrainItem, Task, TrainSettings, setting

SIZES = (32, 64, 128)
DEFAULT_SIZE = {"conv": 64, "paper": 128}     # the paper arch is the article's 128 px model
SHIPPED_FILE = "vae-conv-64.safetensors"
PLAIN_FILE = "autoencoder-conv-64.safetensors"   # the same network and recipe at beta 0: a plain autoencoder
BETA_DEFAULT = 0.002
LATENT_FIT_IMAGES = 512                       # training codes behind the saved latent Gaussian
INFERENCE_CHUNK = 256                         # held-out images per validation forward pass
# The shipped checkpoint's recipe (docs/checkpoints.md): conv, 64 px, beta 5e-4, 10000 steps
# of 16 images from 20000 renders, in fp32.
PRETRAIN_SETTINGS = {"arch": "conv", "image_size": 64, "latent_dim": 50, "steps": 10_000, "batch_size": 16,
                     "lr": 2e-3, "beta": 5e-4, "n_images": 20_000, "data_seed": 0, "seed": 0, "precision": "fp32"}


@dataclass
class VAEConfig(TrainSettings):
    # Defaults are the shipped checkpoint's recipe: small batches, so more (cheap) steps
    # fit in a CPU budget; lr decays by cosine to lr / 10 (VAETask.learning_rate).
    steps: int = setting(6000, "optimisation steps to train for", lo=1, hi=10_000_000)
    batch_size: int = setting(16, "images per step (the paper arch streams its 98 MB matrices "
                                  "once per step, so larger batches use the CPU better)", lo=1, hi=4096)
    lr: float = setting(2e-3, "peak Adam learning rate (cosine decay to a tenth)", lo=1e-7, hi=1.0)
    eval_every: int = setting(200, "steps between validation passes", lo=1)
    arch: str = setting("conv", "network: conv (small convolutional VAE) or paper (the article's "
                                "49 M-parameter MLP, 197 MB at 128 px)", choices=ARCHES)
    image_size: int = setting(0, "image side in pixels: 32, 64 or 128 (0: the arch's default, "
                                 "64 for conv, 128 for paper)", choices=(0, *SIZES))
    latent_dim: int = setting(50, "latent dimensions (the article used 50)", lo=2, hi=512)
    # Recon is the squared error summed per image, so beta = 2 sigma^2 of the decoder's
    # Gaussian. Beta 1 (sigma^2 = 1/2) calls almost all of a galaxy "noise" and the codes
    # collapse to the prior (reconstructions are the mean blob); a decoder calibrated to
    # what it can reach (per-pixel MSE ~5e-4) has beta ~1e-3. Beta 0 leaves mu unbounded:
    # the encoder inflates it to drown the sampling noise until it overflows.
    beta: float = setting(BETA_DEFAULT, "KL weight = 2 x the decoder's pixel noise variance (recon is summed "
                                        "per image); 1 collapses galaxies to one blob, smaller keeps more detail "
                                        "but leaves the codes further from the N(0, I) prior; 0 is a plain autoencoder",
                                        lo=0.0, hi=1000.0)
    logvar_start: float = setting(0.0, "log-variance every image's code starts at (0: the encoder's own "
                                       "initialisation, about 0); -6 starts the codes sharp, so the decoder "
                                       "learns from the first steps", lo=-20.0, hi=0.0)
    n_images: int = setting(6000, "rendered training images (a third per class)", lo=2, hi=200_000)
    data_seed: int = setting(0, "seed of the rendered training set", lo=0)
    data: str = setting("rendered", "galaxy set to train on: rendered, or a set imported on the Datasets page")
    precision: str = setting("auto", "arithmetic of the net: fp32; bf16 (mixed precision: convolutions and "
                                     "matrix products in bfloat16, weights, optimiser and loss in fp32); auto = "
                                     "bf16 where the device computes it natively (the paper MLP: on a GPU only), "
                                     "else fp32", choices=PRECISIONS)

    def __post_init__(self):
        if self.image_size == 0 and self.arch in DEFAULT_SIZE:
            self.image_size = DEFAULT_SIZE[self.arch]

    def check(self) -> None:
        if self.image_size not in SIZES:
            raise UserError(f"image_size must be one of {', '.join(map(str, SIZES))}, not {self.image_size}")
        if self.data_seed == heldout.VAE_GALAXIES.seed:
            raise UserError(f"data_seed {heldout.VAE_GALAXIES.seed} is the held-out evaluation set's seed; pick another")


def amp_dtype(cfg: VAEConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a VAE's training steps. On one core of a CPU with AMX, bf16 made
    the conv VAE's step 1.6x faster, the paper MLP's 1.13x slower (its two 49152 x 500
    matrices are cast to bf16 every step): auto keeps the MLP in fp32 on a CPU."""
    if cfg.precision == "auto" and cfg.arch == "paper":
        return mixed_precision(device)
    return compute_dtype(cfg.precision, device)


def _chunks(n: int, size: int = INFERENCE_CHUNK):
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


class VAETask(Task):
    name = "vae"
    Config = VAEConfig
    chart_metrics = {"recon": "reconstruction (train)", "kl": "KL (train)", "val_recon": "reconstruction (validation)"}
    history_sample = "recon_grid"
    usage_snippet = bundle_use.VAE
    synced_modules = {"model": "training_loss"}

    def __init__(self, config: VAEConfig, device: torch.device):
        super().__init__(config, device)
        cfg = config
        self.amp_dtype = amp_dtype(cfg, device)
        train = training_set(cfg.data, cfg.n_images, cfg.image_size, cfg.data_seed)
        if len(train) < 2:
            raise UserError(f"the training set has {len(train)} image(s); a VAE needs at least 2")
        # uint8 NCHW on the device: 4x smaller than float, converted per batch.
        self.images = torch.from_numpy(np.ascontiguousarray(train.images)).permute(0, 3, 1, 2).contiguous().to(device)
        val = heldout.VAE_GALAXIES.images(cfg.image_size)
        self.val_images = torch.from_numpy(np.ascontiguousarray(val.images)).permute(0, 3, 1, 2).contiguous().to(device)
        self.model = self.build_modules(cfg)["vae"].to(device)
        if cfg.logvar_start:
            self.model.start_posteriors_at(cfg.logvar_start)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, fused=True)
        self.batch_gen = torch.Generator().manual_seed(cfg.seed)
        self.order = torch.empty(0, dtype=torch.long)
        self.pos = 0
        # Fixed validation noise: val_recon is the same estimate as the training recon
        # (one sampled z per image), and comparable from one evaluation to the next.
        g = torch.Generator().manual_seed(12345)
        self.val_eps = torch.randn(len(self.val_images), cfg.latent_dim, generator=g).to(device)

    @classmethod
    def build_modules(cls, config: VAEConfig) -> dict[str, nn.Module]:
        return {"vae": build_vae(config.arch, config.image_size, config.latent_dim)}

    def modules(self) -> dict[str, nn.Module]:
        return {"vae": self.model}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"adam": self.opt}

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.images) / min(self.config.batch_size, len(self.images))))

    def shard(self, rank: int, size: int, seed: int) -> None:
        self.images = self.images[rank::size]
        self.batch_gen.manual_seed(seed)
        self.order, self.pos = torch.empty(0, dtype=torch.long), 0

    def _batch(self) -> torch.Tensor:
        b = min(self.rank_batch, len(self.images))
        if self.pos + b > len(self.order):      # new epoch: a fresh shuffle
            self.order = torch.randperm(len(self.images), generator=self.batch_gen)
            self.pos = 0
        idx = to_device(self.order[self.pos:self.pos + b], self.images.device)
        self.pos += b
        return self.images[idx].float().div_(255)

    def learning_rate(self, step: int) -> float:
        """Cosine decay from lr to lr / 10 over the run: short runs end on a settled model."""
        frac = min(max(step / max(self.config.steps, 1), 0.0), 1.0)
        return self.config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    def update(self, step: int) -> dict[str, torch.Tensor]:
        self.model.train()
        for group in self.opt.param_groups:
            group["lr"] = self.learning_rate(step)
        x = self._batch()
        with self.autocast():
            loss, recon, kl = self.sync("model")(x, self.config.beta)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}

    @torch.inference_mode()
    def validate(self, step: int) -> dict[str, float]:
        self.model.eval()
        n = len(self.val_images)
        recon = kl = 0.0
        kl_dim = torch.zeros(self.config.latent_dim, device=self.device)
        for s in _chunks(n):
            x = self.val_images[s].float().div_(255)
            mu, logvar = self.model.encode(x)
            z = mu + torch.exp(0.5 * logvar) * self.val_eps[s]
            w = (s.stop - s.start) / n
            recon += reconstruction_loss(self.model.decode(z), x).item() * w
            kl_d = kl_per_dimension(mu, logvar)
            kl += kl_d.sum().item() * w
            kl_dim += kl_d * w
        self.model.train()
        return {"val_recon": recon, "val_kl": kl, "val_loss": recon + self.config.beta * kl,
                "val_active_dims": float(active_dims(kl_dim))}

    def extra_tensors(self) -> dict[str, torch.Tensor]:
        """A Gaussian fitted to the codes of up to LATENT_FIT_IMAGES training images, saved
        with each checkpoint so the page can sample where the codes are (about 1 s)."""
        images = self.images[:LATENT_FIT_IMAGES].permute(0, 2, 3, 1).cpu().numpy()
        mean, cov = fit_latent_gaussian(self.model, images)
        self.model.train()
        return {"latent_mean": torch.from_numpy(mean), "latent_cov": torch.from_numpy(cov),
                # where the epoch's shuffle stands, so a resumed run sees the same batches
                "batch_rng": self.batch_gen.get_state(), "batch_order": self.order.clone(),
                "batch_pos": torch.tensor(self.pos)}

    def load_extra_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if "batch_rng" in tensors:
            self.batch_gen.set_state(tensors["batch_rng"].to(torch.uint8))
        order = tensors.get("batch_order")
        if order is not None and (len(order) == 0 or int(order.max()) < len(self.images)):
            self.order = order.long()
            self.pos = int(tensors.get("batch_pos", torch.tensor(0)))

    def snapshot(self, step: int) -> dict[str, np.ndarray]:
        originals = self.val_images[:8].permute(0, 2, 3, 1).cpu().numpy()
        recons = reconstruct(self.model, originals)
        self.model.train()
        return {"recon_grid": image_grid(np.concatenate([originals, recons]), ncols=8)}

    # -- shipped checkpoint and evaluation ------------------------------------------
    @classmethod
    def pretrain_plan(cls) -> list[PretrainItem]:
        return [PretrainItem(SHIPPED_FILE, PRETRAIN_SETTINGS, max_seconds=3600),
                PretrainItem(PLAIN_FILE, {**PRETRAIN_SETTINGS, "beta": 0.0}, max_seconds=3600)]

    @classmethod
    def evaluate_cli(cls, args) -> dict:
        """recon_mse, kl, active_dims, n on the held-out galaxies (the checkpoint says arch and size), probe_accuracy."""
        return evaluate(load_vae(args.checkpoint).modules["vae"])

    @classmethod
    def linear_probe(cls, trained) -> float:
        """On the latent means."""
        return probe(trained.modules["vae"])
