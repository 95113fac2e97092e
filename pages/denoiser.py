"""Denoiser: a 1-D conv autoencoder cleans cosmic-ray radio pulses out of three kinds of noise."""
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from autoenc.data import heldout, radio
from autoenc.errors import UserError
from autoenc.evalcache import cached
from autoenc.inference import cross_noise
from autoenc.inference import denoiser as dn
from autoenc.paths import shipped_path
from autoenc.registry import get_model
from autoenc.runs import launcher
from autoenc.train.denoiser import DenoiserConfig, shipped_file
from pages.ui.history import HistoryViews, run_history, validation_at
from pages.ui.link import part
from pages.ui.models import checkpoint_picker, trained_model
from pages.ui.runs import get_store, run_controls, run_picker
from pages.ui.setup import page_setup
from pages.ui.text import text, try_this
from pages.ui.traces import ZOOM_US, snapshot_figures, spectra_figure, trace_figure
from pages.ui.views import DenoiserView

NOISE_LABELS = {"galactic": "realistic (galactic)", "uniform": "uniform", "cosine": "cosine",
                radio.MIX: "a mix of all three"}
TASK = get_model("denoiser").task_class()
VIEW = DenoiserView()       # what a link without parameters shows


@st.cache_data(show_spinner=False)
def examples(noise: str, snr_lo: float, snr_hi: float) -> radio.RadioSet:
    return radio.simulate(3, noise, (snr_lo, snr_hi), seed=7)


@st.cache_data(show_spinner="Evaluating on the held-out set…", max_entries=16)
def heldout_report(path: str, mtime: float, noise: str) -> dict:
    """The model's report on the held-out traces, computed once per file (evalcache)."""
    return cached(Path(path), f"denoiser-report-{noise}",
                  lambda: dn.report(trained_model(Path(path), "denoiser").modules["denoiser"], heldout.radio(noise)))


page_setup(__file__)
st.title("Denoiser")
st.markdown(text("denoiser"))
st.markdown(text("denoiser", "What to look at"))
try_this("denoiser", VIEW.try_this)
c1, c2 = st.columns([1, 1])
noise = c1.radio("Noise type", radio.TRAINING_NOISES, index=radio.TRAINING_NOISES.index(VIEW.noise),
                 format_func=NOISE_LABELS.get, horizontal=True, key="noise", bind="query-params",
                 help="what a new run trains on and the held-out set below; the mix gives each trace one of the three")
snr_lo, snr_hi = c2.slider("SNR range (max |signal| / RMS noise)", 1.0, 30.0, VIEW.snr, step=0.5, key="snr",
                           bind="query-params")
zoom = st.toggle(f"Zoom the traces on the pulse (±{ZOOM_US:g} µs around its peak)", value=VIEW.zoom, key="zoom",
                 bind="query-params",
                 help="off: the whole 2.78 µs trace")


def show_trace(col, traces: dict, title: str, key: str, height: int = 240) -> None:
    col.markdown(f"**{title}**")
    col.plotly_chart(trace_figure(traces, zoom=zoom, height=height), width="stretch", key=key)


# -- the three datasets, side by side ------------------------------------------------
st.subheader("The three noise datasets")
st.caption(text("denoiser", "The three noise datasets"))
cols = st.columns(3)
for col, kind in zip(cols, radio.NOISE_TYPES):
    ex = examples(kind, snr_lo, snr_hi)
    show_trace(col, {"noisy": ex.noisy[0], "truth": ex.clean[0]}, f"{NOISE_LABELS[kind]} · SNR {ex.snr[0]:.1f}",
               f"ex_{kind}")

# -- training -------------------------------------------------------------------------
st.subheader("Train")
store = get_store()
if store is None:
    st.stop()
with part("settings", "training"):
    with st.expander("Training settings", expanded=VIEW.train_settings, key="train_settings", bind="query-params"):
        s1, s2, s3, s4 = st.columns(4)
        max_seconds = s1.number_input("Time limit (s)", 10, 3600, 60, step=10)
        lr = s2.number_input("Learning rate", 1e-5, 1e-1, DenoiserConfig.lr, format="%.0e")
        batch = s3.number_input("Batch size", 8, 1024, DenoiserConfig.batch_size)
        seed = s4.number_input("Seed", 0, 10**6, 0)


