"""Runs: every training run, live, with stop / resume / train more / delete and the error of a failed run."""
import pandas as pd
import streamlit as st

from autoenc.registry import MODELS
from autoenc.runs import launcher
from autoenc.runs.store import HEARTBEAT_TIMEOUT_S, Run
from pages.ui.bundles import bundle_button, import_box
from pages.ui.link import part
from pages.ui.runs import POLL_SECONDS, duration, elapsed, get_store, run_actions
from pages.ui.setup import page_setup
from pages.ui.step_mode import step_controls
from pages.ui.text import text

# The settings that tell runs of a model apart in the table, where the model has them.
KEY_SETTINGS = {"noise": "noise", "image_size": "px", "arch": "arch", "data": "data"}

page_setup(__file__)
st.title("Runs")
store = get_store()
if store is None:
    st.stop()
st.caption(text("runs", path=store.location))

limit = st.number_input("Runs that may train at once (the rest wait in the queue)", 1, 8,
                        value=store.max_concurrent(), key="max_concurrent", disabled=bool(store.read_only))
if limit != store.max_concurrent():
    store.set_setting("max_concurrent", int(limit))

any_active = any(r.active for r in store.list())


def key_settings(run: Run) -> str:
    """'noise uniform · 32 px': what sets this run apart from the model's other runs."""
    parts = []
    for name, label in KEY_SETTINGS.items():
        if name in run.config:
            v = run.config[name]
            parts.append(f"{v} {label}" if label == "px" else f"{label} {v}")
    return " · ".join(parts)


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
        "settings": key_settings(r),
        "status": r.status + (", paused" if r.active and r.paused else "")
        + (f", {r.processes} processes" if r.processes > 1 else ""),
        "host": r.host or "",
        "step": r.step,
        "critic steps": r.critic_steps if "n_critic" in r.config else None,     # the GANs
        "progress": r.step / r.total_steps if r.total_steps else 0.0,
        "time": elapsed(r),
        "why it ended": r.ended_because,
        "checkpoint": r.checkpoint_step,
        "error": (r.error or "").splitlines()[0] if r.error else "",
    } for r in runs])
    if store.path is not None and all(store.on_this_host(r.host) for r in runs):
        table = table.drop(columns="host")      # one machine: its name in every row says nothing
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "host": st.column_config.TextColumn("host", help="the machine the run trains on (a run store on "
                                            "PostgreSQL is shared by several)"),
        "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
        "checkpoint": st.column_config.NumberColumn("last checkpoint", format="%d"),
        "critic steps": st.column_config.NumberColumn("critic steps", format="%d",
                                                      help="GAN runs: critic updates so far (step counts the generator's)"),
    })
    if any_active and not any(r.active for r in runs):
        st.rerun()


run_table()

with part("upload", "bundle"):
    with st.expander("Import a run bundle", icon=":material/upload:"):
        st.caption(text("runs", "Import a run bundle"))
        import_box(store)

runs = store.list()
if runs:
    st.subheader("Run details")
    chosen = st.selectbox("Run", [r.id for r in runs], key="run_choice", bind="query-params")
    run = next(r for r in runs if r.id == chosen)
    if not store.on_this_host(run.host):
        st.info(text("runs", "On another machine", host=run.host, timeout=duration(HEARTBEAT_TIMEOUT_S)),
                icon=":material/lan:")
    with part("train", "actions"):
        run_actions(store, run, key="runs")
        if "n_critic" in run.config:        # a GAN run: its step-mode controls, the same as on its page
            step_controls(store, run, int(run.config["n_critic"]), key="runs_stepmode")
        if st.button("Delete", type="secondary", key="runs_delete", disabled=bool(store.read_only)):
            st.session_state["confirm_delete"] = run.id
        if st.session_state.get("confirm_delete") == run.id:
            st.warning(f"Delete run {run.id}, its metrics and its checkpoints?")
            if st.button("Yes, delete it", type="primary"):
                launcher.delete_run(store, run.id)
                st.session_state.pop("confirm_delete")
                st.rerun()
    if run.checkpoint_step and store.checkpoint_path(run.id).exists():
        bundle_button(store, store.checkpoint_path(run.id), key="runs")
    if run.status == "failed" and run.error:
        st.code(run.error)
    st.caption("The command that trains such a run:")
    st.code(launcher.user_command(run.model, run.config, run.max_seconds), language="bash")
    with st.expander("Settings"):
        st.json(run.config)
    tail = launcher.log_tail(store, run.id)
    if tail:
        with st.expander("Log (last lines)"):
            st.code(tail)
