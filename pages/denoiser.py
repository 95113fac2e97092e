"""Denoiser: a 1-D conv autoencoder cleans cosmic-ray radio pulses out of three kinds of noise."""
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from autoenc.data import heldout, radio
from autoenc.errors import UserError
from autoenc.evalcache import cached
from autoenc.inference import denoiser as dn
from autoenc.paths import shipped_path
from autoenc.registry import get_model
from autoenc.runs import launcher
from autoenc.train.denoiser import DenoiserConfig, shipped_file
from pages.ui.models import checkpoint_picker, trained_model
from pages.ui.runs import get_store, live_chart, run_controls, run_picker
from pages.ui.setup import page_setup
from pages.ui.text import text

NOISE_LABELS = {"galactic": "realistic (galactic)", "uniform": "uniform", "cosine": "cosine"}
COLOURS = {"noisy": "#adb5bd", "truth": "#1c7ed6", "output": "#e8590c"}
US = 1e6 / radio.FS_HZ  # microseconds per sample
TASK = get_model("denoiser").task_class()


@st.cache_data(show_spinner=False)
def examples(noise: str, snr_lo: float, snr_hi: float) -> radio.RadioSet:
    return radio.simulate(3, noise, (snr_lo, snr_hi), seed=7)


@st.cache_data(show_spinner="Evaluating on the held-out set…", max_entries=16)
def heldout_report(path: str, mtime: float, noise: str) -> dict:
    """The model's report on the held-out traces, computed once per file (evalcache)."""
    return cached(Path(path), f"denoiser-report-{noise}",
                  lambda: dn.report(trained_model(Path(path), "denoiser").modules["denoiser"], heldout.radio(noise)))


def trace_figure(t_us, traces: dict, title: str, height=230) -> go.Figure:
    fig = go.Figure()
    for name, y in traces.items():
        fig.add_scatter(x=t_us, y=y, mode="lines", name=name, line=dict(color=COLOURS[name], width=1.3 if name == "noisy" else 1.8))
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=35, b=10), showlegend=True,
                      legend=dict(orientation="h", y=-0.3), xaxis_title="time (µs)", yaxis_title="µV")
    return fig


page_setup(__file__)
st.title("Denoiser")
st.markdown(text("denoiser"))
c1, c2 = st.columns([1, 1])
noise = c1.radio("Noise type", radio.NOISE_TYPES, format_func=NOISE_LABELS.get, horizontal=True, key="noise")
snr_lo, snr_hi = c2.slider("SNR range (max |signal| / RMS noise)", 1.0, 30.0, (2.0, 20.0), step=0.5, key="snr")

# -- the three datasets, side by side ------------------------------------------------
st.subheader("The three noise datasets")
st.caption(text("denoiser", "The three noise datasets"))
t_us = np.arange(radio.N_SAMPLES) * US
cols = st.columns(3)
for col, kind in zip(cols, radio.NOISE_TYPES):
    ex = examples(kind, snr_lo, snr_hi)
    col.plotly_chart(trace_figure(t_us, {"noisy": ex.noisy[0], "truth": ex.clean[0]},
                                  f"{NOISE_LABELS[kind]} · SNR {ex.snr[0]:.1f}"), width="stretch", key=f"ex_{kind}")

# -- training -------------------------------------------------------------------------
st.subheader("Train")
store = get_store()
if store is None:
    st.stop()
with st.expander("Training settings"):
    s1, s2, s3, s4 = st.columns(4)
    max_seconds = s1.number_input("Time limit (s)", 10, 3600, 60, step=10)
    lr = s2.number_input("Learning rate", 1e-5, 1e-1, DenoiserConfig.lr, format="%.0e")
    batch = s3.number_input("Batch size", 8, 1024, DenoiserConfig.batch_size)
    seed = s4.number_input("Seed", 0, 10**6, 0)


def start() -> str:
    settings = {"noise": noise, "snr_min": snr_lo, "snr_max": snr_hi, "lr": lr,
                "batch_size": int(batch), "seed": int(seed)}
    return launcher.start_run(store, "denoiser", settings, max_seconds=float(max_seconds))


runs = [r for r in store.list(model="denoiser") if r.config.get("noise") == noise]
shown = run_picker(runs, key=f"denoiser_{noise}", label=f"Run shown ({NOISE_LABELS[noise]} noise)")
run_controls(store, shown, start, key=f"denoiser_{noise}")
if shown:
    live_chart(store, shown.id, TASK.chart_metrics, key="denoiser", title="MSE loss (train and validation)")
