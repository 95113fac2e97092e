"""Masked autoencoder (He et al. 2021, "Masked Autoencoders Are Scalable Vision Learners").

An image is cut into square patches. A random share of them (the mask ratio, 75 % by
default) is hidden; the encoder, a small Vision Transformer, sees only the visible ones. A
light decoder gets the encoder's output with a shared, learnt mask token at every hidden
position and predicts the pixels of every patch; the loss counts only the hidden ones:

    L = (1 / |M|) sum_{i in M} || x_i - x_hat_i ||^2 / (p * p * 3)

M the masked patches, x_i a patch's pixels (optionally normalised by its own mean and
spread, as the paper's best models do). After training the decoder is thrown away: the
encoder's output on all patches, averaged, is the image's feature vector.
"""
from __future__ import annotations

import torch
from torch import nn

CHANNELS = 3


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, L, patch * patch * C), patches row by row, each patch's pixels
    row by row with their channels last."""
    n, c, h, w = x.shape
    gh, gw = h // patch, w // patch
    x = x.reshape(n, c, gh, patch, gw, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, gh * gw, patch * patch * c)


def unpatchify(patches: torch.Tensor, patch: int, size: int) -> torch.Tensor:
    """The inverse of patchify for square images of side `size`."""
    n, g = patches.shape[0], size // patch
    x = patches.reshape(n, g, g, patch, patch, CHANNELS)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(n, CHANNELS, size, size)


def random_masking(n: int, n_patches: int, ratio: float, generator: torch.Generator | None = None,
                   device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, a random set of round(L * (1 - ratio)) visible patches (at least one).
    Returns keep (N, n_keep) the visible patches' indices, sorted, and mask (N, L) bool,
    True where a patch is hidden."""
    n_keep = max(1, min(n_patches, round(n_patches * (1 - ratio))))
    # drawn where the generator is (the training task's is on its device), then moved
    noise = torch.rand(n, n_patches, generator=generator, device=generator.device if generator else "cpu").to(device)
    keep = noise.argsort(dim=1)[:, :n_keep].sort(dim=1).values
    mask = torch.ones(n, n_patches, dtype=torch.bool, device=device)
    mask.scatter_(1, keep, False)
    return keep, mask


def sincos_positions(dim: int, grid: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine position codes (L, dim), as the paper uses: half the numbers
    encode the patch's row, half its column."""
    quarter = dim // 4
    freq = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float32) / max(quarter, 1))
    rows, cols = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32),
                                indexing="ij")
    parts = []
    for pos in (rows.reshape(-1), cols.reshape(-1)):
        angle = pos[:, None] * freq[None]
        parts += [angle.sin(), angle.cos()]
    out = torch.cat(parts, dim=1)
    return torch.nn.functional.pad(out, (0, dim - out.shape[1]))


def _blocks(dim: int, depth: int, heads: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=4 * dim, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


class MaskedAutoencoder(nn.Module):
    def __init__(self, image_size: int = 64, patch_size: int = 8, dim: int = 128, depth: int = 4, heads: int = 4,
                 decoder_dim: int = 64, decoder_depth: int = 2, decoder_heads: int = 4):
        super().__init__()
        self.image_size, self.patch_size = image_size, patch_size
        self.grid = image_size // patch_size
        self.n_patches = self.grid * self.grid
        patch_numbers = patch_size * patch_size * CHANNELS
        self.embed = nn.Linear(patch_numbers, dim)
        self.register_buffer("pos", sincos_positions(dim, self.grid)[None], persistent=False)
        self.encoder = _blocks(dim, depth, heads)
        self.norm = nn.LayerNorm(dim)
        self.to_decoder = nn.Linear(dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.register_buffer("decoder_pos", sincos_positions(decoder_dim, self.grid)[None], persistent=False)
        self.decoder = _blocks(decoder_dim, decoder_depth, decoder_heads)
        self.decoder_norm = nn.LayerNorm(decoder_dim)
        self.head = nn.Linear(decoder_dim, patch_numbers)
        nn.init.normal_(self.mask_token, std=0.02)
        self.apply(_init)

    @property
    def feature_dim(self) -> int:
        return self.embed.out_features

    def encode(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Images (N, 3, S, S) in [0, 1] -> the encoder's output (N, n_keep, dim) for the
        visible patches `keep` (all when None). Hidden patches are dropped before the first
        layer, so nothing of them reaches the encoder."""
        tokens = self.embed(patchify(x, self.patch_size)) + self.pos
        if keep is not None:
            tokens = tokens.gather(1, keep[..., None].expand(-1, -1, tokens.shape[-1]))
        return self.norm(self.encoder(tokens))

    def decode(self, latent: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Encoder output of the visible patches -> predicted pixels of every patch (N, L, p*p*3)."""
        n = latent.shape[0]
        visible = self.to_decoder(latent)
        # in the encoder's dtype: bf16 under a GPU's autocast
        tokens = self.mask_token.to(visible.dtype).expand(n, self.n_patches, -1).clone()
        tokens.scatter_(1, keep[..., None].expand(-1, -1, visible.shape[-1]), visible)
        return self.head(self.decoder_norm(self.decoder(tokens + self.decoder_pos)))

    def forward(self, x: torch.Tensor, mask_ratio: float = 0.75,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(predicted patches (N, L, p*p*3), mask (N, L), True where hidden)."""
        keep, mask = random_masking(len(x), self.n_patches, mask_ratio, generator, x.device)
        return self.decode(self.encode(x, keep), keep), mask

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The image's representation for a linear probe: the encoder's output on all
        patches, averaged (N, dim)."""
        return self.encode(x).mean(dim=1)


def _init(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def patch_targets(x: torch.Tensor, patch: int, normalise: bool) -> torch.Tensor:
    """What the decoder is asked for: each patch's pixels, or (normalise) the pixels minus
    the patch's mean over its spread, so flat and busy patches weigh the same."""
    target = patchify(x, patch)
    if normalise:
        mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
        target = (target - mean) / (var + 1e-6).sqrt()
    return target


def masked_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error per number over the hidden patches only (visible ones count 0)."""
    per_patch = (pred - target).pow(2).mean(-1)
    m = mask.to(per_patch.dtype)
    return (per_patch * m).sum() / m.sum().clamp_min(1)


def describe(image_size: int, patch_size: int, dim: int, depth: int) -> str:
    grid = image_size // patch_size
    return f"{image_size} px images cut into {grid}x{grid} patches of {patch_size} px, a {depth}-layer ViT encoder of width {dim}"


def default_patch(image_size: int) -> int:
    """An 8 x 8 grid of patches at any size: 64 tokens, 16 of them visible at 75 %."""
    return max(1, image_size // 8)