def start() -> str:
    settings = {"noise": noise, "snr_min": snr_lo, "snr_max": snr_hi, "lr": lr,
                "batch_size": int(batch), "seed": int(seed)}
    return launcher.start_run(store, "denoiser", settings, max_seconds=float(max_seconds))


def validation_figures(m: dict[str, float]) -> dict[str, str]:
    return {"peak accuracy": f"{m['val_peak_accuracy']:.1%}" if "val_peak_accuracy" in m else "–",
            "SNR gain (median)": f"{m['val_snr_gain_db']:+.1f} dB" if "val_snr_gain_db" in m else "–"}


def draw_examples(step: int, traces: np.ndarray) -> None:
    """The run's three validation examples at a step, and their spectra."""
    figures, spectra = snapshot_figures(traces, zoom)
    for i, (col, fig) in enumerate(zip(st.columns(3), figures)):
        col.markdown(f"**step {step:,}: example {i + 1}**")
        col.plotly_chart(fig, width="stretch", key=f"hist_{i}")
    st.plotly_chart(spectra, width="stretch", key="hist_spectra")


runs = [r for r in store.list(model="denoiser") if r.config.get("noise") == noise]
shown = run_picker(runs, key=f"denoiser_{noise}", label=f"Run shown ({NOISE_LABELS[noise]} noise)")
run_controls(store, shown, start, key=f"denoiser_{noise}")
if shown:
    run_history(store, shown, HistoryViews(sample=TASK.history_sample, chart=TASK.chart_metrics, traces=True,
                                           chart_title="MSE loss (train and validation)", draw=draw_examples,
                                           at_step=lambda step: validation_at(
                                               store, shown, step, ("val_peak_accuracy", "val_snr_gain_db"),
                                               validation_figures), gif_name="examples.gif"),
                key=f"denoiser_{noise}_history")
else:
    with part("train", "no_run"):
        st.info(f"No {NOISE_LABELS[noise]} run yet: press **Train**. Below, the shipped pretrained model is shown.")

# -- results --------------------------------------------------------------------------
st.subheader("Results on held-out traces")
def held_out_figures(path: Path) -> dict[str, str]:
    r = heldout_report(str(path), path.stat().st_mtime, noise)
    return {"peak accuracy": f"{r['peak_accuracy']:.1%}", "SNR gain (median)": f"{r['snr_gain_db']:+.1f} dB"}


picked = checkpoint_picker(store, shown, {"shipped checkpoint": shipped_path(shipped_file(noise))},
                           key=f"denoiser_source_{noise}", label="Model shown below", figures=held_out_figures,
                           live_figures=validation_figures)
if picked is None:
    st.warning("No checkpoint for this noise type yet: train one, or run `python -m autoenc pretrain denoiser`.")
    st.stop()
source, checkpoint = picked
try:
    mtime = checkpoint.stat().st_mtime
    rep = heldout_report(str(checkpoint), mtime, noise)
except UserError as e:
    st.error(str(e))
    st.stop()

st.caption(f"Model: {source}. Held-out set: {rep['n']:,} {NOISE_LABELS[noise]} traces, SNR log-uniform "
           f"{heldout.RADIO_SNR[0]:g}–{heldout.RADIO_SNR[1]:g}.")
m1, m2 = st.columns(2)
m1.metric("Peak accuracy", f"{rep['peak_accuracy']:.1%}")
m2.metric("SNR gain (median)", f"{rep['snr_gain_db']:+.1f} dB")
st.markdown(text("denoiser", "The measures"))
cols = st.columns(3)
for i, (col, ex) in enumerate(zip(cols, rep["examples"])):
    show_trace(col, {k: ex[k] for k in ("noisy", "truth", "output")}, f"input SNR {ex['snr']:.1f}", f"res_{i}",
               height=260)
st.dataframe(pd.DataFrame(rep["bins"]).rename(columns={
    "snr_lo": "SNR from", "snr_hi": "SNR to", "n": "traces", "peak_accuracy": "peak accuracy",
    "snr_gain_db": "SNR gain (dB)"}).style.format({"peak accuracy": "{:.1%}", "SNR gain (dB)": "{:+.1f}"}),
    hide_index=True, width="stretch")

