"""The run store handle, run controls and the live loss chart, shared by the pages.

Everything here only reads the run store or calls autoenc.runs.launcher.
"""
from __future__ import annotations

import time

import plotly.graph_objects as go
import streamlit as st

from autoenc.data.datasets import RENDERED, existing_set, list_sets
from autoenc.errors import UserError
from autoenc.paths import home
from autoenc.registry import MODELS
from autoenc.runs import launcher
from autoenc.runs.store import Run, RunStore, store_url
from pages.ui.charts import log_axis, show_chart
from pages.ui.link import part

POLL_SECONDS = 2.0      # how often a live view asks the store for new rows
MAX_POINTS = 400        # per series on screen; older points are merged pairwise beyond 2x this
STATUS_COLOUR = {"queued": "gray", "running": "green", "stopped": "orange", "finished": "blue",
                 "failed": "red", "interrupted": "violet"}


@st.cache_resource
def _store(path: str, url: str | None) -> RunStore:
    return RunStore(home(path), url)


def get_store() -> RunStore | None:
    """The run store, or None after showing why it cannot be opened. A read-only one is
    returned with a notice: its runs and the shipped models are shown, training is off."""
    try:
        store = _store(str(home()), store_url())
    except UserError as e:
        st.error(str(e))
        return None
    if store.read_only:
        st.warning(store.read_only[0].upper() + store.read_only[1:], icon=":material/lock:")
    return store


def status_label(run: Run) -> str:
    """'finished · time limit 60 s, at 755/1,500': the state, where it trains if on another
    machine sharing the store, and why it ended."""
    why = run.ended_because
    where = "" if RunStore.on_this_host(run.host) else f" · on {run.host}"
    where += f" · {run.processes} processes" if run.processes > 1 else ""
    return (f":{STATUS_COLOUR.get(run.status, 'gray')}-badge[{run.status}] step {run.progress}{where}"
            + (f" · {why}" if why else ""))


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def downsample(xs: list, ys: list) -> tuple[list, list]:
    """Merge neighbouring pairs (mean) until the series is at most MAX_POINTS long."""
    while len(xs) > 2 * MAX_POINTS:
        n = len(xs) // 2 * 2
        xs = xs[1:n:2] + xs[n:]
        ys = [(ys[i] + ys[i + 1]) / 2 for i in range(0, n, 2)] + ys[n:]
    return xs, ys


def loss_chart(store: RunStore, run: Run, names: dict[str, str], key: str, title: str = "Loss",
               log_y: bool = True, cursor: int | None = None) -> None:
    """A chart of the metrics `names` (name -> legend label: a Task's chart_metrics), reading
    only the rows new since the last draw; `cursor` marks a step (the history slider's)."""
    state_key = f"_chart_{key}"
    if st.session_state.get(state_key, {}).get("run") != run.id:
        st.session_state[state_key] = {"run": run.id, "seq": 0, "series": {}}
    state = st.session_state[state_key]
    _, state["seq"] = store.series(run.id, names, state["seq"], into=state["series"])
    if not state["series"] and run.status == "queued":
        st.info(f"**{title}**: run {run.id} waits in the queue; its curves start when it does.",
                icon=":material/hourglass_top:")
        return
    for name, (xs, ys) in list(state["series"].items()):
        state["series"][name] = downsample(xs, ys)
    # The session's figure is made once and its lines moved on each tick: building a Plotly
    # figure anew for every session on every tick was a fifth of a class's server time (py-spy).
    if state.get("figure_for") != (tuple(names.items()), log_y):
        fig = go.Figure([go.Scatter(x=[], y=[], mode="lines", name=label) for label in names.values()])
        fig.update_layout(height=320, xaxis_title="step")
        if log_y:
            log_axis(fig)           # labelled in powers of ten
        state["figure"], state["figure_for"] = fig, (tuple(names.items()), log_y)
    fig = state["figure"]
    with fig.batch_update():
        for line, name in zip(fig.data, names):
            line.x, line.y = state["series"].get(name, ([], []))
        fig.layout.shapes, fig.layout.annotations = (), ()
    if cursor is not None:
        fig.add_vline(x=cursor, line_dash="dot", line_color="#495057",
                      annotation_text=f"step {cursor:,}", annotation_position="top left")
    show_chart(fig, title, key=f"{key}_plot")
    st.caption(status_label(run))


def run_picker(runs: list[Run], key: str, label: str = "Run shown") -> Run | None:
    """The run a page shows, picked from `runs` (newest first). A run just started by
    run_controls with the same key is shown at once; None while there is no run."""
    by_id = {r.id: r for r in runs}
    run_key, pending = f"{key}_run", f"_{key}_new_run"
    if pending in st.session_state:
        st.session_state[run_key] = st.session_state.pop(pending)
    if st.session_state.get(run_key) not in by_id:
        st.session_state.pop(run_key, None)
    if not runs:
        return None
    return by_id[st.selectbox(label, list(by_id), key=run_key, bind="query-params")]


