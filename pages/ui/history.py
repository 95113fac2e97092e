"""The history slider of a model page: one slider over the steps a run recorded moves all its
views at once (the samples at that step, a cursor on the loss chart, the measures logged by
then), replays them as an animation, and exports them as a GIF (the library side:
autoenc/runs/history.py, autoenc/animation.py).

While the run trains the slider follows the newest step, unless the user has moved it; moving
it back to the newest step follows again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from autoenc.animation import history_gif
from autoenc.runs import history
from autoenc.runs.store import Run, RunStore
from pages.ui.runs import loss_chart

PLAY_SECONDS = 0.6          # between two frames while playing
REFRESH_SECONDS = 3.0       # while the run trains: a run writes a snapshot about every 3 s
PLAY_FRAMES = 50            # a play walks the whole history in about this many frames


@dataclass(frozen=True)
class HistoryViews:
    """What a page shows of a run at a step."""
    sample: str                                 # the sample whose snapshots the slider walks
    chart: dict[str, str]                       # the loss chart: metric -> legend label
    chart_title: str
    draw: Callable[[int, np.ndarray], None] | None = None     # draws a snapshot: (its step, array)
    log_y: bool = True
    at_step: Callable[[int], None] | None = None    # draws the page's other views at a step
    traces: bool = False                        # snapshots are traces (drawn as lines in the GIF)
    gif_name: str = "history.gif"


def run_history(store: RunStore, run: Run, views: HistoryViews, key: str) -> int | None:
    """The slider, its controls and every view at its step; returns the step shown (None
    before the first snapshot)."""
    slider, follow, playing = f"{key}_step", f"{key}_follow", f"{key}_playing"
    if st.session_state.get(f"{key}_run") != run.id:       # another run shown: start at its newest step
        st.session_state[f"{key}_run"] = run.id
        st.session_state[follow], st.session_state[playing] = True, False     # (not popping the slider's
        # value: a slider with a default, in a fragment, would then take the browser's old value back)
    was_active = run.active
    poll = PLAY_SECONDS if st.session_state.get(playing) else REFRESH_SECONDS if was_active else None

    def moved():
        steps = history.sample_steps(store, run.id, views.sample)
        st.session_state[follow] = bool(steps) and st.session_state[slider] == steps[-1]
        st.session_state[playing] = False

    @st.fragment(run_every=poll)
    def block() -> None:
        if st.session_state.pop(f"{key}_restart", False):
            st.rerun()          # Play or Pause: the whole page again, with the fragment's new timer
        now = store.get(run.id)
        steps = history.sample_steps(store, run.id, views.sample)
        if steps:
            placed = place_slider(steps, slider, follow, playing)
            step = controls(store, now, views, steps, slider, follow, playing, moved, key)
            if step != placed:      # a link's step: the URL set the slider on its first draw
                st.session_state[follow] = False
            if st.session_state[follow]:    # the measures as they are now: a run is a little ahead of its last snapshot
                step = max(step, now.step)
        else:                   # nothing to slide over yet: the views as they are now
            step = now.step
        loss_chart(store, now, views.chart, key=f"{key}_loss", title=views.chart_title, log_y=views.log_y,
                   cursor=step if steps else None)
        shown = history.sample_at(store, run.id, views.sample, step) if views.sample else None
        if shown is not None and views.draw is not None:
            views.draw(*shown)
        elif views.sample and now.status != "queued":
            st.caption("The first samples appear a few seconds after the run starts training.")
        if views.at_step is not None and now.status != "queued":
            views.at_step(step)
        if was_active and not now.active:
            st.rerun()  # the run ended: redraw the page once, without a polling timer
        if run.status == "queued" and now.status != "queued":
            st.rerun()  # the run has started: the page's "about to start" and queue notices are out of date
    block()
    return st.session_state.get(slider)


def validation_at(store: RunStore, run: Run, step: int, names: tuple[str, ...],
                  figures: Callable[[dict[str, float]], dict[str, str]]) -> None:
    """The run's latest validation by `step` (the metrics `names`, the first of which every
    validation logs), as the page's `figures` of them: a view for HistoryViews.at_step."""
    at = history.metrics_at(store, run.id, step, names)
    if names[0] not in at:
        st.caption(f"No validation by step {step:,} yet.")
        return
    found = figures({name: v for name, (_, v) in at.items()})
    st.markdown(f"**Validation at step {at[names[0]][0]:,}** (its latest by step {step:,}): "
                + ", ".join(f"{label} {value}" for label, value in found.items()))


def place_slider(steps: list[int], slider: str, follow: str, playing: str) -> int:
    """The step the slider stands at before it is drawn: the next frame while playing, the
    newest while following, else the kept step nearest the user's (thinning may drop it)."""
    current = st.session_state.get(slider)
    if st.session_state.pop(f"{slider}_hold", False) and current in steps:     # play's first frame
        step = current
    elif st.session_state.get(playing):
        i = steps.index(current) if current in steps else -1
        i = min(len(steps) - 1, i + max(1, len(steps) // PLAY_FRAMES))
        if i == len(steps) - 1:
            st.session_state[playing] = False
            st.session_state[follow] = True
        step = steps[i]
    elif st.session_state[follow] or current is None:
        step = steps[-1]
    else:
        step = steps[history.at_step(steps, current)]
    st.session_state[slider] = step
    return step


def controls(store: RunStore, run: Run, views: HistoryViews, steps: list[int], slider: str, follow: str,
             playing: str, moved, key: str) -> int:
    """The slider and its buttons; returns the step the slider shows."""
    # its default is the newest step: a link without a step follows the run, one with a step stays there
    shown = st.select_slider("History: the step shown", options=steps, value=steps[-1], key=slider, on_change=moved,
                             bind="query-params", format_func=lambda s: f"{s:,}",
                             help=f"the run keeps up to {history.HISTORY_BUDGET} snapshots, spread evenly over its steps")

    def play():
        if st.session_state[slider] == steps[-1]:      # at the end: play from the start
            st.session_state[slider] = steps[0]
        st.session_state[playing], st.session_state[follow] = True, False
        st.session_state[f"{slider}_hold"] = True         # show where it starts before moving on
        st.session_state[f"{key}_restart"] = True      # the timer changes: the page must redraw

    def pause():
        st.session_state[playing] = False
        st.session_state[f"{key}_restart"] = True
    # the buttons at their own width on a row of their own: beside the slider they were cut at 853 px
    row = st.container(horizontal=True, vertical_alignment="center")
    if st.session_state.get(playing):
        row.button("Pause the replay", icon=":material/pause:", key=f"{key}_pause", on_click=pause)
    else:   # not "Play": a GAN page's step mode has a Play that trains
        row.button("Replay", icon=":material/replay:", key=f"{key}_play", on_click=play,
                   help="walk through the run's history; the slider then follows the newest step")

    def gif() -> bytes:          # made when clicked, not on every redraw
        kept = store.sample_history(run.id, views.sample)
        return history_gif([step for step, _ in kept], [a for _, a in kept], traces=views.traces)
    row.download_button("GIF", gif, f"{run.id}-{views.gif_name}", "image/gif", icon=":material/download:",
                        key=f"{key}_gif", help="every kept snapshot as an animated GIF")
    if st.session_state[follow] and run.active:
        row.caption(f"{len(steps)} snapshots kept; following the newest step while the run trains "
                    "(move the slider to look back).")
    else:
        row.caption(f"{len(steps)} snapshots kept, from step {steps[0]:,} to {steps[-1]:,}.")
    return shown
