"""VAE: reconstructions, latent interpolation with a slider, sampling, latent dimensions, anomalies."""
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from autoenc.data import heldout
from autoenc.errors import UserError
from autoenc.evalcache import cached
from autoenc.images import to_gif
from autoenc.inference import vae as V
from autoenc.models.vae import ACTIVE_KL, build_vae, describe
from autoenc.paths import shipped_path
from autoenc.registry import get_model
from autoenc.runs import launcher
from autoenc.runs.page_defaults import PAGE_RECIPE
from autoenc.train.loop import CHECKPOINT_BUDGET, checkpoint_interval
from autoenc.train.mae import SHIPPED_FILE as MAE_FILE
from autoenc.train.task import setting_meta
from autoenc.train.vae import DEFAULT_SIZE, PLAIN_FILE, SHIPPED_FILE, SIZES, VAEConfig
from pages.ui.charts import log_axis
from pages.ui.history import HistoryViews, run_history, validation_at
from pages.ui.images import TILE_PX, show_grid, show_image
from pages.ui.latent_map import code_rms, latent_map_section
from pages.ui.link import part
from pages.ui.models import checkpoint_picker, trained_model
from pages.ui.probes import probe_comparison
from pages.ui.runs import get_store, run_controls, run_picker, training_data
from pages.ui.setup import page_setup
from pages.ui.text import text, try_this
from pages.ui.views import VAEView

N_PICK = 16  # images offered for interpolation
TASK = get_model("vae").task_class()
BETA = setting_meta(VAEConfig, "beta")
RECIPE = PAGE_RECIPE["vae"]     # the conv VAE's; the paper MLP trains with the defaults


@st.cache_data(show_spinner=False)
def paper_checkpoint_mb() -> float:
    """The paper VAE's checkpoint: its weights and Adam's two moments, 4 bytes a number
    (built on the meta device: no memory is allocated)."""
    with torch.device("meta"):
        model = build_vae("paper", DEFAULT_SIZE["paper"])
    return 3 * 4 * sum(p.numel() for p in model.parameters()) / 1e6


def paper_checkpoint_note(store) -> str:
    """How often a paper run checkpoints, from the write times measured in this store."""
    values = {"size": f"{paper_checkpoint_mb():.0f}", "seconds": f"{VAEConfig.checkpoint_seconds:g}",
              "budget": f"{CHECKPOINT_BUDGET:.0%}", "factor": f"{1 / CHECKPOINT_BUDGET:g}"}
    measured = launcher.checkpoint_write_seconds(store, "vae", arch="paper")
    if measured is None:
        return text("vae", "The paper architecture's checkpoints, not yet measured", **values)
    write, n = measured
    return text("vae", "The paper architecture's checkpoints, measured", write=f"{write:.1f}", n=n,
                every=f"{checkpoint_interval(VAEConfig.checkpoint_seconds, write):.0f}", **values)


@st.cache_data(show_spinner=False)
def heldout_images(size: int) -> np.ndarray:
    return heldout.VAE_GALAXIES.images(size).images


