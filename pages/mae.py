"""Masked autoencoder: hide most of a galaxy's patches and watch a small ViT paint them back."""
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from autoenc.data import heldout
from autoenc.errors import UserError
from autoenc.evalcache import cached
from autoenc.inference import mae as M
from autoenc.models.mae import describe
from autoenc.paths import shipped_path
from autoenc.registry import get_model
from autoenc.runs import launcher
from autoenc.train.mae import PATCHES, SHIPPED_FILE, SIZES, MAEConfig
from autoenc.train.task import setting_meta
from autoenc.train.vae import SHIPPED_FILE as VAE_FILE
from pages.ui.charts import log_axis
from pages.ui.history import HistoryViews, run_history, validation_at
from pages.ui.images import show_grid, show_image
from pages.ui.link import part
from pages.ui.models import checkpoint_picker, trained_model
from pages.ui.probes import probe_comparison
from pages.ui.runs import get_store, run_controls, run_picker, training_data
from pages.ui.setup import page_setup
from pages.ui.text import text, try_this
from pages.ui.views import MAEView

TASK = get_model("mae").task_class()
N_PICK = 16                 # held-out galaxies offered
RATIO = setting_meta(MAEConfig, "mask_ratio")


@st.cache_data(show_spinner=False)
def heldout_images(size: int) -> np.ndarray:
    return heldout.MAE_GALAXIES.images(size).images


@st.cache_data(show_spinner="Measuring the error at every mask ratio…", max_entries=8)
def ratio_curve(path: str, mtime: float) -> dict:
    return cached(Path(path), "mae-errors-by-ratio", lambda: M.errors_by_ratio(trained_model(Path(path), "mae")))


@st.cache_data(show_spinner="Measuring on the held-out galaxies…", max_entries=16)
def held_out_errors(path: str, mtime: float) -> dict:
    """The file's masked and baseline MSE at its own training ratio: what its validation logs."""
    def compute():
        trained = trained_model(Path(path), "mae")
        mine, base = M.masked_errors(trained.modules["mae"], heldout_images(trained.config.image_size),
                                     trained.config.mask_ratio, norm_pix=trained.config.norm_pix)
        return {"model": float(mine.mean()), "baseline": float(base.mean())}
    return cached(Path(path), "mae-heldout", compute)


def figures(model_mse: float, baseline_mse: float, ratio: float) -> dict[str, str]:
    return {"share hidden": f"{ratio:.0%}", "masked MSE": f"{model_mse:.2e}", "baseline MSE": f"{baseline_mse:.2e}",
            "masked / baseline": f"{model_mse / baseline_mse:.2f}"}


def held_out_figures(path: Path) -> dict[str, str]:
    errors = held_out_errors(str(path), path.stat().st_mtime)
    return figures(errors["model"], errors["baseline"], trained_model(path, "mae").config.mask_ratio)


def ratio_figure(curve: dict, trained_ratio: float) -> go.Figure:
    """The held-out masked error at each mask ratio, the model's and the baseline's, on a log axis
    spanning whole decades (so at least two powers of ten are labelled)."""
    fig = go.Figure()
    fig.add_scatter(x=[100 * r for r in curve["ratio"]], y=curve["model"], mode="lines+markers", name="the model",
                    line_color="#3b5bdb", hovertemplate="%{x:.0f} %% hidden: %{y:.2e}<extra>model</extra>")
    fig.add_scatter(x=[100 * r for r in curve["ratio"]], y=curve["baseline"], mode="lines+markers",
                    name="baseline: the visible mean", line_color="#adb5bd",
                    hovertemplate="%{x:.0f} %% hidden: %{y:.2e}<extra>baseline</extra>")
    fig.add_vline(x=100 * trained_ratio, line_dash="dot", line_color="#e8590c",
                  annotation_text=f"trained at {trained_ratio:.0%}", annotation_position="bottom left")
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="share of patches hidden (%)",
                      yaxis_title="MSE on the hidden patches", legend=dict(orientation="h", y=1.15))
    log_axis(fig)
    values = np.asarray(curve["model"] + curve["baseline"])
    fig.update_yaxes(range=[np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))])
    return fig


page_setup(__file__)
VIEW = MAEView()
st.title("Masked autoencoder")
st.markdown(text("mae"))
st.latex(r"\mathcal{L} = \frac{1}{|M|} \sum_{i \in M} \frac{1}{3p^2}\,\lVert x_i - \hat x_i \rVert^2")
st.caption(text("mae", "The loss's symbols"))
st.markdown(text("mae", "What to look at"))
try_this("mae", VIEW.try_this)

store = get_store()
if store is None:
    st.stop()

# -- training ---------------------------------------------------------------------------
st.subheader("Train")
with part("settings", "training"):
    c1, c2, c3, c4 = st.columns(4)
    size = c1.selectbox("Image size", SIZES, index=SIZES.index(MAEConfig.image_size), key="size", bind="query-params")
    patch = c2.selectbox("Patch size", PATCHES, key="patch", bind="query-params",
                         format_func=lambda p: f"{p} px" if p else f"auto ({size // 8} px: 8 x 8 patches)")
    train_ratio = c3.slider("Mask ratio while training", RATIO["lo"], RATIO["hi"], MAEConfig.mask_ratio, step=0.05,
                            key="train_ratio", bind="query-params")
    max_seconds = c4.number_input("Time limit (s)", 10, 7200, 300, step=30, key="max_seconds")
    norm_pix = st.toggle("Predict normalised patches (the paper's best setting)", value=MAEConfig.norm_pix,
                         key="norm_pix", bind="query-params", help=setting_meta(MAEConfig, "norm_pix")["help"])
