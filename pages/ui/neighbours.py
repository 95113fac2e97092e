"""Nearest real neighbour on a GAN page (the library side: autoenc/metrics/neighbours.py):
generated samples of the model the page draws from, each beside the training images closest
to it in the galaxy classifier's feature space, with the distances."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from autoenc.data.datasets import training_set
from autoenc.errors import UserError
from autoenc.inference.gan import generate, sampling_generator
from autoenc.metrics import judge as J
from autoenc.metrics import neighbours as nb
from autoenc.paths import shipped_path
from pages.ui.gan_measures import classifier_missing
from pages.ui.images import show_grid
from pages.ui.models import trained_model
from pages.ui.text import text

N_SHOWN, K = 8, 3
SEED = 7                # the samples' z: other than the grids above, the same on every visit


@st.cache_resource(show_spinner=False, max_entries=2)
def judge_classifier(mtime: float):
    return J.load_judge_classifier()


@st.cache_data(show_spinner=False, max_entries=4)
def training_features(data: str, n: int, size: int, seed: int, classifier_mtime: float):
    images = training_set(data, n, size, seed).images
    return images, nb.real_features(judge_classifier(classifier_mtime), images)


@st.cache_data(show_spinner=False, max_entries=8)
def neighbours_of(path: str, mtime: float, model: str) -> nb.Neighbours:
    trained = trained_model(Path(path), model)
    cfg = trained.config
    classifier_mtime = shipped_path(J.JUDGE_FILE).stat().st_mtime
    images, feats = training_features(cfg.data, cfg.n_images, cfg.image_size, cfg.data_seed, classifier_mtime)
    samples = generate(sampling_generator(trained.modules), N_SHOWN, SEED)
    return nb.nearest_training_images(samples, images, feats, judge_classifier(classifier_mtime), K)


def neighbour_section(model: str, source: Path | None) -> None:
    st.subheader("Nearest real neighbour")
    st.markdown(text("gans", "Nearest real neighbour", n=N_SHOWN, k=K))
    if classifier_missing() or source is None:
        return
    key = f"{model}_neighbours"
    wanted = (str(source), source.stat().st_mtime)
    if st.button("Find the nearest training images", icon=":material/search:", key=key,
                 help="the first time, the training images are rendered and described once (seconds)"):
        st.session_state[f"{key}_for"] = wanted
    if st.session_state.get(f"{key}_for") != wanted:
        return
    try:
        with st.spinner("Describing the training images with the classifier..."):
            found = neighbours_of(*wanted, model)
    except UserError as e:
        st.error(str(e))
        return
    st.markdown(text("gans", "Nearest real neighbour, read", spacing=f"{found.real_spacing:.3g}",
                     closest=f"{found.distances[:, 0].min():.3g}",
                     shared=shared_neighbours(found.indices[:, 0])))
    cols = st.columns(2)
    for i in range(len(found.samples)):
        tiles = np.concatenate([found.samples[i][None], found.images[i]])
        dists = ", ".join(f"{d:.3g}" for d in found.distances[i])
        with cols[i % 2]:
            show_grid(tiles, 1 + K, f"sample {i + 1}, then its nearest training images: distance {dists}")


def shared_neighbours(first: np.ndarray) -> str:
    """'no two samples share' or 'samples share a nearest image n times' (a sign of collapse)."""
    repeats = len(first) - len(np.unique(first))
    return "no two samples share their nearest training image" if not repeats else (
        f"{repeats} of the samples share their nearest training image with another sample")