@st.cache_data(show_spinner="Measuring reconstruction errors…")
def errors_and_kl(path: str, mtime: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Each held-out image's reconstruction error and each latent dimension's KL, once per file."""
    def compute():
        model = trained_model(Path(path), "vae").modules["vae"]
        images = heldout_images(size)
        return {"errors": V.reconstruction_errors(model, images), "kl": V.latent_kl(model, images)}
    figures = cached(Path(path), "vae-errors-kl", compute)
    return np.asarray(figures["errors"]), np.asarray(figures["kl"])


page_setup(__file__)
VIEW = VAEView()            # what a link without parameters shows
st.title("VAE")
st.markdown(text("vae", latent_dim=VAEConfig.latent_dim))
st.latex(r"\mathcal{L} = \underbrace{\lVert x - \hat x \rVert^2}_{\text{reconstruction}}"
         r" + \beta\, \underbrace{\tfrac12 \sum_j \left(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\right)}_{\mathrm{KL}(q(z|x)\,\|\,\mathcal N(0, I))}")
st.markdown(text("vae", "What to look at"))
try_this("vae", VIEW.try_this)

store = get_store()
if store is None:
    st.stop()

# -- training ---------------------------------------------------------------------------
st.subheader("Train")
with part("settings", "training"):
    c1, c2, c3, c4 = st.columns(4)
    arch = c1.selectbox("Architecture", ("conv", "paper"), key="arch", bind="query-params",
                        format_func={"conv": "convolutional (small)", "paper": "paper MLP (49 M parameters)"}.get)
    size = c2.selectbox("Image size", SIZES, index=SIZES.index(DEFAULT_SIZE[arch]), key="size", bind="query-params",
                        disabled=arch == "paper")
    beta = c3.number_input("KL weight β", BETA["lo"], BETA["hi"], VAEConfig.beta, format="%.4f", key="beta", bind="query-params")
    max_seconds = c4.number_input("Time limit (s)", 10, 7200, 300, step=30, key="max_seconds")
    if arch == "paper":
        st.caption(text("vae", "The paper architecture"))
        st.caption(paper_checkpoint_note(store))
    else:
        st.caption(text("vae", "The live recipe", batch=RECIPE["batch_size"], lr=f"{RECIPE['lr']:g}",
                        default_batch=VAEConfig.batch_size, default_lr=f"{VAEConfig.lr:g}", steps=VAEConfig.steps,
                        spread=f"{np.exp(RECIPE['logvar_start'] / 2):.2g}"))
shown = run_picker(store.list(model="vae"), key="vae")
with part("settings", "data"):
    data = training_data(store, "vae")


def start() -> str:
    recipe = RECIPE if arch == "conv" else {}
    return launcher.start_run(store, "vae", {**recipe, "arch": arch, "image_size": int(size), "beta": float(beta),
                                             "data": data}, max_seconds=float(max_seconds))


def validation_figures(m: dict[str, float]) -> dict[str, str]:
    """The run's logged validation, in the held-out figures' units (val_recon is summed over
    the pixels of an image; the table gives it per pixel and channel)."""
    size = shown.config.get("image_size") or DEFAULT_SIZE[shown.config.get("arch", "conv")]
    if "val_recon" not in m:
        return {"reconstruction error (MSE per pixel)": "–", "KL (nats)": "–", "dimensions in use": "–"}
    return {"reconstruction error (MSE per pixel)": f"{m['val_recon'] / (3 * size * size):.2e}",
            "KL (nats)": f"{m['val_kl']:.0f}",
            "dimensions in use": f"{int(m['val_active_dims'])} of {shown.config.get('latent_dim', 50)}"}


run_controls(store, shown, start, key="vae")
if shown:
    run_history(store, shown, HistoryViews(
        sample=TASK.history_sample, chart=TASK.chart_metrics, chart_title="Loss terms", gif_name="reconstructions.gif",
        draw=lambda step, grid: show_image(grid, f"originals (top) and reconstructions (bottom) at step {step:,}",
                                           tile=shown.config.get("image_size")),
        at_step=lambda step: validation_at(store, shown, step, ("val_recon", "val_kl", "val_active_dims"),
                                           validation_figures)), key="vae_history")

# -- the model explored below -----------------------------------------------------------
def kl_figure(kl: np.ndarray) -> go.Figure:
    """Each latent dimension's mean KL, largest first, on a log axis with the 'in use' threshold
    drawn: the dimensions the decoder relies on, and those the KL term has switched off."""
    order = np.argsort(-kl)
    colours = ["#3b5bdb" if kl[i] > ACTIVE_KL else "#ced4da" for i in order]
    fig = go.Figure(go.Bar(x=[f"z{int(i)}" for i in order], y=np.maximum(kl[order], 1e-4), marker_color=colours,
                           hovertemplate="dimension %{x}: %{y:.3g} nats<extra></extra>"))
    fig.add_hline(y=ACTIVE_KL, line_dash="dot", line_color="#e8590c",
                  annotation_text=f"in use above {ACTIVE_KL:g} nats", annotation_position="top right")
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="latent dimension, most used first",
                      yaxis_title="mean KL (nats)", xaxis_type="category")
    log_axis(fig)
    return fig


def held_out_figures(path: Path) -> dict[str, str]:
    size = trained_model(path, "vae").config.image_size
    errors, kl = errors_and_kl(str(path), path.stat().st_mtime, size)
    return {"reconstruction error (MSE per pixel)": f"{errors.mean():.2e}", "KL (nats)": f"{kl.sum():.0f}",
            "dimensions in use": f"{int((kl > ACTIVE_KL).sum())} of {len(kl)}"}


picked = checkpoint_picker(store, shown, {"shipped convolutional VAE (64 px)": shipped_path(SHIPPED_FILE)},
                           key="vae_source", label="Model explored below", figures=held_out_figures,
                           live_figures=validation_figures)
if picked is None:
    st.info("No VAE checkpoint yet: train one above, or run `python -m autoenc pretrain vae`.")
    st.stop()
source, path = picked
try:
    mtime = path.stat().st_mtime
    trained = trained_model(path, "vae")
except UserError as e:
    st.error(str(e))
    st.stop()
model, cfg = trained.modules["vae"], trained.config
images = heldout_images(cfg.image_size)
st.caption(f"Exploring the {source}: {describe(cfg.arch, cfg.image_size, cfg.latent_dim)}, on held-out "
           "rendered galaxies.")

st.subheader("Reconstructions")
originals = images[:8]
recon = V.reconstruct(model, originals)
show_grid(np.concatenate([originals, recon]), 8, "8 held-out galaxies (top) and their reconstructions (bottom)",
          download="vae-reconstructions.png")

# -- interpolation ------------------------------------------------------------------------
st.subheader("Latent interpolation")
show_grid(images[:N_PICK], 8, "pick two of these, numbered 0 to 15 from the top left, row by row")
p1, p2, p3 = st.columns([1, 1, 3])
a = p1.selectbox("From image", range(N_PICK), index=VIEW.interp_a, key="interp_a", bind="query-params")
b = p2.selectbox("To image", range(N_PICK), index=VIEW.interp_b, key="interp_b", bind="query-params")
t = p3.slider("Position along the path", 0.0, 1.0, VIEW.interp_t, step=0.05, key="interp_t", bind="query-params")
try:
    here = V.interpolate(model, images[a], images[b], t)
    strip = V.interpolation_strip(model, images[a], images[b], steps=8)
    show_grid(here[None], 1, f"decoded at t = {t:.2f}", tile=3 * TILE_PX)
    show_grid(strip, 8, "8 steps from the first image to the second (the article's Figure 10)",
              download="vae-interpolation.png")

    def walk_gif(ends=(images[a], images[b])) -> bytes:        # made when clicked
        return to_gif(V.interpolation_strip(model, *ends, steps=24), scale=2)
    st.download_button("Download the walk as an animated GIF", walk_gif, "vae-interpolation.gif", "image/gif",
                       key="dl_gif")
except UserError as e:
    st.error(str(e))

# -- sampling ------------------------------------------------------------------------------
st.subheader("The latent space, mapped")
plain = shipped_path(PLAIN_FILE)
maps = {f"the {source}": (path, "latent_map")}
if plain.exists() and trained_model(plain, "vae").config.image_size == cfg.image_size:
    maps["a plain autoencoder (the same network trained with β = 0)"] = (plain, "latent_map_ae")
whose = st.radio("Whose latent space", list(maps), horizontal=True, key="map_of", bind="query-params")
st.caption(text("vae", "A plain autoencoder beside it", ae_rms=f"{code_rms(plain, cfg.image_size):.2f}",
                vae_rms=f"{code_rms(path, cfg.image_size):.2f}") if len(maps) > 1 else
           "The plain autoencoder beside it is not there: make it with `python -m autoenc pretrain vae --only autoencoder`.")
latent_map_section(*maps[whose][:1], cfg.image_size, key=maps[whose][1])

st.subheader("Samples from the prior")
s1, s2 = st.columns(2, vertical_alignment="bottom")
seed = s1.number_input("Seed", 0, 10**6, VIEW.sample_seed, key="sample_seed", bind="query-params")
temperature = s2.slider("Temperature", 0.1, 1.5, VIEW.temperature, step=0.1, key="temperature", bind="query-params",
                        help="scale of z ~ N(0, T² I); below 1 stays where the codes of real galaxies lie")
fitted = st.toggle("Sample where the codes of real galaxies lie", value=VIEW.fitted, key="fitted", bind="query-params",
                   help="draw z from a Gaussian fitted to the codes of training galaxies instead of N(0, I): "
                        "a VAE with a small β uses only part of the prior, so plain prior samples are faint")
if fitted:
    mean, cov = V.latent_gaussian(trained)
    drawn = V.sample_latent_gaussian(model, 16, int(seed), mean, cov, temperature=temperature)
else:
    drawn = V.sample_prior(model, 16, seed=int(seed), temperature=temperature)
show_grid(drawn, 8, "16 new galaxies decoded from random codes", download="vae-samples.png")

# -- latent dimensions -------------------------------------------------------------------
st.subheader("Which latent dimensions carry information")
errors, kl = errors_and_kl(str(path), mtime, cfg.image_size)
st.plotly_chart(kl_figure(kl), width="stretch", key="kl_bars")
order = np.argsort(-kl)
top = [int(i) for i in order[:3]]
active = int((kl > ACTIVE_KL).sum())
st.caption(text("vae", "Latent dimensions", active=active, n=len(kl), threshold=f"{ACTIVE_KL:g}",
                top=f"{kl[order[0]]:.1f}", bottom=f"{kl[order[-1]]:.2g}", top_dims=", ".join(map(str, top))))
base = V.encode_images(model, images[a:a + 1])[0]
cols = st.columns(3)
for col, dim in zip(cols, top):
    with col:
        v = st.slider(f"dimension {dim}", -3.0, 3.0, 0.0, step=0.25, key=f"trav_{dim}", bind="query-params")
        show_grid(V.traverse(model, base, dim, [float(base[dim]) + v]), 1, f"dimension {dim} moved by {v:+.2f}",
                  tile=2 * TILE_PX)

# -- what the codes know -------------------------------------------------------------------
st.subheader("What the codes know: a linear probe")
st.markdown(text("vae", "What the codes know"))
probe_comparison({"VAE codes": ("vae", path, f"the {source}"),
                  "MAE encoder": ("mae", shipped_path(MAE_FILE), "the shipped masked autoencoder (64 px)")})

# -- anomalies -----------------------------------------------------------------------------
st.subheader("Anomalies: the worst reconstructed galaxies")
st.caption(text("vae", "Anomalies"))
order = np.argsort(-errors)
show_grid(images[order[:8]], 8, "highest reconstruction error", download="vae-anomalies-worst.png")
show_grid(images[order[-8:]], 8, "lowest reconstruction error", download="vae-anomalies-best.png")
