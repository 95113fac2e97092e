"""Settings of the four GANs: DCGAN's for the BCE GAN and acGAN (Radford et al. 2016), and
the two Wasserstein GANs' (Gulrajani et al. 2017, Algorithm 1) with their penalties; and the
recipe each shipped checkpoint was made with."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from autoenc.errors import UserError
from autoenc.models.gan import IMAGE_SIZES, NORMS, Z_DIM
from autoenc.train.precision import PRECISIONS
from autoenc.train.task import TrainSettings, setting


@dataclass
class GANConfig(TrainSettings):
    """DCGAN with the BCE loss (Radford et al. 2016)."""
    steps: int = setting(3000, "generator steps to train for", lo=1, hi=10_000_000)
    batch_size: int = setting(64, "images per batch (DCGAN: 64)", lo=2, hi=1024)
    lr: float = setting(2e-4, "Adam learning rate of both nets (DCGAN: 2e-4)", lo=1e-7, hi=1.0)
    critic_lr: float = setting(0.0, "Adam learning rate of the critic alone; 0 = lr (Heusel et al. 2017's "
                                    "two time-scale rule trains the critic faster than the generator)",
                               lo=0.0, hi=1.0)
    # A validation pass (256 samples through the classifier) costs about 10 steps of a 32 px
    # GAN: every 200 steps keeps it near 5 % of the time (bench: gan.metrics_overhead).
    eval_every: int = setting(200, "steps between validation passes (class histogram, coverage, KID)", lo=1)
    checkpoint_every: int = setting(250, "steps between checkpoints (a 32 px step takes ~0.1 s)", lo=1)
    image_size: int = setting(32, "image side in pixels (32 trains live on a CPU; 64 is the shipped size)",
                              choices=IMAGE_SIZES)
    ngf: int = setting(32, "generator width: channels of its last hidden layer (G is 1.1 M params at 64 px)",
                       lo=4, hi=256)
    ndf: int = setting(32, "critic width: channels of its first layer", lo=4, hi=256)
    z_dim: int = setting(Z_DIM, "length of the noise vector z", lo=1, hi=1024)
    n_critic: int = setting(1, "critic updates per generator update", lo=1, hi=20)
    betas: tuple = setting((0.5, 0.999), "Adam betas (DCGAN: 0.5, 0.999; beta1 0.9 made DCGAN unstable)")
    critic_norm: str = setting("batch", "normalisation in the critic (DCGAN: batch)", choices=NORMS)
    n_images: int = setting(3000, "rendered training images (cached on disk after the first run)",
                            lo=16, hi=200_000)
    data_seed: int = setting(0, "seed of the rendered training set", lo=0)
    data: str = setting("rendered", "galaxy set to train on: rendered, or a set imported on the Datasets page")
    # Off for DCGAN and acGAN (their lr of 2e-4 and 1 critic step darken the sky within a
    # few hundred steps, and their shipped checkpoints have no output bias); on for the WGANs.
    sky_bias: bool = setting(False, "give the generator an output bias that starts at a dark sky")
    precision: str = setting("auto", "arithmetic of the nets: fp32; bf16 (mixed precision: the convolutions "
                                     "in bfloat16, weights, optimiser and losses in fp32); auto = bf16 where "
                                     "the CPU computes it natively, else fp32", choices=PRECISIONS)
    # Off by default: at 64 px it measured no better (docs/checkpoints.md).
    ema_decay: float = setting(0.0, "decay of an exponential moving average of the generator's weights, "
                                    "which then draws every sample (0 = off; 0.999 averages over "
                                    "about the last 1000 steps)", lo=0.0, hi=0.9999)
    augment: bool = setting(False, "show the critic every image, real and generated, turned by a random flip "
                                   "and quarter turn (differentiable, so the generator's gradient passes "
                                   "through): a galaxy has no orientation, and the critic can no longer lean "
                                   "on cues of one")

    def check(self) -> None:
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise UserError(f"betas must be two numbers in [0, 1), not {self.betas!r}")


@dataclass
class ACGANConfig(GANConfig):
    """acGAN: the DCGAN settings and the weights of the two class losses."""
    fake_class_weight: float = setting(1.0, "weight of the class loss on generated images in the critic's loss "
                                            "(Odena et al.: 1; 0 trains the class head on real galaxies only)",
                                       lo=0.0, hi=10.0)
    class_weight: float = setting(1.0, "weight of the class loss in the generator's loss (Odena et al.: 1)",
                                  lo=0.0, hi=100.0)


@dataclass
class WGANConfig(GANConfig):
    """Settings the two WGANs share (Gulrajani et al. 2017, Algorithm 1)."""
    lr: float = setting(1e-4, "Adam learning rate of both nets (WGAN-GP: 1e-4)", lo=1e-7, hi=1.0)
    n_critic: int = setting(5, "critic updates per generator update (WGAN-GP: 5)", lo=1, hi=20)
    # beta1 = 0: momentum works against a critic chasing a moving generator; WGAN-GP's
    # paper uses (0, 0.9) and the original WGAN avoided momentum for the same reason.
    betas: tuple = setting((0.0, 0.9), "Adam betas (WGAN-GP: 0, 0.9: no momentum for the critic)")
    critic_norm: str = setting("layer", "normalisation in the critic: per-sample only, the penalty is per sample",
                               choices=NORMS)
    steps: int = setting(1000, "generator steps to train for (each takes n_critic critic steps)",
                         lo=1, hi=10_000_000)
    checkpoint_every: int = setting(100, "steps between checkpoints", lo=1)
    # a WGAN step (5 critic steps) costs 6-8 GAN steps, so evaluating 4x as often costs the same share
    eval_every: int = setting(50, "steps between validation passes (class histogram, coverage, KID)", lo=1)
    sky_bias: bool = setting(True, "give the generator an output bias that starts at a dark sky (models/gan.py: "
                                   "at lr 1e-4 the sky otherwise stays grey for thousands of steps)")

    def check(self) -> None:
        super().check()
        if self.critic_norm == "batch":
            raise UserError("a WGAN critic cannot use BatchNorm: the gradient penalty is taken per sample, and "
                            "BatchNorm makes each sample's score depend on the rest of the batch; "
                            "pick layer, instance or none")


@dataclass
class WGANGPConfig(WGANConfig):
    gp_lambda: float = setting(10.0, "gradient-penalty weight lambda (WGAN-GP: 10)", lo=0.0, hi=1000.0)


@dataclass
class WGANDivConfig(WGANConfig):
    div_k: float = setting(2.0, "penalty weight k (WGAN-div: 2)", lo=0.0, hi=1000.0)
    div_p: float = setting(6.0, "gradient-norm power p (WGAN-div: 6)", lo=1.0, hi=20.0)


@dataclass(frozen=True)
class Recipe:
    """How the shipped 64 px checkpoint of a GAN is made (docs/checkpoints.md says why)."""
    steps: int
    batch_size: int = 64
    max_seconds: float = 2400.0
    precision: str = "fp32"
    ema_decay: float = 0.0
    then: tuple[dict, ...] = ()     # later stages of the same run (PretrainItem.then)


def adam(params, cfg: GANConfig, device: torch.device, lr: float | None = None) -> torch.optim.Adam:
    # fused Adam: one kernel over all parameters (CPU since torch 2.4, and CUDA) instead
    # of a handful of small ops per parameter tensor.
    return torch.optim.Adam(params, lr=lr or cfg.lr, betas=tuple(cfg.betas), fused=device.type in ("cpu", "cuda"))
