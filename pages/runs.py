"""Runs: every training run, live, with stop / resume / delete and the error of a failed run."""
import pandas as pd
import streamlit as st

from autoenc.errors import UserError
from autoenc.registry import MODELS
from autoenc.runs import launcher
from pages.ui.runs import POLL_SECONDS, elapsed, get_store
from pages.ui.setup import page_setup

page_setup(__file__)
st.title("Runs")
store = get_store()
if store is None:
    st.stop()
st.caption(f"Run store: `{store.path}` · each run is a `python -m autoenc train` process; "
           "they keep training when you leave this page.")

limit = st.number_input("Runs that may train at once (the rest wait in the queue)", 1, 8,
                        value=store.max_concurrent(), key="max_concurrent")
if limit != store.max_concurrent():
    store.set_setting("max_concurrent", int(limit))

any_active = any(r.active for r in store.list())


@st.fragment(run_every=POLL_SECONDS if any_active else None)
def run_table():
    runs = store.list()
    if not runs:
        st.info("No runs yet. Start one with **Train** on a model page, or "
                "`python -m autoenc train denoiser` in a terminal.")
        return
    table = pd.DataFrame([{
        "run": r.id,
        "model": MODELS[r.model].title if r.model in MODELS else r.model,
        "status": r.status,
        "step": r.step,
        "progress": r.step / r.total_steps if r.total_steps else 0.0,
        "time": elapsed(r),
        "checkpoint": r.checkpoint_step,
        "error": (r.error or "").splitlines()[0] if r.error else "",
    } for r in runs])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
        "checkpoint": st.column_config.NumberColumn("last checkpoint", format="%d"),
    })
    if any_active and not any(r.active for r in runs):
        st.rerun()


run_table()

runs = store.list()
if runs:
    st.subheader("Run details")
    chosen = st.selectbox("Run", [r.id for r in runs], key="run_choice")
    run = next(r for r in runs if r.id == chosen)
    c1, c2, c3 = st.columns(3)
    if c1.button("Stop", disabled=not run.active, width="stretch"):
        launcher.stop_run(store, run.id, wait_s=5)
        st.rerun()
    if c2.button("Resume", disabled=run.active or not run.checkpoint_step, width="stretch"):
        try:
            launcher.resume_run(store, run.id)
            st.rerun()
        except UserError as e:
            st.error(str(e))
    if c3.button("Delete", disabled=False, width="stretch", type="secondary"):
        st.session_state["confirm_delete"] = run.id
    if st.session_state.get("confirm_delete") == run.id:
        st.warning(f"Delete run {run.id}, its metrics and its checkpoints?")
        if st.button("Yes, delete it", type="primary"):
            launcher.delete_run(store, run.id)
            st.session_state.pop("confirm_delete")
            st.rerun()
    if run.status == "failed" and run.error:
        st.error(run.error)
    elif run.status == "interrupted":
        st.warning(f"{run.error} Resume continues from step {run.checkpoint_step or 0}.")
    st.code(" ".join(["python -m autoenc train", run.model, *launcher.option_args(run.model, run.config)]),
            language="bash")
    with st.expander("Settings"):
        st.json(run.config)
    tail = launcher.log_tail(store, run.id)
    if tail:
        with st.expander("Log (last lines)"):
            st.code(tail)
