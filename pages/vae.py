"""VAE: reconstructions, latent interpolation with a slider, sampling, latent dimensions, anomalies."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from autoenc.errors import UserError
from autoenc.runs import launcher
from autoenc.train import vae as V
from pages.ui import get_store, live_chart, page_setup, run_controls, training_data

N_PICK = 16  # images offered for interpolation


@st.cache_resource(show_spinner="Loading the VAE…")
def load(path: str, mtime: float):
    return V.load_vae(path)


@st.cache_data(show_spinner=False)
def heldout(size: int) -> np.ndarray:
    return V.HELDOUT.images(size).images


@st.cache_data(show_spinner="Measuring reconstruction errors…")
def errors_and_kl(path: str, mtime: float, size: int):
    model = load(path, mtime).modules["vae"]
    images = heldout(size)
    return V.reconstruction_errors(model, images), V.latent_kl(model, images)


def show(image: np.ndarray, caption: str = "", **kw):
    st.image(image, caption=caption, width="stretch", **kw)


def show_grid(grid: np.ndarray, caption: str, name: str):
    """A grid of galaxies with its PNG download (vae-<name>.png)."""
    show(grid, caption)
    st.download_button("Download PNG", V.to_png(grid), f"vae-{name}.png", "image/png", key=f"dl_{name}")


page_setup(__file__)
st.title("VAE")
st.markdown(
    "A **variational autoencoder** encodes each galaxy image to a distribution over a 50-number "
    "latent code (a mean and a variance per dimension), samples a code from it and decodes it back. "
    "It is trained to reconstruct the image while keeping the codes close to a standard normal "
    "(Kingma & Welling 2014), so nearby codes decode to similar galaxies: you can walk between "
    "two galaxies, or draw new ones from the prior.")
st.latex(r"\mathcal{L} = \underbrace{\lVert x - \hat x \rVert^2}_{\text{reconstruction}}"
         r" + \beta\, \underbrace{\tfrac12 \sum_j \left(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\right)}_{\mathrm{KL}(q(z|x)\,\|\,\mathcal N(0, I))}")

store = get_store()
if store is None:
    st.stop()

# -- training ---------------------------------------------------------------------------
st.subheader("Train")
c1, c2, c3, c4 = st.columns(4)
arch = c1.selectbox("Architecture", ("conv", "paper"), key="arch",
                    format_func={"conv": "convolutional (small)", "paper": "paper MLP (49 M parameters)"}.get)
size = c2.selectbox("Image size", V.SIZES, index=V.SIZES.index(V.DEFAULT_SIZE[arch]), key="size",
                    disabled=arch == "paper")
beta = c3.number_input("KL weight β", 0.0, 100.0, V.BETA_DEFAULT, format="%.4f", key="beta")
max_seconds = c4.number_input("Time limit (s)", 10, 7200, 300, step=30, key="max_seconds")
if arch == "paper":
    st.caption("The seed's MLP VAE: 49152 → 500 → 50 and back, 197 MB of weights; trained on demand, "
               "about 8 s per 1,000 images on 2 cores.")
runs = [r for r in store.list(model="vae")]
shown = None
if runs:
    chosen = st.selectbox("Run shown", [r.id for r in runs], key="vae_run")
    shown = next(r for r in runs if r.id == chosen)


data = training_data(store)


def start():
    launcher.start_run(store, "vae", {"arch": arch, "image_size": int(size), "beta": float(beta), "data": data},
                       max_seconds=float(max_seconds))


run_controls(store, shown, start, key="vae")
if shown:
    live_chart(store, shown.id, ("recon", "kl", "val_recon"), key="vae", title="Loss terms",
               labels={"recon": "reconstruction (train)", "kl": "KL (train)", "val_recon": "reconstruction (validation)"})
    latest = store.latest_sample(shown.id, "recon_grid")
    if latest:
        show(latest[1], f"originals (top) and reconstructions (bottom) at step {latest[0]}")

# -- the model explored below -----------------------------------------------------------
path = V._pretrained_path()
source = "the shipped convolutional VAE (64 px)"
if shown and shown.checkpoint_step and store.checkpoint_path(shown.id).exists():
    if st.toggle(f"Explore run {shown.id} (step {shown.checkpoint_step})", value=False, key="use_run"):
        path, source = store.checkpoint_path(shown.id), f"run {shown.id} at step {shown.checkpoint_step}"
if not path.exists():
    st.info("No VAE checkpoint yet: train one above, or run `python -m autoenc pretrain vae`.")
    st.stop()
try:
    mtime = path.stat().st_mtime
    trained = load(str(path), mtime)
except UserError as e:
    st.error(str(e))
    st.stop()
model, cfg = trained.modules["vae"], trained.config
images = heldout(cfg.image_size)
st.caption(f"Exploring {source}: {V.describe(cfg.arch, cfg.image_size, cfg.latent_dim)}, on held-out rendered galaxies.")

st.subheader("Reconstructions")
originals = images[:8]
recon = V.reconstruct(model, originals)
grid = V.image_grid(np.concatenate([originals, recon]), 8)
show_grid(grid, "8 held-out galaxies (top) and their reconstructions (bottom)", "reconstructions")

# -- interpolation ------------------------------------------------------------------------
st.subheader("Latent interpolation")
show(V.image_grid(images[:N_PICK], 16), "pick two of these, numbered 0 to 15 from the left")
p1, p2, p3 = st.columns([1, 1, 3])
a = p1.selectbox("From image", range(N_PICK), index=0, key="interp_a")
b = p2.selectbox("To image", range(N_PICK), index=5, key="interp_b")
t = p3.slider("Position along the path", 0.0, 1.0, 0.5, step=0.05, key="interp_t")
try:
    here = V.interpolate(model, images[a], images[b], t)
    strip = V.interpolation_strip(model, images[a], images[b], steps=8)
    q1, q2 = st.columns([1, 3])
    with q1:
        show(here, f"decoded at t = {t:.2f}")
    with q2:
        show_grid(V.image_grid(strip, 8), "8 steps from the first image to the second (seed Figure 10)",
                  "interpolation")
        gif = V.to_gif(V.interpolation_strip(model, images[a], images[b], steps=24), scale=2)
        st.download_button("Download the walk as an animated GIF", gif, "vae-interpolation.gif", "image/gif",
                           key="dl_gif")
except UserError as e:
    st.error(str(e))

# -- sampling ------------------------------------------------------------------------------
st.subheader("Samples from the prior")
s1, s2 = st.columns([1, 3])
seed = s1.number_input("Seed", 0, 10**6, 0, key="sample_seed")
temperature = s1.slider("Temperature", 0.1, 1.5, 1.0, step=0.1, key="temperature",
                        help="scale of z ~ N(0, T² I); below 1 stays where the codes of real galaxies lie")
fitted = s1.toggle("Sample where the codes lie", value=True, key="fitted",
                   help="draw z from a Gaussian fitted to the codes of training galaxies instead of N(0, I): "
                        "a VAE with a small β uses only part of the prior, so plain prior samples are faint")
if fitted:
    mean, cov = V.latent_gaussian(trained)
    drawn = V.sample_latent_gaussian(model, 16, int(seed), mean, cov, temperature=temperature)
else:
    drawn = V.sample_prior(model, 16, seed=int(seed), temperature=temperature)
with s2:
    show_grid(V.image_grid(drawn, 8), "16 new galaxies decoded from random codes", "samples")

# -- latent dimensions -------------------------------------------------------------------
st.subheader("Which latent dimensions carry information")
errors, kl = errors_and_kl(str(path), mtime, cfg.image_size)
fig = go.Figure(go.Bar(x=list(range(len(kl))), y=kl, marker_color="#3b5bdb"))
fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="latent dimension",
                  yaxis_title="mean KL (nats)")
st.plotly_chart(fig, width="stretch", key="kl_bars")
top = [int(i) for i in np.argsort(-kl)[:3]]
st.caption(f"{int((kl > 0.01).sum())} of {len(kl)} dimensions are in use (KL > 0.01 nats). "
           "Move the most used ones from the first image's code:")
base = V.encode_images(model, images[a:a + 1])[0]
cols = st.columns(3)
for col, dim in zip(cols, top):
    with col:
        v = st.slider(f"dimension {dim}", -3.0, 3.0, 0.0, step=0.25, key=f"trav_{dim}")
        show(V.traverse(model, base, dim, [float(base[dim]) + v])[0], f"dimension {dim} moved by {v:+.2f}")

# -- anomalies -----------------------------------------------------------------------------
st.subheader("Anomalies: the worst reconstructed galaxies")
st.caption("Images ranked by reconstruction error: what the VAE finds unusual (VAEs are used this way "
           "to flag anomalies, e.g. diseased vines in vineyard photographs).")
order = np.argsort(-errors)
show_grid(V.image_grid(images[order[:8]], 8), "highest reconstruction error", "anomalies-worst")
show_grid(V.image_grid(images[order[-8:]], 8), "lowest reconstruction error", "anomalies-best")
