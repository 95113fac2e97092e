"""Masked autoencoder on rendered galaxy images: its config and its Task for the training loop.

The network, the masking and the loss are in autoenc.models.mae (with the formula); what the
page does with a trained MAE is in autoenc.inference.mae. The recipe follows the paper's at a
laptop's scale: AdamW (betas 0.9, 0.95, weight decay 0.05), a linear warm-up and a cosine
decay, random orientations as the only augmentation.
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
from autoenc.inference import mae as inference
from autoenc.models.mae import MaskedAutoencoder, default_patch, masked_loss, patch_targets
from autoenc.runs import bundle_use
from autoenc.train.augment import random_orientation
from autoenc.train.task import PretrainItem, Task, TrainSettings, setting

SIZES = (32, 64)
PATCHES = (0, 4, 8, 16)
SHIPPED_FILE = "mae-64.safetensors"
SNAPSHOT_IMAGES = 8
WARMUP = 0.05                    # share of the run spent raising the learning rate
PRETRAIN_SETTINGS = {"image_size": 64, "steps": 8000, "batch_size": 64, "n_images": 20_000, "seed": 0,
                     "data_seed": 0}


@dataclass
class MAEConfig(TrainSettings):
    steps: int = setting(4000, "optimisation steps to train for", lo=1, hi=10_000_000)
    batch_size: int = setting(64, "images per step", lo=1, hi=4096)
    lr: float = setting(1e-3, "peak AdamW learning rate (warm-up, then cosine decay to a tenth)", lo=1e-7, hi=1.0)
    eval_every: int = setting(200, "steps between validation passes", lo=1)
    image_size: int = setting(64, "image side in pixels: 32 or 64", choices=SIZES)
    patch_size: int = setting(0, "patch side in pixels (0: an 8 x 8 grid of patches, 8 px at 64 px)", choices=PATCHES)
    mask_ratio: float = setting(0.75, "share of the patches hidden from the encoder while training", lo=0.05, hi=0.95)
    norm_pix: bool = setting(False, "predict each hidden patch's pixels normalised by its own mean and spread "
                                    "(the paper's best setting) instead of the pixels themselves")
    dim: int = setting(128, "width of the ViT encoder", lo=16, hi=1024)
    depth: int = setting(4, "transformer blocks in the encoder", lo=1, hi=24)
    heads: int = setting(4, "attention heads (the width must divide by it)", lo=1, hi=16)
    decoder_dim: int = setting(64, "width of the light decoder", lo=16, hi=1024)
    decoder_depth: int = setting(2, "transformer blocks in the decoder", lo=1, hi=12)
    weight_decay: float = setting(0.05, "AdamW weight decay", lo=0.0, hi=1.0)
    n_images: int = setting(6000, "rendered training images (a third per class)", lo=2, hi=200_000)
    data_seed: int = setting(0, "seed of the rendered training set", lo=0)
    data: str = setting("rendered", "galaxy set to train on: rendered, or a set imported on the Datasets page")

    @property
    def patch(self) -> int:
        # every choice of patch divides every choice of size into at least 2 x 2 patches
        return self.patch_size or default_patch(self.image_size)

    def check(self) -> None:
        for width, what in ((self.dim, "dim"), (self.decoder_dim, "decoder_dim")):
            if width % self.heads:
                raise UserError(f"{what} {width} must divide by heads {self.heads}")
        if self.data_seed in (heldout.MAE_GALAXIES.seed, heldout.PROBE_GALAXIES.seed):
            raise UserError(f"data_seed {self.data_seed} is a held-out set's seed; pick another")


class MAETask(Task):
    name = "mae"
    Config = MAEConfig
    chart_metrics = {"loss": "masked-patch loss (train)", "val_masked_mse": "masked MSE (validation)",
                     "val_baseline_mse": "baseline: visible mean (validation)"}
    best_metric = ("val_masked_mse", True)
    history_sample = "recon_grid"
    usage_snippet = bundle_use.MAE
    synced_modules = {"model": "forward"}

    def __init__(self, config: MAEConfig, device: torch.device):
        super().__init__(config, device)
        cfg = config
        train = training_set(cfg.data, cfg.n_images, cfg.image_size, cfg.data_seed)
        if len(train) < 2:
            raise UserError(f"the training set has {len(train)} image(s); an MAE needs at least 2")
        self.images = torch.from_numpy(np.ascontiguousarray(train.images)).permute(0, 3, 1, 2).contiguous().to(device)
        self.val = heldout.MAE_GALAXIES.images(cfg.image_size).images
        self.model = self.build_modules(cfg)["mae"].to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, betas=(0.9, 0.95),
                                     weight_decay=cfg.weight_decay)
        # on the device, as the batches they draw: no copies from the host in a step
        self.batch_gen = torch.Generator(device).manual_seed(cfg.seed)
        self.mask_gen = torch.Generator(device).manual_seed(cfg.seed + 1)

    @classmethod
    def build_modules(cls, config: MAEConfig) -> dict[str, nn.Module]:
        return {"mae": MaskedAutoencoder(config.image_size, config.patch, config.dim, config.depth, config.heads,
                                         config.decoder_dim, config.decoder_depth, config.heads)}

    def modules(self) -> dict[str, nn.Module]:
        return {"mae": self.model}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"adamw": self.opt}

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.images) / self.config.batch_size))

    def shard(self, rank: int, size: int, seed: int) -> None:
        self.images = self.images[rank::size]
        self.batch_gen.manual_seed(seed)
        self.mask_gen.manual_seed(seed + 1)

    def learning_rate(self, step: int) -> float:
        frac = min(max(step / max(self.config.steps, 1), 0.0), 1.0)
        if frac < WARMUP:
            return self.config.lr * (frac + 1 / max(self.config.steps, 1)) / WARMUP
        frac = (frac - WARMUP) / (1 - WARMUP)
        return self.config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    def update(self, step: int) -> dict[str, torch.Tensor]:
        self.model.train()
        for group in self.opt.param_groups:
            group["lr"] = self.learning_rate(step)
        idx = torch.randint(len(self.images), (self.rank_batch,), generator=self.batch_gen, device=self.device)
        x = random_orientation(self.images[idx].float().div_(255), self.batch_gen)
        with self.autocast():
            pred, mask = self.sync("model")(x, self.config.mask_ratio, self.mask_gen)
            loss = masked_loss(pred, patch_targets(x, self.model.patch_size, self.config.norm_pix), mask)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach()}

    def validate(self, step: int) -> dict[str, float]:
        """The held-out galaxies' masked MSE in pixels at the training mask ratio and a fixed
        mask, beside the visible-mean baseline on the same masks."""
        mine, base = inference.masked_errors(self.model, self.val, self.config.mask_ratio,
                                             norm_pix=self.config.norm_pix)
        self.model.train()
        return {"val_masked_mse": float(mine.mean()), "val_baseline_mse": float(base.mean())}

    def snapshot(self, step: int) -> dict[str, np.ndarray]:
        """Rows: 8 held-out galaxies masked (the same mask every time), their reconstructions, the originals."""
        shown = self.val[:SNAPSHOT_IMAGES]
        out = inference.reconstruct(self.model, shown, self.config.mask_ratio, seed=0, norm_pix=self.config.norm_pix)
        self.model.train()
        return {"recon_grid": image_grid(np.concatenate([out.masked, out.reconstruction, shown]), ncols=SNAPSHOT_IMAGES)}

    def extra_tensors(self) -> dict[str, torch.Tensor]:
        return {"batch_rng": self.batch_gen.get_state(), "mask_rng": self.mask_gen.get_state()}

    def load_extra_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        for name, gen in (("batch_rng", self.batch_gen), ("mask_rng", self.mask_gen)):
            if name in tensors:
                try:
                    gen.set_state(tensors[name].cpu().to(torch.uint8))
                except RuntimeError:    # saved on another device type: its state does not fit here
                    pass

    # -- shipped checkpoint and evaluation ------------------------------------------
    @classmethod
    def pretrain_plan(cls) -> list[PretrainItem]:
        return [PretrainItem(SHIPPED_FILE, PRETRAIN_SETTINGS, max_seconds=3600)]

    @classmethod
    def add_eval_arguments(cls, parser) -> None:
        parser.add_argument("--mask-ratio", type=float, default=inference.EVAL_RATIO,
                            help="share of each held-out image's patches hidden (default 0.75)")

    @classmethod
    def evaluate_cli(cls, args) -> dict:
        """masked_mse, baseline_mse, probe_accuracy, n on the held-out galaxies (a fixed mask)."""
        if not 0.0 < args.mask_ratio < 1.0:
            raise UserError(f"--mask-ratio must be between 0 and 1, not {args.mask_ratio}")
        return inference.evaluate(inference.load_mae(args.checkpoint), args.mask_ratio)

    @classmethod
    def linear_probe(cls, trained) -> float:
        """On the encoder's output over all patches, averaged."""
        return inference.probe(trained.modules["mae"])
