"""Variational autoencoders for RGB galaxy thumbnails, and their loss (Kingma & Welling 2014).

Two architectures with the same named steps (as in pytorch/examples/vae):
    encode(x) -> (mu, logvar)      x: (B, 3, S, S) float in [0, 1]; mu, logvar: (B, latent)
    reparameterize(mu, logvar) -> z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)
    decode(z) -> x_hat             (B, 3, S, S) in [0, 1] (sigmoid)
    forward(x) -> (x_hat, mu, logvar)

PaperVAE is the article's MLP: flatten 3*S*S (49,152 at 128 px) -> 500, ReLU, -> mu (50) and
logvar (50); decoder 50 -> 500, ReLU, -> 3*S*S, sigmoid. 49 M parameters at 128 px
(197 MB float32), almost all in the two 49152 x 500 matrices.

ConvVAE is the small convolutional VAE the app ships: stride-2 4x4 convolutions halve the
image down to 4 x 4 (4 stages at 64 px, 3 at 32 px, 5 at 128 px), one linear layer to
mu and logvar, and the mirror image with transposed convolutions back up. Channels
32, 64, 128, 128: 1.16 M parameters (4.7 MB float32) at 64 px, 0.64 M at 32, 1.69 M at 128.
No normalisation layers, so train and eval modes differ only in the sampling of z.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

ARCHES = ("conv", "paper")
# A latent dimension whose mean KL is above this (nats) carries information (active_dims).
ACTIVE_KL = 0.01
SKY_LOGIT = -2.5           # sigmoid(-2.5) = 0.076, about the mean pixel of a galaxy thumbnail


class _VAE(nn.Module):
    """Shared named steps; subclasses provide encode and decode."""

    arch: str = ""
    image_size: int
    latent_dim: int

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps: the sample is a differentiable function of mu and logvar."""
        if not self.training:
            return mu
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1]: the sigmoid of the decoder's logits."""
        return torch.sigmoid(self.decode_logits(z))

    def training_loss(self, x: torch.Tensor, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """vae_loss of one forward pass: (total, recon, kl)."""
        x_hat, mu, logvar = self(x)
        return vae_loss(x_hat, x, mu, logvar, beta)

    def describe(self) -> str:
        return describe(self.arch, self.image_size, self.latent_dim)

    def logvar_layer(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The weight rows and bias of the layer whose outputs are logvar."""
        raise NotImplementedError

    def start_posteriors_at(self, logvar: float) -> None:
        """Start every image's posterior at variance exp(logvar): the logvar outputs' bias at
        it, their weights at a tenth of their init. From the default (logvar about 0) each code
        is drowned in noise of variance 1 until the encoder learns to narrow it, and the decoder
        learns little meanwhile; from sharp codes it learns as an autoencoder's would, and the
        KL term widens them from there."""
        weight, bias = self.logvar_layer()
        with torch.no_grad():
            bias.fill_(logvar)
            weight.mul_(0.1)


def describe(arch: str, image_size: int, latent_dim: int | None = None) -> str:
    """'conv VAE at 64 px (latent 50)': how messages name an architecture."""
    text = f"{arch} VAE at {image_size} px"
    return text + (f" (latent {latent_dim})" if latent_dim is not None else "")


class TransposedLinear(nn.Linear):
    """nn.Linear holding its weight as (in, out) rather than (out, in); the same init.

    For the paper decoder's 500 -> 49152 layer this makes the weight gradient
    h^T g, a (500, B) x (B, 49152) product, which MKL runs ~5 % faster per step than
    the (49152, B) x (B, 500) one nn.Linear's layout asks for (measured at batch 1024)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features)
        self.weight = nn.Parameter(self.weight.detach().t().contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x, self.weight)


class PaperVAE(_VAE):
    """The article's fully connected VAE: 3*S*S -> hidden -> (mu, logvar); latent -> hidden -> 3*S*S."""

    arch = "paper"

    def __init__(self, image_size: int = 128, latent_dim: int = 50, hidden: int = 500):
        super().__init__()
        self.image_size, self.latent_dim = image_size, latent_dim
        n_in = 3 * image_size * image_size
        self.enc = nn.Linear(n_in, hidden)
        self.enc_mu = nn.Linear(hidden, latent_dim)
        self.enc_logvar = nn.Linear(hidden, latent_dim)
        self.dec_hidden = nn.Linear(latent_dim, hidden)
        self.dec_out = TransposedLinear(hidden, n_in)
        with torch.no_grad():
            self.dec_out.bias.fill_(SKY_LOGIT)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # self.enc(x) as a plain matmul, then the bias: for this (B, 49152) x (49152, 500)
        # product MKL's addmm (bias inside the GEMM) ran at ~56 GFLOP/s on one core, mm at
        # ~81 (batch 1024). The in-place add is safe: mm's backward needs only its inputs.
        h = F.relu(torch.mm(x.flatten(1), self.enc.weight.t()).add_(self.enc.bias))   # (B, hidden)
        return self.enc_mu(h), self.enc_logvar(h)

    def logvar_layer(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.enc_logvar.weight, self.enc_logvar.bias

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.dec_hidden(z))
        s = self.image_size
        return self.dec_out(h).view(-1, 3, s, s)

    def dense_layers(self) -> list[nn.Linear]:
        return [self.enc, self.enc_mu, self.enc_logvar, self.dec_hidden, self.dec_out]

    def training_loss(self, x: torch.Tensor, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """vae_loss of one forward pass, with the reconstruction term fused with the decoder's
        sigmoid (sigmoid_squared_error): the same values and gradients in fewer passes over
        the (B, 3, 128, 128) output, a fifth of this model's step. (On the conv VAE the
        plain loss is as fast: 66 ms a step against 65, batch 16 at 64 px, one thread.)"""
        mu, logvar = self.encode(x)
        recon = sigmoid_squared_error(self.decode_logits(self.reparameterize(mu, logvar)), x, overwrite=True)
        kl = kl_divergence(mu, logvar)
        return recon + beta * kl, recon, kl


def conv_channels(image_size: int, width: int = 32, max_channels: int = 128) -> list[int]:
    """Channels after each stride-2 stage, down to 4 x 4: 64 px, width 32 -> [32, 64, 128, 128]."""
    stages = int(round(math.log2(image_size / 4)))
    if 4 * 2 ** stages != image_size:
        raise ValueError(f"conv VAE needs a power-of-two image size of at least 8 px, not {image_size}")
    return [min(width * 2 ** i, max_channels) for i in range(stages)]


class ConvVAE(_VAE):
    """Conv encoder to 4 x 4, linear to (mu, logvar); linear to 4 x 4, transposed convs back up."""

    arch = "conv"

    def __init__(self, image_size: int = 64, latent_dim: int = 50, width: int = 32, max_channels: int = 128):
        super().__init__()
        self.image_size, self.latent_dim = image_size, latent_dim
        chans = conv_channels(image_size, width, max_channels)
        down, c_in = [], 3
        for c in chans:                                          # each stage halves the side
            down += [nn.Conv2d(c_in, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c_in = c
        self.encoder = nn.Sequential(*down)
        self.bottom = (chans[-1], 4, 4)
        flat = chans[-1] * 16
        self.to_stats = nn.Linear(flat, 2 * latent_dim)          # -> [mu | logvar]
        self.from_latent = nn.Linear(latent_dim, flat)
        up = []
        rev = chans[::-1]
        for c_in, c_out in zip(rev, rev[1:]):                    # each stage doubles the side
            up += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        up += [nn.ConvTranspose2d(rev[-1], 3, 4, stride=2, padding=1)]
        self.decoder = nn.Sequential(*up)
        with torch.no_grad():   # start at a dark sky (mean pixel ~0.07), not mid-grey, so the
            up[-1].bias.fill_(SKY_LOGIT)   # first steps learn galaxies rather than the background

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x).flatten(1)                           # (B, C * 4 * 4)
        mu, logvar = self.to_stats(h).chunk(2, dim=1)
        return mu, logvar

    def logvar_layer(self) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.latent_dim
        return self.to_stats.weight[d:], self.to_stats.bias[d:]

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.from_latent(z), 0.2).view(-1, *self.bottom)
        return self.decoder(h)


def build_vae(arch: str, image_size: int, latent_dim: int = 50) -> _VAE:
    if arch == "paper":
        return PaperVAE(image_size, latent_dim)
    if arch == "conv":
        return ConvVAE(image_size, latent_dim)
    raise ValueError(f"unknown VAE architecture {arch!r}; known: {', '.join(ARCHES)}")



# ---------------------------------------------------------------------------- losses
# Kingma & Welling (2014), "Auto-Encoding Variational Bayes", ICLR, arXiv:1312.6114.
# The loss is the negative evidence lower bound (ELBO):
#     L = E_q(z|x)[-log p(x|z)] + beta * KL(q(z|x) || N(0, I))
# With a Gaussian decoder p(x|z) = N(x_hat, sigma^2 I), -log p(x|z) is the *summed*
# squared error over all 3*S*S pixel values divided by 2 sigma^2 (plus a constant).
# We sum the squared error over each image's pixels and channels (then average over the
# batch), so beta = 2 sigma^2 and beta = 1 is the true ELBO for a decoder noise of
# sigma^2 = 1/2; a smaller beta means a decoder trusted to be sharper, a larger one
# (beta-VAE, Higgins et al. 2017) pushes the code towards the prior. A per-pixel mean
# would instead tie beta's meaning to the image size (4x smaller at 128 px than 64 px).

def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """sum over pixels and channels of (x_hat - x)^2, averaged over the batch."""
    return (x_hat - x).pow(2).flatten(1).sum(1).mean()


# Rows per pass of the loss below: temporaries of at most ~8 MB stay under glibc's mmap
# threshold (32 MB at most), so they reuse the heap instead of fresh pages each step.
LOSS_CHUNK_BYTES = 8 << 20


class _SigmoidSquaredError(torch.autograd.Function):
    """reconstruction_loss(sigmoid(logits), x), written out by hand.

    Unfused, autograd keeps and walks sigmoid, sub, pow, sum and their backward ops: about
    ten passes over the output, which for the paper VAE at batch 1024 is 50 M values, a
    fifth of a training step (DESIGN §4: its step is memory-bound beyond the matmuls).
    Here: sigmoid and a chunked squared difference forward; the gradient
    d/dlogits = 2 (x_hat - x) x_hat (1 - x_hat) / B built in place in x_hat backward.
    Every (B, 3, S, S) temporary of 200 MB (batch 1024, 128 px) is a fresh mmap that the
    kernel must fault in and zero: with `overwrite` (the logits are the decoder's fresh
    output, needed by nothing else) the step allocates none, and a paper-VAE training step
    at batch 1024 took 3.0 s instead of 3.8 s (median of 3, one thread).
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)    # a sum of 49,152 squares: not in bf16
    def forward(ctx, logits: torch.Tensor, x: torch.Tensor, overwrite: bool) -> torch.Tensor:
        x_hat = logits.sigmoid_() if overwrite else torch.sigmoid(logits)
        rows_hat, rows_x = x_hat.view(len(x_hat), -1), x.reshape(len(x), -1)
        step = max(1, LOSS_CHUNK_BYTES // (rows_hat.shape[1] * rows_hat.element_size()))
        total = x_hat.new_zeros((), dtype=torch.float64)
        for i in range(0, len(rows_hat), step):
            d = (rows_hat[i:i + step] - rows_x[i:i + step]).view(-1)
            total += torch.dot(d, d)
        ctx.save_for_backward(x_hat, x)
        ctx.step, ctx.overwrite = step, overwrite
        return (total / x_hat.shape[0]).to(x_hat.dtype)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad: torch.Tensor):
        x_hat, x = ctx.saved_tensors
        out = x_hat if ctx.overwrite else x_hat.clone()     # overwrite: x_hat is needed no more
        g, rows_x, step = out.view(len(out), -1), x.reshape(len(x), -1), ctx.step
        scale = grad * (2.0 / x_hat.shape[0])
        for i in range(0, len(g), step):
            rows = g[i:i + step]
            d = rows - rows_x[i:i + step]
            rows.addcmul_(rows, rows, value=-1.0).mul_(d).mul_(scale)   # x_hat (1 - x_hat) (x_hat - x) 2/B
        return out, None, None


def sigmoid_squared_error(logits: torch.Tensor, x: torch.Tensor, overwrite: bool = False) -> torch.Tensor:
    """reconstruction_loss(torch.sigmoid(logits), x) with a fused backward pass. overwrite:
    the logits may be overwritten (with the sigmoid, then the gradient) to save memory."""
    return _SigmoidSquaredError.apply(logits, x, overwrite)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2),
    summed over latent dimensions per image, averaged over the batch (Kingma & Welling
    2014, appendix B)."""
    return kl_per_dimension(mu, logvar).sum()


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(latent,) batch-mean KL of each latent dimension; they sum to kl_divergence. In fp32:
    under bf16 autocast 1 + logvar - exp(logvar) of a small logvar cancels to nothing."""
    mu, logvar = mu.float(), logvar.float()
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0)


def active_dims(kl_per_dim: torch.Tensor, threshold: float = ACTIVE_KL) -> int:
    """Latent dimensions whose mean KL exceeds threshold (nats): those that carry information.
    The rest have collapsed to the prior ("posterior collapse"): the decoder ignores them."""
    return int((torch.as_tensor(kl_per_dim) > threshold).sum())


def vae_loss(x_hat: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, recon, kl) with total = recon + beta * kl (per image, batch-averaged)."""
    recon = reconstruction_loss(x_hat, x)
    kl = kl_divergence(mu, logvar)
    return recon + beta * kl, recon, kl
