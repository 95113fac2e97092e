"""The critic's view on a GAN page (the library side: autoenc/train/critic_view.py): the
critic's output on a fixed real batch against a generated one, its history as a heat strip,
the gradient norms where the WGANs' penalties take them, and the images that fool it. Read
from the run store, where the training process puts a view with every live grid; shown at the
history slider's step."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from autoenc.runs import history
from autoenc.runs.store import Run, RunStore
from autoenc.train import critic_view as cv
from pages.ui.charts import show_chart
from pages.ui.images import show_image
from pages.ui.text import text

REAL, FAKE = "#1f77b4", "#d62728"


def critic_view_section(store: RunStore, run: Run, task_cls, key: str, step: int) -> None:
    """The critic's view at a history step (the newest kept at or before it), and its history
    with that step marked."""
    st.subheader("The critic's view")
    probabilities = task_cls.critic_view_probabilities
    st.markdown(text("gans", "The critic's view, BCE" if probabilities else "The critic's view, WGAN"))
    kept = store.sample_history(run.id, cv.VIEW)
    if not kept:
        st.caption("The critic's view appears with the first samples of the run.")
        return
    steps = [s for s, _ in kept]
    arrays = [v for _, v in kept]
    i = history.at_step(steps, step)
    rows = cv.view_rows(arrays[i], task_cls.critic_view_rows)
    lo, hi = cv.score_range(arrays[i:i + 1], probabilities)
    show_chart(histograms(rows, lo, hi, probabilities, steps[i]), "Real against generated", key=f"{key}_hist")
    strip = arrays if probabilities else [cv.centred(v) for v in arrays]
    edges, shares = cv.heat_strip(strip, *cv.score_range(strip, probabilities))
    show_chart(heat_strip(steps, edges, shares, probabilities, cursor=steps[i]), "Its history", key=f"{key}_strip")
    if len(rows) > 2:
        show_chart(norm_chart(rows), "Gradient norms where the penalty takes them", key=f"{key}_norms")
        st.markdown(text("gans", "Gradient norms at the interpolates" if "interpolate_norms" in rows
                         else "Gradient norms at real and generated images"))
    extremes = history.sample_at(store, run.id, cv.EXTREMES, step)
    if extremes is not None:
        st.markdown(text("gans", "What fools the critic", n=cv.N_EXTREMES))
        show_image(extremes[1], f"Step {extremes[0]:,}: top row, the generated images the critic finds most "
                   "real; middle, the generated ones it finds least real; bottom, the real ones it "
                   "finds least real", tile=run.config.get("image_size"))


def histograms(rows: dict[str, np.ndarray], lo: float, hi: float, probabilities: bool, step: int) -> go.Figure:
    real, fake = rows["real"], rows["fake"]
    if probabilities:
        acc_real, acc_fake = cv.bce_accuracy(real, fake)
        names = (f"real: {acc_real:.0%} called real", f"generated: {acc_fake:.0%} called generated")
        title = f"step {step:,}: D's probability that the image is real"
    else:
        names = (f"real (mean {real.mean():.3g})", f"generated (mean {fake.mean():.3g})")
        title = f"step {step:,}: critic score; Wasserstein estimate {cv.wasserstein_estimate(real, fake):.3g}"
    fig = go.Figure()
    size = (hi - lo) / 30
    for values, name, colour in ((real, names[0], REAL), (fake, names[1], FAKE)):
        fig.add_histogram(x=values, name=name, marker_color=colour, opacity=0.6,
                          xbins={"start": lo, "end": hi, "size": size})
    fig.update_layout(barmode="overlay", height=300, xaxis_title=title, yaxis_title="images",
                      legend={"orientation": "h", "y": 1.15})
    fig.update_xaxes(range=[lo, hi])
    return fig


def heat_strip(steps: list[int], edges: np.ndarray, shares: np.ndarray, probabilities: bool,
               cursor: int | None = None) -> go.Figure:
    centres = (edges[:-1] + edges[1:]) / 2
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("real images", "generated images"))
    for i, scale in ((0, "Blues"), (1, "Reds")):
        fig.add_heatmap(x=steps, y=centres, z=shares[i], colorscale=scale, showscale=False, row=i + 1, col=1,
                        hovertemplate="step %{x}<br>score %{y:.3g}<br>%{z:.0%} of the images<extra></extra>")
    label = "P(real)" if probabilities else "score − mean"
    fig.update_yaxes(title_text=label, row=1, col=1)
    fig.update_yaxes(title_text=label, row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    if cursor is not None:
        fig.add_vline(x=cursor, line_dash="dot", line_color="#495057")
    fig.update_layout(height=380)
    return fig


def norm_chart(rows: dict[str, np.ndarray]) -> go.Figure:
    fig = go.Figure()
    if "interpolate_norms" in rows:
        fig.add_histogram(x=rows["interpolate_norms"], name="at the interpolates", marker_color="#9467bd")
        fig.add_vline(x=1.0, line_dash="dash", annotation_text="target 1")
    else:
        fig.add_histogram(x=rows["real_norms"], name="at real images", marker_color=REAL, opacity=0.6)
        fig.add_histogram(x=rows["fake_norms"], name="at generated images", marker_color=FAKE, opacity=0.6)
        fig.update_layout(barmode="overlay")
    fig.update_layout(height=260, xaxis_title="|gradient of the critic's score| per image", yaxis_title="images",
                      legend={"orientation": "h", "y": 1.2})
    return fig
