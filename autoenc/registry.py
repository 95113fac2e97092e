"""Every model the app knows, keyed by the name used on the CLI and in the run store.

The home page cards, the CLI's model choices and the Runs page all read this table, so
adding a model is one entry here plus its Task class and page.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from autoenc.errors import UserError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    summary: str
    task: str                      # "module:Class" of its Task, imported on demand
    page: str                      # page script, relative to the repo root
    pretrained: tuple[str, ...]    # shipped checkpoint files in checkpoints/

    def task_class(self):
        module, cls = self.task.split(":")
        return getattr(importlib.import_module(module), cls)


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            "denoiser", "Denoiser",
            "1-D convolutional denoising autoencoder that cleans cosmic-ray radio pulses "
            "out of galactic, uniform or cosine noise.",
            "autoenc.train.denoiser:DenoiserTask", "pages/denoiser.py",
            ("denoiser-galactic.safetensors", "denoiser-uniform.safetensors", "denoiser-cosine.safetensors"),
        ),
    ]
}


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise UserError(f"unknown model {name!r}; known models: {', '.join(MODELS)}") from None