# -- spectra and the comparison of noise types ----------------------------------------
st.subheader("Spectra for the three noise types")
st.caption(text("denoiser", "Spectra"))
spectra, table = {}, []
for kind in radio.NOISE_TYPES:
    path = checkpoint if kind == noise else shipped_path(shipped_file(kind))
    if not path.exists():
        continue
    r = rep if kind == noise else heldout_report(str(path), path.stat().st_mtime, kind)
    spectra[NOISE_LABELS[kind]] = {"noisy": r["spectrum_noisy"], "truth": r["spectrum_clean"],
                                   "output": r["spectrum_output"]}
    table.append({"noise": NOISE_LABELS[kind], "model": "selected" if kind == noise else "shipped",
                  "peak accuracy": r["peak_accuracy"], "SNR gain (dB)": r["snr_gain_db"],
                  "the article's accuracy": dn.ARTICLE_ACCURACY[kind]})
fig = spectra_figure(spectra)
st.plotly_chart(fig, width="stretch", key="spectra")
st.dataframe(pd.DataFrame(table).style.format({"peak accuracy": "{:.1%}", "SNR gain (dB)": "{:+.1f}",
                                               "the article's accuracy": "{:.0%}"}), hide_index=True, width="stretch")

# -- each model on each noise ----------------------------------------------------------
@st.cache_data(show_spinner="Evaluating every model on every noise type…", max_entries=16)
def noise_matrix(models: tuple[tuple[str, str, str, float], ...]) -> list[cross_noise.Cell]:
    """(row, training noise, file, its mtime) each: the mtime makes a rewritten file a new key."""
    return cross_noise.matrix({row: (trained_on, Path(path)) for row, trained_on, path, _ in models})


def noise_table(cells: list[cross_noise.Cell], labels: dict[str, str]):
    """Rows the models, columns the noise types, 'accuracy · gain' in each cell, the diagonal marked."""
    grid = pd.DataFrame(index=list(labels.values()), columns=[NOISE_LABELS[n] for n in radio.NOISE_TYPES])
    marks = pd.DataFrame("", index=grid.index, columns=grid.columns)
    for c in cells:
        where = (labels[c.row], NOISE_LABELS[c.tested_on])
        grid.loc[where] = f"{c.peak_accuracy:.1%} · {c.snr_gain_db:+.1f} dB"
        if c.diagonal:
            marks.loc[where] = "font-weight: bold; background-color: rgba(28, 126, 214, 0.2)"
    return grid.style.apply(lambda _: marks, axis=None)


def points(share: float) -> str:
    return f"{100 * share:.1f}"


st.subheader("Each model on each noise")
models = cross_noise.shipped_models()
labels = {row: f"trained on {NOISE_LABELS[row]}" for row in models}
if source != "shipped checkpoint":
    models["selected"] = (noise, checkpoint)
    labels["selected"] = f"{source} (trained on {NOISE_LABELS[noise]})"
cells = noise_matrix(tuple((row, n, str(p), p.stat().st_mtime) for row, (n, p) in models.items()))
st.dataframe(noise_table(cells, labels), width="stretch")
found = cross_noise.findings(cells)
if found is None:
    st.caption("The shipped denoisers are not there, so there is nothing to compare the model with: make them "
               "with `python -m autoenc pretrain denoiser`.")
else:
    mix = "" if found.mix_gap is None else text("denoiser", "The mix of all three", mix_gap=points(found.mix_gap),
                                                           off_drop=points(found.off_drop))
    st.caption(text("denoiser", "Each model on each noise", own_best=found.own_best, columns=found.columns,
                    off_drop=points(found.off_drop), worst_trained=NOISE_LABELS[found.worst[0]],
                    worst_tested=NOISE_LABELS[found.worst[1]], worst_accuracy=f"{found.worst[2]:.1%}", mix=mix))

# -- bring your own traces -------------------------------------------------------------
with part("upload", "traces"):
    with st.expander("Try the model on your own traces (radio_data.npz)", expanded=VIEW.own_traces, key="own_traces",
                     bind="query-params"):
        st.caption(text("denoiser", "Your own traces"))
        upload = st.file_uploader("radio_data.npz", type=["npz"], key="upload")
        if upload is not None:
            try:
                data = radio.load_radio_npz(upload)
                r = dn.report(trained_model(checkpoint, "denoiser").modules["denoiser"], data, rescale=True)
                st.success(f"{len(data):,} traces: peak accuracy {r['peak_accuracy']:.1%}, SNR gain {r['snr_gain_db']:+.1f} dB")
                ex = r["examples"][-1]
                show_trace(st, {k: ex[k] for k in ("noisy", "truth", "output")}, "one of your traces", "own")
            except UserError as e:
                st.error(str(e))
