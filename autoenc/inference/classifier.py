"""The galaxy classifier on uint8 images: class probabilities, penultimate-layer features,
and its accuracy on a labelled set."""
from __future__ import annotations

import numpy as np
import torch

from autoenc.data.galaxy_set import CLASS_NAMES, GalaxySet
from autoenc.errors import UserError
from autoenc.models.classifier import GalaxyClassifier

INFERENCE_BATCH = 256


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)


def _batched(model: GalaxyClassifier, images: np.ndarray, fn) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([fn(to_tensor(images[i:i + INFERENCE_BATCH]))
                          for i in range(0, len(images), INFERENCE_BATCH)])


def predict_proba(model: GalaxyClassifier, images: np.ndarray, tta: bool = True) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3) class probabilities (mean with the mirror image if tta)."""
    def fn(x):
        p = model(x).softmax(1)
        return (p + model(x.flip(3)).softmax(1)) / 2 if tta else p
    return _batched(model, images, fn).numpy()


def features(model: GalaxyClassifier, images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 96) penultimate-layer features."""
    return _batched(model, images, model.features).numpy()


def evaluate(model: GalaxyClassifier, data: GalaxySet) -> dict:
    """accuracy, balanced accuracy (mean of per-class recalls), per-class recall, n."""
    if len(data) == 0:
        raise UserError("the data set is empty")
    pred = predict_proba(model, data.images).argmax(1)
    per_class = {}
    for c, name in enumerate(CLASS_NAMES):
        sel = data.labels == c
        if sel.any():
            per_class[name] = float((pred[sel] == c).mean())
    return {"accuracy": float((pred == data.labels).mean()),
            "balanced_accuracy": float(np.mean(list(per_class.values()))),
            "per_class": per_class, "n": int(len(data))}