else:
    st.info(f"No {NOISE_LABELS[noise]} run yet: press **Train**. Below, the shipped pretrained model is shown.")

# -- results --------------------------------------------------------------------------
st.subheader("Results on held-out traces")
def held_out_figures(path: Path) -> dict[str, str]:
    r = heldout_report(str(path), path.stat().st_mtime, noise)
    return {"peak accuracy": f"{r['peak_accuracy']:.1%}", "SNR gain (median)": f"{r['snr_gain_db']:+.1f} dB"}


picked = checkpoint_picker(store, shown, {"shipped checkpoint": shipped_path(shipped_file(noise))},
                           key=f"denoiser_source_{noise}", label="Model shown below", figures=held_out_figures)
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
    col.plotly_chart(trace_figure(t_us, {k: ex[k] for k in ("noisy", "truth", "output")},
                                  f"input SNR {ex['snr']:.1f}", height=260), width="stretch", key=f"res_{i}")
st.dataframe(pd.DataFrame(rep["bins"]).rename(columns={
    "snr_lo": "SNR from", "snr_hi": "SNR to", "n": "traces", "peak_accuracy": "peak accuracy",
    "snr_gain_db": "SNR gain (dB)"}).style.format({"peak accuracy": "{:.1%}", "SNR gain (dB)": "{:+.1f}"}),
    hide_index=True, width="stretch")

# -- spectra and the comparison of noise types ----------------------------------------
st.subheader("Spectra for the three noise types")
st.caption(text("denoiser", "Spectra"))
fig = make_subplots(rows=1, cols=3, subplot_titles=[NOISE_LABELS[k] for k in radio.NOISE_TYPES], shared_yaxes=True)
table, peak = [], 0.0
for j, kind in enumerate(radio.NOISE_TYPES, start=1):
    path = checkpoint if kind == noise else shipped_path(shipped_file(kind))
    if not path.exists():
        continue
    r = rep if kind == noise else heldout_report(str(path), path.stat().st_mtime, kind)
    for name, key in (("noisy", "spectrum_noisy"), ("truth", "spectrum_clean"), ("output", "spectrum_output")):
        f, p = r[key]
        peak = max(peak, float(np.max(p)))
        fig.add_scatter(x=f, y=p, mode="lines", name=name, line=dict(color=COLOURS[name]), legendgroup=name,
                        showlegend=j == 1, row=1, col=j)
    table.append({"noise": NOISE_LABELS[kind], "model": "selected" if kind == noise else "shipped",
                  "peak accuracy": r["peak_accuracy"], "SNR gain (dB)": r["snr_gain_db"],
                  "the article's accuracy": dn.ARTICLE_ACCURACY[kind]})
# Six decades below the strongest line: enough to see the band edges and what leaks outside.
fig.update_yaxes(type="log", range=[np.log10(peak) - 6, np.log10(peak) + 0.3] if peak > 0 else None)
fig.update_yaxes(title_text="power (µV²/Hz)", col=1)
fig.update_xaxes(title_text="frequency (MHz)")
fig.update_layout(height=330, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
st.plotly_chart(fig, width="stretch", key="spectra")
st.dataframe(pd.DataFrame(table).style.format({"peak accuracy": "{:.1%}", "SNR gain (dB)": "{:+.1f}",
                                               "the article's accuracy": "{:.0%}"}), hide_index=True, width="stretch")

# -- bring your own traces -------------------------------------------------------------
with st.expander("Try the model on your own traces (radio_data.npz)"):
    st.caption(text("denoiser", "Your own traces"))
    upload = st.file_uploader("radio_data.npz", type=["npz"], key="upload")
    if upload is not None:
        try:
            data = radio.load_radio_npz(upload)
            r = dn.report(trained_model(checkpoint, "denoiser").modules["denoiser"], data, rescale=True)
            st.success(f"{len(data):,} traces: peak accuracy {r['peak_accuracy']:.1%}, SNR gain {r['snr_gain_db']:+.1f} dB")
            ex = r["examples"][-1]
            st.plotly_chart(trace_figure(t_us, {k: ex[k] for k in ("noisy", "truth", "output")},
                                         "one of your traces"), width="stretch", key="own")
        except UserError as e:
            st.error(str(e))