def run_controls(store: RunStore, run: Run | None, start, key: str) -> None:
    """Train, and the shown run's actions (run_actions). `start()` starts a new run and
    returns its id, which the page's run_picker (same key) then shows."""
    with part("train", key):
        if st.button("Train", key=f"{key}_train", type="primary", disabled=bool(run and run.active or store.read_only),
                     help=store.read_only or "start a new training run in the background"):
            try:
                st.session_state[f"_{key}_new_run"] = start()
                st.rerun()
            except UserError as e:
                st.error(str(e))
        if run is not None:
            run_actions(store, run, key)


def run_actions(store: RunStore, run: Run, key: str) -> None:
    """What can be done with a run, the same on its page and on the Runs page: stop it while it
    trains; resume it where it was stopped, timed out or crashed; train N more once it has
    trained all its steps. A queued run also says what it waits for."""
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    if c1.button("Stop", key=f"{key}_stop", disabled=not run.active or bool(store.read_only), width="stretch",
                 help="finish the current step, save a checkpoint and stop"):
        launcher.stop_run(store, run.id, wait_s=5)
        st.rerun()
    if c2.button("Resume", key=f"{key}_resume", disabled=not run.can_continue or bool(store.read_only),
                 width="stretch", help="continue from its last checkpoint to its last step" if run.checkpoint_step
                 else "it has no checkpoint yet: start it again from step 0 with its own settings"):
        act(lambda: launcher.resume_run(store, run.id))
    with c3.container(horizontal=True, vertical_alignment="bottom"):
        more = st.number_input("More steps", 1, 10_000_000, max(1, (run.total_steps or 1000) // 2), step=100,
                               key=f"{key}_more_steps", disabled=not run.can_extend or bool(store.read_only))
        if st.button("Train more", key=f"{key}_more", disabled=not run.can_extend or bool(store.read_only),
                     help="it trained all its steps: go on from its last checkpoint for this many more"):
            act(lambda: launcher.resume_run(store, run.id, extra_steps=int(more)))
    if run.status == "failed" and run.error:
        st.error(f"Run {run.id} failed: {run.error.splitlines()[0]}")
    elif run.status == "interrupted":
        st.warning(f"Run {run.id} was interrupted (its process died). " +
                   (f"Resume continues from its checkpoint at step {run.checkpoint_step:,}."
                    if run.checkpoint_step else "It had no checkpoint yet: Resume starts it again from step 0."))
    if run.note and launcher.RESTART_NOTE in run.note:
        st.info(f"Run {run.id}: {run.note}.")
    elif run.status == "queued":
        queue_notice(store, run, key)


def act(action) -> None:
    try:
        action()
        st.rerun()
    except UserError as e:
        st.error(str(e))


def queue_notice(store: RunStore, run: Run, key: str) -> None:
    """Which runs a queued run waits for, on which page, about how long they have left; with a
    button to stop each and one to let one more run train at once."""
    running = [r for r in store.list() if r.status == "running"]
    limit = store.max_concurrent()
    if not running:
        st.info(f"Run {run.id} is about to start.", icon=":material/hourglass_top:")
        return
    for other in running:
        left = launcher.seconds_left(store, other)
        page = MODELS[other.model].title if other.model in MODELS else other.model
        when = f", about {duration(left)} left" if left is not None else ""
        st.info(f"Run {run.id} waits in the queue: {limit} run{'s' if limit > 1 else ''} may train at once, "
                f"and run {other.id} is training on the {page} page (step {other.progress}{when}).",
                icon=":material/hourglass_top:")
        if st.button(f"Stop run {other.id}", key=f"{key}_stop_{other.id}"):
            launcher.stop_run(store, other.id, wait_s=5)
            st.rerun()
    if st.button(f"Let {limit + 1} runs train at once", key=f"{key}_raise_limit",
                 help="each run then gets fewer CPU threads"):
        store.set_setting("max_concurrent", limit + 1)
        st.rerun()


TRAINING_SET = "_training_set"      # session state: the galaxy set this browser session's runs train on


def chosen_training_set(store: RunStore) -> str:
    """This session's galaxy set for new runs ('rendered' until it picks another)."""
    return existing_set(store.home, st.session_state.get(TRAINING_SET))


def choose_training_set(name: str) -> None:
    st.session_state[TRAINING_SET] = name


def training_data(store: RunStore, key: str) -> str:
    """Which galaxy set a new run on this page trains on: this session's choice, shown and
    changeable here (and on the Datasets page); other sessions keep their own."""
    names = list_sets(store.home)
    current = chosen_training_set(store)
    picked = st.selectbox("Train on", names, index=names.index(current), key=f"{key}_training_set",
                          format_func=lambda n: "rendered galaxies" if n == RENDERED else f"imported set '{n}'",
                          help="this browser session's choice; imported sets are on the Datasets page")
    choose_training_set(picked)
    return picked


def elapsed(run: Run) -> str:
    if not run.started:
        return "-"
    s = (run.ended or time.time()) - run.started
    return f"{int(s // 60)}:{int(s % 60):02d}"
