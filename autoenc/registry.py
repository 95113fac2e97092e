"""Every model the app knows, keyed by the name used on the CLI and in the run store.

The home page cards, the CLI's model choices and the Runs page all read this table; what a
model is and does (its settings, shipped files, chart, evaluation) its Task says. Adding a
model is one entry here, its model file, its Task file and its page (README: Layout).
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
    task: str                      # "module:Class" of its Task, imported on demand (keeps the CLI's start fast)
    page: str | None               # page script, relative to the repo root (None: no page of its own)

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
        ),
        ModelSpec(
            "vae", "VAE",
            "Variational autoencoder on galaxy images: reconstructions, latent interpolation with a "
            "slider, sampling and which latent dimensions carry information.",
            "autoenc.train.vae:VAETask", "pages/vae.py",
        ),
        ModelSpec(
            "mae", "Masked autoencoder",
            "A small Vision Transformer that sees a quarter of a galaxy's patches and paints in the rest: "
            "the article's outlook, and what its encoder learns without labels.",
            "autoenc.train.mae:MAETask", "pages/mae.py",
        ),
        ModelSpec(
            "classifier", "Galaxy classifier",
            "A small CNN trained on rendered galaxies: the judge of generated images and the "
            "feature space of the GAN metrics.",
            "autoenc.train.classifier:ClassifierTask", None,
        ),
        ModelSpec(
            "gan", "GAN",
            "The basic DCGAN on galaxy images: watch it learn, and watch mode collapse happen, measured.",
            "autoenc.train.gan:GANTask", "pages/gan.py",
        ),
        ModelSpec(
            "acgan", "acGAN",
            "Auxiliary-classifier GAN: ask for a barred spiral, an elliptical or a spiral.",
            "autoenc.train.gan:ACGANTask", "pages/acgan.py",
        ),
        ModelSpec(
            "wgan-gp", "WGAN-GP",
            "Wasserstein GAN with gradient penalty (lambda 10): stabler training than the basic GAN.",
            "autoenc.train.gan:WGANGPTask", "pages/wgan_gp.py",
        ),
        ModelSpec(
            "wgan-div", "WGAN-div",
            "Wasserstein divergence GAN (k 2, p 6): a penalty that needs no interpolates.",
            "autoenc.train.gan:WGANDivTask", "pages/wgan_div.py",
        ),
    ]
}


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise UserError(f"unknown model {name!r}; known models: {', '.join(MODELS)}") from None
