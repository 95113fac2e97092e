"""The trained masked autoencoder on uint8 galaxy images: masked inputs and their
reconstructions, the error on the hidden patches against a baseline, and the encoder's
features with their linear probe.

Images cross this module's boundary as uint8 (N, H, W, 3). A mask is drawn from a seed, so
the page's "new random mask" and the evaluation are repeatable. For a model trained on
normalised patches (norm_pix) a reconstruction is shown in pixels by giving each hidden
patch back its own mean and spread, which the model was never asked to predict.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from autoenc.data import heldout
from autoenc.images import check_images, to_uint8
from autoenc.metrics.probe import split_probe
from autoenc.models.mae import patchify, random_masking, unpatchify
from autoenc.trained import Trained, load_checkpoint_or_shipped

MODEL = "mae"
EVAL_RATIO = 0.75
EVAL_MASK_SEED = 2021
HIDDEN_GREY = 0.4                 # how a hidden patch is drawn in the masked input
INFERENCE_CHUNK = 256


def load_mae(path: str | Path | None = None) -> Trained:
    """A trained MAE from a checkpoint (default: the shipped one); .modules['mae'] in eval mode,
    .config.norm_pix says what its decoder predicts."""
    return load_checkpoint_or_shipped(MODEL, path)


def _floats(model: nn.Module, images) -> torch.Tensor:
    a = check_images(images, model.image_size, f"this masked autoencoder ({model.image_size} px)")
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float().div_(255)


def fixed_mask(model: nn.Module, n: int, ratio: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(keep, mask) for n images, the same for the same seed (random_masking's shapes)."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), not {ratio}")
    return random_masking(n, model.n_patches, ratio, torch.Generator().manual_seed(int(seed)))


def _predicted_pixels(model: nn.Module, x: torch.Tensor, keep: torch.Tensor, norm_pix: bool) -> torch.Tensor:
    """Predicted patches in pixel units (N, L, p*p*3)."""
    pred = model.decode(model.encode(x, keep), keep)
    if norm_pix:
        target = patchify(x, model.patch_size)
        pred = pred * (target.var(-1, keepdim=True) + 1e-6).sqrt() + target.mean(-1, keepdim=True)
    return pred


@dataclass
class Masked:
    masked: np.ndarray          # (N, S, S, 3) uint8: the visible patches, the hidden ones grey
    reconstruction: np.ndarray  # (N, S, S, 3) uint8: the visible patches with the predicted hidden ones
    mask: np.ndarray            # (N, L) bool, True where hidden
    error: np.ndarray           # (N,) MSE per pixel value over each image's hidden patches
    baseline: np.ndarray        # (N,) the same for the visible-mean baseline (visible_mean_fill)


@torch.inference_mode()
def reconstruct(model: nn.Module, images, ratio: float = EVAL_RATIO, seed: int = 0, norm_pix: bool = False) -> Masked:
    model.eval()
    x = _floats(model, images)
    keep, mask = fixed_mask(model, len(x), ratio, seed)
    p, s = model.patch_size, model.image_size
    target = patchify(x, p)
    pred = _predicted_pixels(model, x, keep, norm_pix)
    hidden = mask[..., None]
    recon = torch.where(hidden, pred, target)
    masked = torch.where(hidden, torch.full_like(target, HIDDEN_GREY), target)
    return Masked(to_uint8(unpatchify(masked, p, s)), to_uint8(unpatchify(recon, p, s)), mask.numpy(),
                  _hidden_mse(pred, target, mask).numpy(), _hidden_mse(visible_mean_fill(target, mask), target, mask).numpy())


def _hidden_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N,) mean squared error per number over each image's hidden patches."""
    m = mask.to(pred.dtype)
    return ((pred.clamp(0, 1) - target).pow(2).mean(-1) * m).sum(1) / m.sum(1).clamp_min(1)


def visible_mean_fill(target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The baseline: every hidden patch filled with its image's mean visible pixel (per channel)."""
    n, L, k = target.shape
    pixels = target.reshape(n, L, k // 3, 3)
    visible = (~mask).to(target.dtype)[..., None, None]
    mean = (pixels * visible).sum((1, 2)) / (visible.sum((1, 2)) * (k // 3)).clamp_min(1)
    return mean[:, None, None, :].expand(n, L, k // 3, 3).reshape(n, L, k)


@torch.inference_mode()
def masked_errors(model: nn.Module, images, ratio: float = EVAL_RATIO, seed: int = EVAL_MASK_SEED,
                  norm_pix: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per image, the MSE per pixel value over its hidden patches: the model's and the
    visible-mean baseline's, on the same masks."""
    model.eval()
    x = _floats(model, images)
    keep, mask = fixed_mask(model, len(x), ratio, seed)
    mine, base = [], []
    for i in range(0, len(x), INFERENCE_CHUNK):
        s = slice(i, i + INFERENCE_CHUNK)
        target = patchify(x[s], model.patch_size)
        mine.append(_hidden_mse(_predicted_pixels(model, x[s], keep[s], norm_pix), target, mask[s]))
        base.append(_hidden_mse(visible_mean_fill(target, mask[s]), target, mask[s]))
    return torch.cat(mine).numpy(), torch.cat(base).numpy()


@torch.inference_mode()
def features(model: nn.Module, images) -> np.ndarray:
    """(N, dim) float32: the encoder's output on all patches, averaged."""
    model.eval()
    x = _floats(model, images)
    return torch.cat([model.features(x[i:i + INFERENCE_CHUNK]) for i in range(0, len(x), INFERENCE_CHUNK)]).numpy()


def probe(model: nn.Module) -> float:
    """Linear-probe accuracy (barred / elliptical / spiral) of the encoder's features on the
    probe galaxies (fit on one half, scored on the other)."""
    probe_set = heldout.PROBE_GALAXIES.images(model.image_size)
    return split_probe(features(model, probe_set.images), probe_set.labels)


def evaluate(trained: Trained, ratio: float = EVAL_RATIO) -> dict:
    """masked_mse and baseline_mse (per pixel value, [0, 1] units, over the hidden patches of
    the held-out galaxies at a fixed mask), probe_accuracy, n (held-out galaxies)."""
    model = trained.modules["mae"]
    images = heldout.MAE_GALAXIES.images(model.image_size).images
    mine, base = masked_errors(model, images, ratio, norm_pix=trained.config.norm_pix)
    return {"masked_mse": float(mine.mean()), "baseline_mse": float(base.mean()),
            "probe_accuracy": probe(model), "n": int(len(images))}


RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, EVAL_RATIO, 0.8, 0.9)


def errors_by_ratio(trained: Trained, ratios=RATIOS) -> dict[str, list[float]]:
    """The held-out galaxies' masked MSE, the model's and the baseline's, at each mask ratio."""
    model = trained.modules["mae"]
    images = heldout.MAE_GALAXIES.images(model.image_size).images
    out = {"ratio": [float(r) for r in ratios], "model": [], "baseline": []}
    for r in ratios:
        mine, base = masked_errors(model, images, r, norm_pix=trained.config.norm_pix)
        out["model"].append(float(mine.mean()))
        out["baseline"].append(float(base.mean()))
    return out
