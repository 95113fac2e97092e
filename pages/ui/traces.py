"""Figures of radio traces and their spectra, for the Denoiser and Datasets pages.

The pulse fills a few percent of a 2.78 µs trace, so a trace is shown zoomed on it by
default (a window around the true peak); the truth is drawn on top of the dashed output,
so both stay visible where they agree; log axes are labelled in powers of ten; legends sit
above the plot, clear of the axis titles.
"""
from __future__ import annotations

import hashlib

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from autoenc.data import radio
from autoenc.metrics.signal import peak_index, power_spectrum
from pages.ui.charts import LEGEND, log_axis

COLOURS = {"noisy": "#adb5bd", "truth": "#1c7ed6", "output": "#e8590c"}
STYLE = {"noisy": dict(width=1.2), "output": dict(width=2.0, dash="dash"), "truth": dict(width=1.6)}
DRAW_ORDER = ("noisy", "output", "truth")           # the truth last: on top
ZOOM_US = 0.3                                        # half the window shown around the pulse's peak
US_PER_SAMPLE = 1e6 / radio.FS_HZ


def pulse_window(truth) -> tuple[float, float]:
    """(start, end) in µs of ZOOM_US either side of the true pulse's peak, inside the trace."""
    t = float(peak_index(np.asarray(truth)[None])[0]) * US_PER_SAMPLE
    end = radio.N_SAMPLES * US_PER_SAMPLE
    lo = min(max(0.0, t - ZOOM_US), end - 2 * ZOOM_US)
    return lo, lo + 2 * ZOOM_US


def trace_figure(traces: dict, zoom: bool = True, height: int = 240) -> go.Figure:
    """noisy / truth / output traces (µV) against time; zoomed on the true pulse when asked."""
    t_us = np.arange(radio.N_SAMPLES) * US_PER_SAMPLE
    fig = go.Figure()
    for name in DRAW_ORDER:
        if name in traces:
            fig.add_scatter(x=t_us, y=traces[name], mode="lines", name=name,
                            line=dict(color=COLOURS[name], **STYLE[name]))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), legend=LEGEND,
                      xaxis_title="time (µs)", yaxis_title="µV")
    if zoom and "truth" in traces:
        fig.update_xaxes(range=list(pulse_window(traces["truth"])))
    return fig


def spectra_figure(spectra: dict[str, dict[str, tuple]], height: int = 330) -> go.Figure:
    """One panel per title: name -> (frequencies, power) mean power spectra, on log axes six
    decades below the strongest line (enough to see the band edges and what leaks outside)."""
    fig = make_subplots(rows=1, cols=len(spectra), subplot_titles=list(spectra), shared_yaxes=True)
    peak = 0.0
    for j, lines in enumerate(spectra.values(), start=1):
        for name in DRAW_ORDER:
            if name in lines:
                f, p = lines[name]
                peak = max(peak, float(np.max(p)))
                fig.add_scatter(x=f, y=p, mode="lines", name=name, legendgroup=name, showlegend=j == 1,
                                line=dict(color=COLOURS[name], **STYLE[name]), row=1, col=j)
    log_axis(fig, range=[np.log10(peak) - 6, np.log10(peak) + 0.3] if peak > 0 else None)
    fig.update_yaxes(title_text="power (µV²/Hz)", col=1)
    fig.update_xaxes(title_text="frequency (MHz)")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=60, b=10), legend={**LEGEND, "y": 1.12})
    return fig


def snapshot_figures(traces: np.ndarray, zoom: bool) -> tuple[list[go.Figure], go.Figure]:
    """The figures of one snapshot of a run's validation examples ((n, [noisy, truth, output],
    samples)): one per example, and their spectra. Built once for every session that shows
    that snapshot: a class on the Denoiser page, each session building them anew on every tick
    of its live view, gave the server half its work (py-spy, 30 sessions)."""
    digest = hashlib.blake2b(np.ascontiguousarray(traces).tobytes(), digest_size=16).hexdigest()
    return _snapshot_figures(digest, zoom, traces)


@st.cache_resource(max_entries=64, show_spinner=False)
def _snapshot_figures(digest: str, zoom: bool, _traces: np.ndarray) -> tuple[list[go.Figure], go.Figure]:
    examples = [trace_figure({"noisy": noisy, "truth": truth, "output": output}, zoom=zoom, height=230)
                for noisy, truth, output in _traces]
    spectra = {"the three examples": {name: power_spectrum(_traces[:, i])
                                      for i, name in enumerate(("noisy", "truth", "output"))}}
    return examples, spectra_figure(spectra, height=260)
