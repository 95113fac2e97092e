"""Mode collapse, measured: a GAN page's class histogram, coverage, precision and KID, from
the run's logged validations and, on demand, from the model it samples."""
from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from autoenc.data import heldout
from autoenc.data.galaxy_set import CLASS_NAMES
from autoenc.errors import UserError
from autoenc.inference.gan import sampling_generator
from autoenc.metrics import judge as J
from autoenc.paths import shipped_path
from autoenc.runs import history
from autoenc.runs.store import Run, RunStore
from pages.ui.charts import show_chart
from pages.ui.models import trained_model
from pages.ui.text import text

MEASURE_N = 512             # samples the "measure" button judges (about 5-10 s on 2 cores)
CLASS_COLOURS = ("#1c7ed6", "#e8590c")
CURVE_LABELS = {"coverage": "coverage", "precision": "precision", "recall": "recall",
                "class_accuracy": "class accuracy", "kid": "KID"}


@st.cache_resource(show_spinner=False, max_entries=4)
def heldout_judge(mtime: float, image_size: int) -> J.Judge:
    return J.heldout_judge(J.load_judge_classifier(), image_size)


@st.cache_data(show_spinner=False, max_entries=16)
def measure_model(path: str, mtime: float, model: str, seed: int) -> dict:
    g = sampling_generator(trained_model(Path(path), model).modules)
    judge = heldout_judge(shipped_path(J.JUDGE_FILE).stat().st_mtime, g.image_size)
    return J.evaluate_generator(g, MEASURE_N, seed, judge=judge)


def classifier_missing() -> bool:
    if J.judge_available():
        return False
    st.info(f"The galaxy classifier that judges the samples (`checkpoints/{J.JUDGE_FILE}`) is not "
            "there yet, so nothing is measured: make it with `python -m autoenc pretrain classifier`. "
            "Training works without it.", icon=":material/info:")
    return True


def collapse_section(store: RunStore, model: str, source: Path | None) -> None:
    st.subheader("Mode collapse, measured")
    st.markdown(text("gans", "Mode collapse, measured"))
    if classifier_missing():
        return
    if source is not None:
        mtime = source.stat().st_mtime
        if st.button(f"Measure the sampled model ({MEASURE_N} samples)", icon=":material/analytics:",
                     key=f"{model}_measure"):
            st.session_state[f"{model}_measured"] = (str(source), mtime)
        if st.session_state.get(f"{model}_measured") == (str(source), mtime):
            try:
                with st.spinner("Generating and judging samples…"):
                    m = measure_model(str(source), mtime, model, 0)
            except UserError as e:
                st.error(str(e))
                return
            st.markdown(f"**The sampled model**: {m['n']} samples against the classifier's "
                        f"{heldout.JUDGE_GALAXIES.n} held-out renders")
            measures_view(m, f"{MEASURE_N} samples", key=f"{model}_measured")


def run_measures(store: RunStore, run: Run, model: str, step: int) -> None:
    """The run's logged evaluation at a history step (its latest by then), and coverage / KID
    over training with the step marked."""
    if not J.judge_available():
        return
    at = history.metrics_at(store, run.id, step, J.EVAL_METRICS)
    if "coverage" not in at:
        every = run.config.get("eval_every", "?")
        st.caption(f"No evaluation by step {step:,}: the run measures {J.EVAL_SAMPLES} samples every "
                   f"{every} steps (see Mode collapse, measured, below).")
        return
    series, _ = store.series(run.id, J.EVAL_METRICS)
    measured = at["coverage"][0]
    st.markdown(f"**Measured at step {measured:,}**, the run's latest evaluation by step {step:,} "
                f"({J.EVAL_SAMPLES} samples from a fixed z against the training images; what the measures "
                "mean: Mode collapse, measured, below)")
    measures_view(J.metrics_to_measures({name: v for name, (_, v) in at.items()}), f"step {measured:,}",
                  key=f"{model}_run", series=series, cursor=step)


def show_verdict(v: J.Verdict) -> None:
    because = "; ".join(v.reasons)
    if v.level == "collapsed":
        st.error(f"**Mode collapse**: {because}.", icon=":material/error:")
    elif v.level == "watch":
        st.warning(f"**Watch it**: {because}.", icon=":material/warning:")
    else:
        st.success(f"**Healthy**: class mix within {J.WATCH_TV} of the data's (TV), coverage at least "
                   f"{J.WATCH_COVERAGE}, and every class at least half its share of the data.",
                   icon=":material/check_circle:")


def measures_view(m: dict, label: str, key: str, series: dict | None = None, cursor: int | None = None) -> None:
    """Histogram beside the data's, the numbers, a verdict, and curves over training if given
    (with a step marked: the history slider's)."""
    left, right = st.columns(2)
    fig = go.Figure()
    fig.add_bar(x=list(CLASS_NAMES), y=m["class_histogram"], name=f"generated ({label})",
                marker_color=CLASS_COLOURS[1])
    fig.add_bar(x=list(CLASS_NAMES), y=m["data_class_histogram"], name="data", marker_color=CLASS_COLOURS[0])
    fig.update_layout(barmode="group", height=320, yaxis_title="share", yaxis_range=[0, 1])
    show_chart(fig, "Class histogram", key=f"{key}_hist", where=left)
    with right:
        show_verdict(J.verdict(m))
    # three to a row across the page: in half a column a metric's value is cut short
    cols = st.columns(3)
    cols[0].metric("Coverage", f"{m['coverage']:.2f}", help="higher is better; collapse pulls it down")
    cols[1].metric("Precision", f"{m['precision']:.2f}" if "precision" in m else "-")
    cols[2].metric("KID", f"{m['kid']:.3f}", help="lower is better; 0 when the feature sets match")
    cols = st.columns(3)
    cols[0].metric("TV distance", f"{m['tv_distance']:.2f}", help="between the two class histograms, 0 to 1")
    if "class_accuracy" in m:
        cols[1].metric("Class accuracy", f"{m['class_accuracy']:.0%}",
                       help="share of samples the classifier puts in the class asked for")
    if series:
        curve_names = [n for n in ("coverage", "precision", "class_accuracy") if n in series]
        curves = go.Figure()
        for name in curve_names:
            curves.add_scatter(x=series[name][0], y=series[name][1], mode="lines+markers", name=CURVE_LABELS[name])
        shown = [CURVE_LABELS[n] for n in curve_names]
        curves.update_layout(height=300, xaxis_title="step", yaxis_range=[0, 1.05])
        kid_fig = go.Figure()
        kid_fig.add_scatter(x=series["kid"][0], y=series["kid"][1], mode="lines+markers", name="KID")
        kid_fig.update_layout(height=300, xaxis_title="step")
        if cursor is not None:
            for fig in (curves, kid_fig):
                fig.add_vline(x=cursor, line_dash="dot", line_color="#495057")
        c1, c2 = st.columns(2)
        show_chart(curves, (", ".join(shown[:-1]) + " and " + shown[-1]).capitalize() + " over training",
                   key=f"{key}_coverage", where=c1)
        show_chart(kid_fig, "KID over training (lower is better)", key=f"{key}_kid", where=c2)
