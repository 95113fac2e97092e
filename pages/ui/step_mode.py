"""GAN Lab's controls on a GAN page (the library side: autoenc/runs/step_mode.py): play and
pause, one critic step, one generator step, k critic steps then one generator step, and a
speed limit. The state lives in the run store, so a reload, another session and the Runs
page see the same; after a click the page waits for the run to make the steps, then redraws."""
from __future__ import annotations

import streamlit as st

from autoenc.errors import UserError
from autoenc.runs import step_mode
from autoenc.runs.store import Run, RunStore
from pages.ui.runs import POLL_SECONDS, act
from pages.ui.text import text

ANSWER_S = 10.0      # how long a click waits for the steps (a 64 px WGAN critic step takes ~0.3 s)
SPEEDS = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)     # generator steps a second while playing; 0: no limit


def speed_label(v: float) -> str:
    return "no limit" if not v else f"{v:g} steps/s"


def step_controls(store: RunStore, run: Run, n_critic: int, key: str) -> None:
    """The controls of an active GAN run; nothing for a run that has ended."""
    if not run.active or store.read_only:
        return
    if run.processes > 1:
        st.caption(text("gans", "Step mode and torchrun", n=run.processes))
        return
    st.markdown(text("gans", "Step by step"))
    k_col, speed_col = st.columns([1, 1.3], vertical_alignment="bottom")
    k = k_col.number_input("k: critic steps per generator step", 1, 100, n_critic, key=f"{key}_k",
                           help=f"for the last button; this model trains with {n_critic}")
    # buttons at their own width, wrapping onto a second line on a narrow screen
    buttons = st.container(horizontal=True)
    if run.paused:
        if buttons.button("Play", icon=":material/play_arrow:", key=f"{key}_play",
                          help="train on, n_critic critic steps per generator step"):
            act(lambda: step_mode.set_paused(store, run.id, False))
    elif buttons.button("Pause", icon=":material/pause:", key=f"{key}_pause",
                        help="stop between two updates; then step by hand"):
        act(lambda: (step_mode.set_paused(store, run.id, True), step_mode.wait_until_paused(store, run.id)))
    if buttons.button("1 critic step", key=f"{key}_critic1",
                      help="one update of the critic on a fresh real and generated batch (pauses the run)"):
        ask(store, run, critic=1)
    if buttons.button("1 generator step", key=f"{key}_gen1",
                      help="one update of the generator against the critic as it is now (pauses the run)"):
        ask(store, run, generator=1)
    if buttons.button(f"{k} critic, then 1 generator", key=f"{key}_kthen1",
                      help="k critic updates, then one generator update: one training step by hand"):
        ask(store, run, critic=int(k), generator=1)
    # the widget shows the store's value (another session may have set it) and writes only
    # when moved here
    speed_key = f"{key}_speed"
    st.session_state[speed_key] = run.speed_limit or 0.0
    speeds = sorted({*SPEEDS, st.session_state[speed_key]})    # a limit set from the CLI too
    speed_col.select_slider("Speed limit while playing", speeds, format_func=speed_label, key=speed_key,
                            on_change=lambda: step_mode.set_speed_limit(store, run.id, st.session_state[speed_key]),
                            help="at most this many generator steps a second, so a class can follow the "
                            "samples change")
    live_counts(store, run.id, poll=not run.paused)


def live_counts(store: RunStore, run_id: str, poll: bool) -> None:
    """Where the run is: paused or playing, its critic and generator steps; re-read every
    POLL_SECONDS while it plays."""
    @st.fragment(run_every=POLL_SECONDS if poll else None)
    def caption():
        run = store.get(run_id)
        speed = f", at most {speed_label(run.speed_limit)}" if run.speed_limit else ""
        state = "paused" if run.paused else ("playing" + speed if run.active else run.status)
        st.caption(f"Run {run.id}: {state}; critic step {run.critic_steps:,}, generator step {run.step:,}.")
    caption()


def ask(store: RunStore, run: Run, critic: int = 0, generator: int = 0) -> None:
    """Ask for the steps and wait for them, so the page redraws what they did."""
    try:
        target = step_mode.request_steps(store, run.id, critic, generator)
    except UserError as e:
        st.error(str(e))
        return
    step_mode.wait_for_steps(store, run.id, *target, timeout_s=ANSWER_S)
    st.rerun()

