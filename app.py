"""autoenc dashboard: `streamlit run app.py`. This file is the router and the home page."""
from pathlib import Path

import streamlit as st
import torch

from autoenc.paths import shipped_path
from autoenc.registry import MODELS
from autoenc.runs.worker import SERVER_THREADS
from pages.ui.runs import get_store, status_label
from pages.ui.text import text

ROOT = Path(__file__).parent
TOOLS = (("pages/datasets.py", "Datasets"), ("pages/runs.py", "Runs"))
torch.set_num_threads(SERVER_THREADS)
st.set_page_config(page_title="autoenc: autoencoders and GANs, live", page_icon=":material/auto_awesome:", layout="wide")


def home() -> None:
    st.title("autoenc")
    st.markdown(text("home"))
    store = get_store()
    runs = store.list() if store else []
    active = [r for r in runs if r.active]
    cols = st.columns(3)
    for i, spec in enumerate(MODELS.values()):
        with cols[i % 3].container(border=True):
            st.subheader(spec.title)
            st.write(spec.summary)
            files = spec.task_class().shipped_files()
            if files:
                shipped = [f for f in files if shipped_path(f).exists()]
                ok = len(shipped) == len(files)
                st.caption((":material/check_circle: " if ok else ":material/warning: ")
                           + f"pretrained checkpoints: {len(shipped)} of {len(files)}")
            mine = [r for r in active if r.model == spec.name]
            st.caption("; ".join(f"{r.id}: {status_label(r)}" for r in mine) or "no run in progress")
            if spec.page:
                st.page_link(spec.page, label=f"Open {spec.title}", icon=":material/arrow_forward:")
    st.divider()
    c1, c2 = st.columns(2)
    c1.page_link("pages/runs.py", label=f"Runs: {len(active)} in progress, {len(runs)} in all", icon=":material/list:")
    c2.page_link("pages/datasets.py", label="Datasets: radio traces and galaxy images", icon=":material/dataset:")


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
    st.switch_page(route_to)
navigation.run()
