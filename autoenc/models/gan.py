"""DCGAN-style generators and critics (Radford et al. 2016), one family for all four GANs.

Generator: z (B, z_dim) -> a 4x4 map from a transposed conv, then stride-2 transposed
convs that double the side until `image_size` (32, 64 or 128), BatchNorm + ReLU between
them and tanh at the end, so images are NCHW float in [-1, 1]. Channels halve at each
doubling, from ngf * 8 (ngf * 4 at 32 px) down to ngf.

Critic: the mirror image, stride-2 convs with LeakyReLU(0.2) down to 4x4, then a 4x4
conv to one logit per image (B,). `norm` picks what follows each inner conv:
  "batch"     BatchNorm, as in DCGAN (the BCE GAN and acGAN);
  "layer"     GroupNorm with one group = layer norm over (C, H, W) of each sample, which
              Gulrajani et al. (2017) suggest for WGAN-GP: the gradient penalty is per
              sample, and BatchNorm would make one sample's output depend on the others;
  "instance"  InstanceNorm with affine weights (also per sample);
  "none"      plain convs with biases.

Conditional variants for acGAN (Odena et al. 2017): the generator multiplies a learnt
class embedding into z (as DESIGN §3 and the common PyTorch-GAN acGAN do), and the critic
has one more head of `n_classes` class logits beside the real/fake logit.

Both nets have a `compute_dtype`: None runs them in fp32; torch.bfloat16 runs them under
autocast (mixed precision: weights and outputs stay fp32), which training sets where the
CPU computes bf16 natively (train/gan.py: compute_dtype).

Weights are drawn N(0, 0.02) and norm scales N(1, 0.02), as the DCGAN paper prescribes.
At 64 px with ngf = ndf = 32, G has 1.1 M parameters (4.4 MB) and D 0.69 M (2.8 MB).
"""
from __future__ import annotations

import math

import torch
from torch import nn

Z_DIM = 100
IMAGE_SIZES = (32, 64, 128)
N_CLASSES = 3
NORMS = ("batch", "layer", "instance", "none")
MAX_MULT = 8          # widest layer = 8 x ngf (ndf), as in DCGAN's 64 px nets
# tanh(-1.25) = -0.85, a pixel of 0.076 in [0, 1]: the dark sky of a galaxy thumbnail. A
# generator whose output bias starts there draws sky from step one; from 0 (mid grey),
# Adam moves a bias by about lr per step, so at WGAN-GP's lr of 1e-4 the sky stayed grey
# for the first thousands of steps.
SKY_TANH = -1.25


def _n_doublings(image_size: int) -> int:
    """Stride-2 layers between 4x4 and the image: 3 at 32 px, 4 at 64, 5 at 128."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {IMAGE_SIZES}, not {image_size}")
    return round(math.log2(image_size / 4))


def _widths(base: int, image_size: int) -> list[int]:
    """Channels at 4x4, 8x8, ... up to image_size / 2 (deepest first)."""
    n = _n_doublings(image_size)
    return [base * min(2 ** (n - 1 - i), MAX_MULT) for i in range(n)]


def init_weights(module: nn.Module) -> None:
    """DCGAN init: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _run(fn, x: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """fn(x), under autocast to `dtype` when one is given, with an fp32 result."""
    if dtype is None:
        return fn(x)
    with torch.autocast(x.device.type, dtype=dtype):
        return fn(x).float()


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {NORMS}, not {kind!r}")


class Generator(nn.Module):
    """z (B, z_dim) -> images (B, 3, S, S) in [-1, 1]."""

    compute_dtype: torch.dtype | None = None

    def __init__(self, image_size: int = 64, ngf: int = 32, z_dim: int = Z_DIM, sky_bias: bool = False):
        super().__init__()
        self.image_size, self.ngf, self.z_dim = image_size, ngf, z_dim
        self.n_classes = 0
        w = _widths(ngf, image_size)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, w[0], 4, 1, 0, bias=False),          # 1 -> 4
            nn.BatchNorm2d(w[0]), nn.ReLU(True),
        ]
        for c_in, c_out in zip(w[:-1], w[1:]):                              # 4 -> S/2
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(w[-1], 3, 4, 2, 1, bias=sky_bias), nn.Tanh()]  # S/2 -> S
        self.net = nn.Sequential(*layers)
        init_weights(self)
        if sky_bias:
            with torch.no_grad():
                layers[-2].bias.fill_(SKY_TANH)

    def latent(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """What the first layer sees, (B, z_dim, 1, 1)."""
        return z.reshape(len(z), self.z_dim, 1, 1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return _run(self.net, self.latent(z, labels), self.compute_dtype)


class ConditionalGenerator(Generator):
    """(z (B, z_dim), labels (B,) int64) -> images; the class embedding multiplies z."""

    def __init__(self, image_size: int = 64, ngf: int = 32, z_dim: int = Z_DIM, n_classes: int = N_CLASSES,
                 sky_bias: bool = False):
        super().__init__(image_size, ngf, z_dim, sky_bias)
        self.n_classes = n_classes
        self.class_embedding = nn.Embedding(n_classes, z_dim)   # N(0, 1) rows, as nn.Embedding draws them

    def latent(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            raise ValueError("a conditional generator needs class labels")
        return (self.class_embedding(labels) * z).reshape(len(z), self.z_dim, 1, 1)


class Critic(nn.Module):
    """images (B, 3, S, S) -> one real/fake logit per image, (B,). No sigmoid: losses take logits."""

    compute_dtype: torch.dtype | None = None

    def __init__(self, image_size: int = 64, ndf: int = 32, norm: str = "batch", n_classes: int = 0):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, not {norm!r}")
        self.image_size, self.ndf, self.norm, self.n_classes = image_size, ndf, norm, n_classes
        w = _widths(ndf, image_size)[::-1]                                   # ndf ... widest
        bias = norm == "none"
        layers: list[nn.Module] = [nn.Conv2d(3, w[0], 4, 2, 1, bias=bias), nn.LeakyReLU(0.2, True)]  # S -> S/2
        for c_in, c_out in zip(w[:-1], w[1:]):                                # S/2 -> 4
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), _norm(norm, c_out), nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)
        # one conv for both heads: channel 0 is the real/fake logit, the rest class logits
        self.head = nn.Conv2d(w[-1], 1 + n_classes, 4, 1, 0)                 # 4 -> 1
        init_weights(self)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1 + n_classes)."""
        return _run(lambda t: self.head(self.features(t)), x, self.compute_dtype).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)[:, 0]


class ConditionalCritic(Critic):
    """images -> (real/fake logits (B,), class logits (B, n_classes))."""

    def __init__(self, image_size: int = 64, ndf: int = 32, norm: str = "batch", n_classes: int = N_CLASSES):
        super().__init__(image_size, ndf, norm, n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:   # type: ignore[override]
        out = self.logits(x)
        return out[:, 0], out[:, 1:]


def build_generator(image_size: int = 64, ngf: int = 32, z_dim: int = Z_DIM, n_classes: int = 0,
                    sky_bias: bool = False) -> Generator:
    if n_classes:
        return ConditionalGenerator(image_size, ngf, z_dim, n_classes, sky_bias)
    return Generator(image_size, ngf, z_dim, sky_bias)


def build_critic(image_size: int = 64, ndf: int = 32, norm: str = "batch", n_classes: int = 0) -> Critic:
    if n_classes:
        return ConditionalCritic(image_size, ndf, norm, n_classes)
    return Critic(image_size, ndf, norm)
