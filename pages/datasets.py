"""Datasets: the galaxy images the image models learn from, and the three radio noise datasets."""
import numpy as np
import streamlit as st
from plotly.subplots import make_subplots

from autoenc.data import datasets, radio
from autoenc.data.galaxy_set import CLASS_NAMES
from autoenc.errors import UserError
from autoenc.metrics.signal import power_spectrum
from autoenc.paths import home
from pages.ui.charts import LEGEND, log_axis
from pages.ui.images import TILE_PX, show_grid
from pages.ui.link import part
from pages.ui.runs import choose_training_set, chosen_training_set, get_store
from pages.ui.setup import page_setup
from pages.ui.views import DatasetsView


@st.cache_data(show_spinner="Loading galaxies…", max_entries=4)
def galaxy_set(home_dir: str, name: str, size: int):
    gs = datasets.load_set(home_dir, name, size)
    return gs.images, gs.labels, gs.source, list(gs.warnings)


@st.cache_data(show_spinner=False)
def radio_examples(noise: str):
    return radio.simulate(400, noise, (3.0, 10.0), seed=11)


page_setup(__file__)
VIEW = DatasetsView()       # what a link without parameters shows
SIZES = (32, 64, 128)
st.title("Datasets")
store = get_store()
if store is None:
    st.stop()
home_dir = str(home())

# -- galaxies ---------------------------------------------------------------------------
st.subheader("Galaxy images")
st.markdown("Rendered by the app itself: three bands combined with an asinh stretch, Sérsic bulges, "
            "exponential disks with logarithmic spiral arms, bars, dust lanes and star-forming knots, "
            "PSF blur, sky noise and foreground stars, like survey colour thumbnails.")
if imported := st.session_state.pop("_imported", None):      # said once, after the rerun that lists it
    note, import_warnings = imported
    st.success(note)
    for w in import_warnings:
        st.warning(w)
names = datasets.list_sets(home_dir)
training = chosen_training_set(store)
c1, c2, c3 = st.columns([2, 1, 2], vertical_alignment="bottom")
shown = c1.selectbox("Galaxy set", names, index=names.index(training), key="galaxy_set", bind="query-params")
size = c2.selectbox("Image size", SIZES, index=SIZES.index(VIEW.galaxy_size), key="galaxy_size", bind="query-params")
if shown != training:
    if c3.button(f"Train on '{shown}'", key="activate",
                 help="new runs you start on the image pages train on this set (other sessions keep theirs)"):
        choose_training_set(shown)
        st.rerun()
else:
    c3.caption(f"New runs you start on the image pages train on '{training}' (your choice; other "
               "sessions keep theirs).")
try:
    images, labels, source, warnings = galaxy_set(home_dir, shown, size)
except UserError as e:
    st.error(str(e))
    st.stop()
for w in warnings:
    st.warning(w)
counts = np.bincount(labels, minlength=len(CLASS_NAMES))
st.caption(f"{source} · " + " · ".join(f"{n}: {int(c)}" for n, c in zip(CLASS_NAMES, counts)))
klass = st.segmented_control("Class", CLASS_NAMES, default=VIEW.galaxy_class, key="galaxy_class",
                             bind="query-params") or VIEW.galaxy_class
of_class = images[labels == CLASS_NAMES.index(klass)]
if len(of_class) == 0:
    st.info(f"This set has no {klass} images.")
else:
    per_row = 8 if size <= 64 else 4              # a row fits the page's width at every size
    show_grid(of_class[:40], per_row, f"{min(40, len(of_class))} of {len(of_class)} {klass} images")
    show_grid(of_class[:4], 4, "four of them, enlarged", tile=2 * TILE_PX)

with part("upload", "galaxies"):
    with st.expander("Bring your own galaxy set", expanded=VIEW.own_set, key="own_set", bind="query-params"):
        st.markdown("An `.npz` with `images` (N, H, W, 3), `labels` and `class_names`; a `.zip` with one "
                    "folder per class (barred spiral, elliptical, spiral); or Galaxy10 DECaLS / SDSS `.h5`. "
                    "Images are centre-cropped and resized; files up to 200 MB.")
        upload = st.file_uploader("Galaxy file", type=[s.lstrip(".") for s in datasets.ALLOWED_SUFFIXES],
                                  key="galaxy_upload")
        if upload is not None and st.button("Import", key="import"):
            try:
                name, gs = datasets.import_upload(home_dir, upload.name, upload.getvalue())
                choose_training_set(name)
                st.session_state.pop("galaxy_set", None)           # show the new set
                st.session_state["_imported"] = (f"Imported {len(gs)} images as '{name}': listed for everyone, and "
                                                 "what your new runs train on.", list(gs.warnings))
                galaxy_set.clear()
                st.rerun()
            except UserError as e:
                st.error(str(e))

    # -- radio traces -----------------------------------------------------------------------
    st.subheader("Radio traces: the three noise datasets")
    st.markdown("The same kind of air-shower pulse (blue) under realistic galactic + receiver noise, "
                "uniform noise and a cosine carrier (grey), at SNR 3 to 10, with the mean power spectra of "
                "400 traces below each.")
    fig = make_subplots(rows=2, cols=3, subplot_titles=radio.NOISE_TYPES, vertical_spacing=0.16)
    t_us = np.arange(radio.N_SAMPLES) * 1e6 / radio.FS_HZ
    for j, noise in enumerate(radio.NOISE_TYPES, start=1):
        d = radio_examples(noise)
        fig.add_scatter(x=t_us, y=d.noisy[0], line=dict(color="#adb5bd", width=1), name="noisy",
                        legendgroup="noisy", showlegend=j == 1, row=1, col=j)
        fig.add_scatter(x=t_us, y=d.clean[0], line=dict(color="#1c7ed6", width=1.5), name="clean",
                        legendgroup="clean", showlegend=j == 1, row=1, col=j)
        peak = 0.0
        for data, colour, name in ((d.noisy, "#adb5bd", "noisy"), (d.clean, "#1c7ed6", "clean")):
            f, p = power_spectrum(data)
            peak = max(peak, float(p.max()))
            fig.add_scatter(x=f, y=p, line=dict(color=colour), name=name, legendgroup=name, showlegend=False,
                            row=2, col=j)
        log_axis(fig, range=[np.log10(peak) - 6, np.log10(peak) + 0.3], row=2, col=j)
        fig.update_xaxes(title_text="time (µs)", row=1, col=j)
        fig.update_xaxes(title_text="frequency (MHz)", row=2, col=j)
    fig.update_yaxes(title_text="µV", row=1, col=1)
    fig.update_yaxes(title_text="power (µV²/Hz)", row=2, col=1)
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=70, b=10), legend={**LEGEND, "y": 1.06})
    st.plotly_chart(fig, width="stretch", key="radio")