shown_run = run_picker(store.list(model="mae"), key="mae")
with part("settings", "data"):
    data = training_data(store, "mae")


def start() -> str:
    return launcher.start_run(store, "mae", {"image_size": int(size), "patch_size": int(patch),
                                             "mask_ratio": float(train_ratio), "norm_pix": bool(norm_pix),
                                             "data": data}, max_seconds=float(max_seconds))


def validation_figures(m: dict[str, float]) -> dict[str, str]:
    if "val_masked_mse" not in m:
        return {"share hidden": "–", "masked MSE": "–", "baseline MSE": "–", "masked / baseline": "–"}
    return figures(m["val_masked_mse"], m["val_baseline_mse"], shown_run.config.get("mask_ratio", MAEConfig.mask_ratio))


run_controls(store, shown_run, start, key="mae")
if shown_run:
    run_history(store, shown_run, HistoryViews(
        sample=TASK.history_sample, chart=TASK.chart_metrics, chart_title="Loss", gif_name="mae-history.gif",
        draw=lambda step, grid: show_image(grid, f"masked (top), reconstructed (middle), original (bottom) at "
                                                 f"step {step:,}", tile=shown_run.config.get("image_size")),
        at_step=lambda step: validation_at(store, shown_run, step, ("val_masked_mse", "val_baseline_mse"),
                                           validation_figures)), key="mae_history")

# -- the model explored below -----------------------------------------------------------
picked = checkpoint_picker(store, shown_run, {"shipped masked autoencoder (64 px)": shipped_path(SHIPPED_FILE)},
                           key="mae_source", label="Model explored below", figures=held_out_figures,
                           live_figures=validation_figures)
if picked is None:
    st.info("No masked autoencoder checkpoint yet: train one above, or run `python -m autoenc pretrain mae`.")
    st.stop()
source, path = picked
try:
    trained = trained_model(path, "mae")
except UserError as e:
    st.error(str(e))
    st.stop()
model, cfg = trained.modules["mae"], trained.config
images = heldout_images(cfg.image_size)
st.caption(f"Exploring the {source}: {describe(cfg.image_size, cfg.patch, cfg.dim, cfg.depth)}, trained with "
           f"{cfg.mask_ratio:.0%} of the patches hidden. The galaxies below are held-out renders it never trained on.")

st.subheader("Hide, then paint in")
show_grid(images[:N_PICK], 8, "the galaxies to choose from, numbered 0 to 15 from the top left, row by row")
chosen = st.multiselect("Galaxies shown (up to 8)", range(N_PICK), default=list(VIEW.shown), key="shown",
                        bind="query-params", max_selections=8)
percent = st.slider("Mask ratio (% of patches hidden)", 5, 95, VIEW.mask_percent, step=5, key="mask_percent",
                    bind="query-params")
m1, m2, _ = st.columns([1, 2, 1], vertical_alignment="bottom")
seed = m1.number_input("Mask", 0, 10**6, VIEW.mask_seed, key="mask_seed", bind="query-params",
                       help="the random mask's number: the same number hides the same patches")


def new_mask() -> None:
    st.session_state["mask_seed"] = int(st.session_state.get("mask_seed", 0)) + 1


m2.button("New random mask", on_click=new_mask, key="new_mask", icon=":material/casino:")
if not chosen:
    st.info("Pick at least one galaxy to mask.")
else:
    ratio = percent / 100
    picked_images = images[list(chosen)]
    out = M.reconstruct(model, picked_images, ratio, int(seed), norm_pix=cfg.norm_pix)
    show_grid(np.concatenate([out.masked, out.reconstruction, picked_images]), len(chosen),
              f"masked input (top, {ratio:.0%} hidden), reconstruction (middle), original (bottom)",
              download="mae-reconstructions.png")
    mine, base = out.error.mean(), out.baseline.mean()
    st.caption(text("mae", "Hidden patches, measured", n=len(chosen), ratio=f"{ratio:.0%}", model=f"{mine:.2e}",
                    baseline=f"{base:.2e}", share=f"{mine / base:.0%}"))
    st.markdown(text("mae", "The loss", hidden=int(out.mask[0].sum()), patches=model.n_patches, grid=model.grid, patch=cfg.patch))
    if cfg.norm_pix:
        st.caption(text("mae", "Normalised patches"))

st.subheader("Why hide three quarters?")
st.markdown(text("mae", "Why hide three quarters"))
curve = ratio_curve(str(path), path.stat().st_mtime)
st.plotly_chart(ratio_figure(curve, cfg.mask_ratio), width="stretch", key="ratio_chart")
near = int(np.argmin(np.abs(np.asarray(curve["ratio"]) - cfg.mask_ratio)))
best = int(np.argmin(curve["model"]))
caption = text("mae", "The error and the mask ratio", n=heldout.MAE_GALAXIES.n, trained_ratio=f"{curve['ratio'][near]:.0%}",
               share=f"{curve['model'][near] / curve['baseline'][near]:.0%}")
if abs(best - near) <= 1 and curve["model"][0] > curve["model"][near]:       # best near its own ratio, worse below it
    caption += " " + text("mae", "Best near its own ratio", lowest=f"{curve['ratio'][0]:.0%}",
                          low_error=f"{curve['model'][0]:.2e}", error=f"{curve['model'][near]:.2e}")
st.caption(caption)

st.subheader("What it learns")
st.markdown(text("mae", "What it learns"))
probe_comparison({"MAE encoder": ("mae", path, f"the {source}"),
                  "VAE codes": ("vae", shipped_path(VAE_FILE), "the shipped convolutional VAE (64 px)")})
