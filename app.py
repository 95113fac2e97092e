"""autoenc dashboard: `streamlit run app.py`. This file is the router and the home page."""
from pathlib import Path

import streamlit as st
import torch

from autoenc.paths import shipped_path
from autoenc.registry import MODELS
from autoenc.runs.worker import SERVER_THREADS
from pages.ui.link import link_bar, presenting
from pages.ui.runs import get_store, status_label
from pages.ui.text import text

ROOT = Path(__file__).parent
TOOLS = (("pages/datasets.py", "Datasets"), ("pages/runs.py", "Runs"), ("pages/compare.py", "Compare"))
torch.set_num_threads(SERVER_THREADS)
st.set_page_config(page_title="autoenc: autoencoders and GANs, live", page_icon=":material/auto_awesome:", layout="wide",
                   initial_sidebar_state="collapsed" if presenting() else "auto")


# A lesson's order: the autoencoders first, then the GANs from the basic one to the Wasserstein
# ones, then the data they all learn from.
LESSON = ("denoiser", "vae", "gan", "acgan", "wgan-gp", "wgan-div")
CARDS_PER_ROW = 2


def home() -> None:
    link_bar()
    st.title("autoenc")
    st.markdown(text("home"))
    store = get_store()
    runs = store.list() if store else []
    st.subheader("Where to start")
    st.markdown(text("home", "Where to start"))
    for i, name in enumerate(LESSON, start=1):
        st.page_link(MODELS[name].page, label=f"{i}. {MODELS[name].title}", icon=":material/arrow_forward:")
    st.page_link("pages/datasets.py", label=f"{len(LESSON) + 1}. Datasets: the radio traces and galaxy images",
                 icon=":material/dataset:")
    st.subheader("The models")
    specs = list(MODELS.values())
    for row in range(0, len(specs), CARDS_PER_ROW):
        in_row = specs[row:row + CARDS_PER_ROW]
        # a full row's cards are of one height; a last card alone gets no empty box beside it
        columns = st.columns(CARDS_PER_ROW, border=len(in_row) == CARDS_PER_ROW)
        for col, spec in zip(columns, in_row):
            with col.container(border=len(in_row) < CARDS_PER_ROW):
                card(spec, [r for r in runs if r.active and r.model == spec.name])
    training = sum(r.status == "running" for r in runs)
    queued = sum(r.status == "queued" for r in runs)
    st.divider()
    st.page_link("pages/runs.py", label=f"Runs: {training} training, {queued} queued, {len(runs)} in all",
                 icon=":material/list:")


def card(spec, active) -> None:
    """A model: what it is, its shipped checkpoints, its runs in progress, where it is shown."""
    st.markdown(f"#### {spec.title}")
    st.write(spec.summary)
    files = spec.task_class().shipped_files()
    if files:
        shipped = [f for f in files if shipped_path(f).exists()]
        ok = len(shipped) == len(files)
        st.caption((":material/check_circle: " if ok else ":material/warning: ")
                   + f"pretrained checkpoints: {len(shipped)} of {len(files)}")
    st.caption("; ".join(f"{r.id}: {status_label(r)}" for r in active) or "no run in progress")
    if spec.page:
        st.page_link(spec.page, label=f"Open {spec.title}", icon=":material/arrow_forward:")
    else:
        users = [m for m in MODELS.values() if spec.name in m.task_class().uses]
        st.caption("It has no page of its own; it is used on " + ", ".join(m.title for m in users) + ":")
        with st.container(horizontal=True):
            for m in users:
                st.page_link(m.page, label=m.title, icon=":material/arrow_forward:")


def build_navigation():
    """Every model's page and the tools; a page file that is missing stops the app with its name."""
    pages = [spec.page for spec in MODELS.values() if spec.page] + [p for p, _ in TOOLS]
    missing = [p for p in pages if not (ROOT / p).is_file()]
    if missing:
        st.error(f"Page file(s) missing: {', '.join(missing)}. Restore them, or remove their entry from "
                 "autoenc/registry.py.")
        st.stop()
    models = [st.Page(home, title="Home", icon=":material/home:", default=True)]
    models += [st.Page(spec.page, title=spec.title) for spec in MODELS.values() if spec.page]
    return st.navigation({"Models": models, "Tools": [st.Page(p, title=t) for p, t in TOOLS]})


navigation = build_navigation()
if route_to := st.session_state.pop("_route_to", None):  # see pages.ui.setup.page_setup
    page, query = route_to
    st.switch_page(page, query_params=query)
navigation.run()
