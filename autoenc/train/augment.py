"""Random orientations of galaxy images: a galaxy's class has no orientation, so turning
and mirroring them changes nothing the models should learn."""
from __future__ import annotations

import torch

from autoenc.train.precision import to_device


def random_orientation(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each image of (B, C, H, W), H = W, mirrored or not and turned by 0-3 quarter turns,
    drawn per image (differentiable: a generator's gradient passes through).

    Galaxies are seen at every angle, so the data's distribution does not change (unlike a
    crop or a colour jitter, which would leak into the samples: Zhao et al. 2020, DiffAugment,
    apply theirs to real and fake alike for that reason, as we do). A critic that sees only
    turned images cannot lean on cues tied to one orientation, nor can a generator that
    fools it."""
    b, dev = images.shape[0], images.device
    turns = torch.randint(4, (b,), generator=gen, device=dev).view(b, 1, 1, 1)
    mirror = (torch.rand(b, generator=gen, device=dev) < 0.5).view(b, 1, 1, 1)
    x = torch.where(mirror, images.flip(3), images)
    out = x
    for q in (1, 2, 3):
        out = torch.where(turns == q, torch.rot90(x, q, (2, 3)), out)
    return out


def flip_turn_jitter(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The classifier's augmentation: one flip and quarter turn for the batch, and a
    brightness jitter per image."""
    if torch.rand((), generator=gen) < 0.5:
        x = x.flip(3)
    k = int(torch.randint(4, (), generator=gen))
    x = torch.rot90(x, k, (2, 3))
    return x * (1 + 0.1 * to_device(torch.randn(len(x), 1, 1, 1, generator=gen), x.device))
