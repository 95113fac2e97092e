"""autoenc dashboard: `streamlit run app.py`. This file is the router and the home page."""
from pathlib import Path

import streamlit as st
import torch

from autoenc.registry import MODELS
from autoenc.train.pretrain import pretrained_path

ROOT = Path(__file__).parent
# The server's own model calls (slider moves, samples) are small: one thread is as fast,
# and leaves the other core to a training run instead of fighting it for both.
torch.set_num_threads(1)
st.set_page_config(page_title="autoenc: autoencoders and GANs, live", page_icon=":material/auto_awesome:", layout="wide")


def home() -> None:
    from pages.ui import get_store, status_label

    st.title("autoenc")
    st.markdown(
        "#### Train autoencoders and GANs live, and play with what they learn.\n"
        "Every model here trains in the background on this machine's CPU while you watch its "
        "losses; training carries on when you switch page or reload. Where a card shows a shipped "
        "pretrained checkpoint, its page has something to explore at once. The data are made "
        "by the app itself: simulated cosmic-ray radio pulses and rendered galaxy images."
    )
    store = get_store()
    runs = store.list() if store else []
    active = [r for r in runs if r.active]
    cols = st.columns(3)
    for i, spec in enumerate(MODELS.values()):
        with cols[i % 3].container(border=True):
            st.subheader(spec.title)
            st.write(spec.summary)
            shipped = [f for f in spec.pretrained if pretrained_path(f).exists()]
            if spec.pretrained:
                ok = len(shipped) == len(spec.pretrained)
                st.caption((":material/check_circle: " if ok else ":material/warning: ") + f"pretrained checkpoints: {len(shipped)} of {len(spec.pretrained)}")
            mine = [r for r in active if r.model == spec.name]
            st.caption("; ".join(f"{r.id}: {status_label(r)}" for r in mine) or "no run in progress")
            if spec.page and (ROOT / spec.page).exists():
                st.page_link(spec.page, label=f"Open {spec.title}", icon=":material/arrow_forward:")
    st.divider()
    c1, c2 = st.columns(2)
    c1.page_link("pages/runs.py", label=f"Runs: {len(active)} in progress, {len(runs)} in all", icon=":material/list:")
    if (ROOT / "pages/datasets.py").exists():
        c2.page_link("pages/datasets.py", label="Datasets: radio traces and galaxy images", icon=":material/dataset:")


def build_navigation():
    models = [st.Page(home, title="Home", icon=":material/home:", default=True)]
    models += [st.Page(spec.page, title=spec.title) for spec in MODELS.values()
               if spec.page and (ROOT / spec.page).exists()]
    tools = [st.Page(p, title=t) for p, t in (("pages/datasets.py", "Datasets"), ("pages/runs.py", "Runs"))
             if (ROOT / p).exists()]
    return st.navigation({"Models": models, "Tools": tools})


navigation = build_navigation()
if route_to := st.session_state.pop("_route_to", None):  # see pages.ui.page_setup
    st.switch_page(route_to)
navigation.run()
