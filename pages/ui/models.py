"""The trained model a page explores: the shipped checkpoint or a run's, picked in one widget,
and rebuilt from its file once per version of the file."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from autoenc.errors import CheckpointError
from autoenc.runs.checkpoint import read_meta
from autoenc.runs.store import Run, RunStore
from autoenc.trained import Trained, load_trained
from pages.ui.bundles import bundle_button
from pages.ui.images import show_grid


@st.cache_resource(show_spinner=False, max_entries=8)
def _trained(path: str, mtime: float, model: str) -> Trained:
    return load_trained(Path(path), model)


def trained_model(path: Path, model: str) -> Trained:
    """The model in a checkpoint file, cached by the file's mtime (a run's newer checkpoint
    is read again). Shared by every session: read it, never change it."""
    return _trained(str(path), path.stat().st_mtime, model)


def best_label(path: Path) -> str:
    """'best class-mix TV 0.041 (step 2,450)' from a kept-best checkpoint's header."""
    try:
        meta = read_meta(path)
        sel = meta["selected_by"]
        name = {"tv_distance": "class-mix TV", "class_accuracy": "class accuracy"}.get(sel["metric"], sel["metric"])
        return f"best {name} {sel['value']:.3f} (step {meta['step']:,})"
    except (CheckpointError, KeyError, TypeError, ValueError):
        return "best"


def checkpoint_choices(store: RunStore, run: Run | None, shipped: dict[str, Path]) -> dict[str, Path]:
    """label -> file: the shipped checkpoints that exist, then the run's last and best ones."""
    choices = {label: path for label, path in shipped.items() if path.exists()}
    if run is not None and run.checkpoint_step and store.checkpoint_path(run.id).exists():
        choices[f"run {run.id} (step {run.checkpoint_step:,})"] = store.checkpoint_path(run.id)
    if run is not None and store.best_checkpoint_path(run.id).exists():
        best = store.best_checkpoint_path(run.id)
        choices[f"run {run.id}, {best_label(best)}"] = best
    return choices


def checkpoint_picker(store: RunStore, run: Run | None, shipped: dict[str, Path], key: str,
                      label: str = "Model shown", figures: Callable[[Path], dict[str, str]] | None = None,
                      preview: Callable[[Path], np.ndarray] | None = None,
                      live_figures: Callable[[dict[str, float]], dict[str, str]] | None = None
                      ) -> tuple[str, Path] | None:
    """The shipped model and the run's checkpoints side by side, labelled (each one's `figures`
    in a table, its `preview` image), and a radio to pick the one the rest of the page shows:
    the shipped model until the user picks another. Returns (label, path), or None when there
    is no checkpoint at all.

    While the run trains, its checkpoints change every few seconds: measuring each new one on
    the held-out set would keep the server busy for every session watching. `live_figures`
    turns the validation metrics the run logged at a checkpoint's step into the same figures."""
    choices = checkpoint_choices(store, run, shipped)
    if not choices:
        return None
    if len(choices) > 1 and (figures or preview):
        live = {}
        if live_figures and run is not None and run.active:
            live = {lbl: live_figures(metrics_at(store, run.id, checkpoint_step(path)))
                    for lbl, path in choices.items() if path.parent == store.run_dir(run.id)}
        compare(choices, figures, preview, live)
    if st.session_state.get(key) not in choices:
        st.session_state.pop(key, None)
    row = st.container(horizontal=True, vertical_alignment="bottom")
    with row:
        name = st.radio(label, list(choices), horizontal=True, key=key, bind="query-params")
    bundle_button(store, choices[name], key, where=row)
    return name, choices[name]


def checkpoint_step(path: Path) -> int:
    try:
        return int(read_meta(path)["step"])
    except (CheckpointError, KeyError, TypeError, ValueError):
        return 0


def metrics_at(store: RunStore, run_id: str, step: int) -> dict[str, float]:
    """Each metric's last value logged at or before `step`."""
    out: dict[str, float] = {}
    for s, name, value in store.metrics_since(run_id)[0]:
        if s <= step and value is not None:
            out[name] = value
    return out


def compare(choices: dict[str, Path], figures, preview, live: dict[str, dict[str, str]] | None = None) -> None:
    if figures:
        live = live or {}
        table = {label: {**(live.get(label) or figures(path)),
                         "measured on": "validation set (run still training)" if label in live else "held-out set"}
                 for label, path in choices.items()}
        st.dataframe(pd.DataFrame(table), width="stretch")
    if preview:         # two to a row: a preview keeps its galaxies large on a narrow page
        items = list(choices.items())
        for row in range(0, len(items), 2):
            for col, (label, path) in zip(st.columns(2), items[row:row + 2]):
                with col:
                    show_grid(preview(path), 4, label)
