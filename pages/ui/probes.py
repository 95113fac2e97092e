"""What the MAE's encoder and the VAE's codes know of a galaxy's class, side by side: the
accuracy of a linear probe on each (autoenc.metrics.probe), measured once per file."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from autoenc.data import heldout
from autoenc.errors import UserError
from autoenc.evalcache import cached
from autoenc.registry import get_model
from pages.ui.models import trained_model
from pages.ui.text import text


@st.cache_data(show_spinner="Fitting a linear probe…", max_entries=16)
def probe_accuracy(path: str, mtime: float, model: str) -> float:
    task = get_model(model).task_class()
    return cached(Path(path), "linear-probe",
                  lambda: {"accuracy": task.linear_probe(trained_model(Path(path), model))})["accuracy"]


def probe_comparison(models: dict[str, tuple[str, Path, str]]) -> None:
    """models: label -> (registry name, checkpoint, what the file is); the files that exist get
    their accuracy, side by side."""
    figures, sources = {}, []
    for label, (model, path, source) in models.items():
        if not path.exists():
            continue
        try:
            figures[label] = probe_accuracy(str(path), path.stat().st_mtime, model)
            sources.append(f"{label}: {source}")
        except UserError as e:
            st.warning(f"{label}: {e}")
    if not figures:
        return
    cols = st.columns(len(figures))
    for col, (label, accuracy) in zip(cols, figures.items()):
        col.metric(label, f"{accuracy:.1%}")
    half = heldout.PROBE_GALAXIES.n // 2
    st.caption("; ".join(sources) + ". " + text("probe", "How it is measured", half=f"{half:,}", chance="33%"))

