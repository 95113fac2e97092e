"""Compare: 2 to 4 runs side by side (curves, samples at one step, the settings that differ,
the final measures), chosen in the URL (/compare?runs=A,B), and the race of the three GAN losses."""
import plotly.graph_objects as go
import streamlit as st

from autoenc.errors import UserError
from autoenc.registry import MODELS
from autoenc.runs import compare, history
from autoenc.runs.run import Run
from pages.ui.charts import show_chart
from pages.ui.images import show_image
from pages.ui.link import part
from pages.ui.runs import chosen_training_set, get_store, status_label
from pages.ui.setup import page_setup
from pages.ui.text import text
from pages.ui.traces import trace_figure

LABELS = {"tv_distance": "class-mix TV distance (lower is better)", "coverage": "coverage (higher is better)",
          "precision": "precision", "kid": "KID (lower is better)", "class_accuracy": "class accuracy",
          "val_peak_accuracy": "validation peak accuracy", "val_snr_gain_db": "validation SNR gain (dB)",
          "val_loss": "validation loss", "val_recon": "validation reconstruction", "val_kl": "validation KL"}
COLOURS = ("#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9")

page_setup(__file__)
st.title("Compare runs")
st.markdown(text("compare"))
store = get_store()
if store is None:
    st.stop()
runs = store.list()
by_id = {r.id: r for r in runs}


def title(run: Run) -> str:
    return f"{run.id} ({MODELS[run.model].title if run.model in MODELS else run.model})"


# -- the race ---------------------------------------------------------------------------
with part("train", "race"):
    with st.expander("Race GAN, WGAN-GP and WGAN-div", expanded=not runs):
        st.markdown(text("compare", "The race"))
        c1, c2, c3 = st.columns(3)
        size = c1.selectbox("Image size (px)", (32, 64), key="race_size")
        seed = c2.number_input("Seed", 0, 10**6, 0, key="race_seed")
        limit = c3.number_input("Time limit per run (s)", 30, 24 * 3600, 300, step=30, key="race_limit")
        if st.button("Race GAN, WGAN-GP and WGAN-div", icon=":material/sports_score:", key="race_start",
                     type="primary", disabled=bool(store.read_only), help=store.read_only):
            try:
                ids = compare.start_race(store, int(size), int(seed), chosen_training_set(store),
                                         max_seconds=float(limit))
                st.query_params["runs"] = ",".join(ids)
                st.rerun()
            except UserError as e:
                st.error(str(e))

# -- the runs chosen, kept in the URL ---------------------------------------------------------
asked = compare.parse_run_ids(st.query_params.get("runs"))
chosen, unknown = compare.known_runs(store, asked)
if unknown:
    st.warning(f"This link names run(s) this store does not hold: {', '.join(unknown)}.", icon=":material/link_off:")


def picked():
    st.query_params["runs"] = ",".join(st.session_state["compare_runs"])


st.session_state["compare_runs"] = [r.id for r in chosen][:compare.MAX_RUNS]
st.multiselect("Runs to compare (2 to 4)", list(by_id), key="compare_runs", on_change=picked,
               max_selections=compare.MAX_RUNS, format_func=lambda i: title(by_id[i]),
               help="the choice is in the page's address: copy it to hand the comparison out")
chosen = [by_id[i] for i in st.session_state["compare_runs"]]
if len(chosen) < compare.MIN_RUNS:
    st.info("Pick at least two runs, or start the race above.", icon=":material/compare_arrows:")
    st.stop()
for run in chosen:
    st.caption(f"{title(run)}: {status_label(run)}")

# -- curves ---------------------------------------------------------------------------------
st.subheader("Curves")
names = compare.logged_names(store, chosen)
if not names:
    st.info("None of these runs has logged anything yet: their curves start when they train.")
else:
    default = [n for n in ("tv_distance", "coverage") if n in names] or names[:1]
    shown = st.multiselect("Curves", names, default=default, key="compare_curves", bind="query-params",
                           format_func=lambda n: LABELS.get(n, n))
    by_time = st.toggle("By wall time (seconds of training), not by step", key="compare_by_time", bind="query-params",
                        help="a WGAN makes fewer generator steps a second than the GAN: by time the race is fair")

    @st.fragment(run_every=3.0 if any(r.active for r in chosen) else None)
    def charts():
        series = {run.id: compare.curves(store, run, shown) for run in chosen}
        for name in shown:
            fig = go.Figure()
            for colour, run in zip(COLOURS, chosen):
                if name in series[run.id]:
                    steps, values, seconds = series[run.id][name]
                    fig.add_scatter(x=seconds if by_time else steps, y=values, mode="lines+markers",
                                    name=title(run), line=dict(color=colour))
            fig.update_layout(height=300, xaxis_title="seconds of training" if by_time else "step")
            show_chart(fig, LABELS.get(name, name), key=f"compare_{name}")
    charts()

# -- samples at one step ------------------------------------------------------------------------
st.subheader("Samples at the same step")
kept = {run.id: history.sample_steps(store, run.id, compare.history_sample(run.model)) for run in chosen}
all_steps = sorted({s for steps in kept.values() for s in steps})
if not all_steps:
    st.caption("No samples yet: a run writes its first a few seconds after it starts training.")
else:
    step = st.select_slider("Step (one slider for every run)", options=all_steps, value=all_steps[-1],
                            key="compare_step", bind="query-params", format_func=lambda s: f"{s:,}")
    cols = st.columns(len(chosen))
    for col, run in zip(cols, chosen):
        with col:
            st.markdown(f"**{title(run)}**")
            at = history.sample_at(store, run.id, compare.history_sample(run.model), step)
            if at is None:
                st.caption("no samples yet")
            elif at[1].ndim == 3 and at[1].shape[-1] == 3 and at[1].dtype.kind == "u":
                show_image(at[1], f"step {at[0]:,}", tile=run.config.get("image_size"))
            else:
                noisy, truth, output = at[1][0]
                st.plotly_chart(trace_figure({"noisy": noisy, "truth": truth, "output": output}, height=220),
                                width="stretch", key=f"compare_trace_{run.id}")
                st.caption(f"step {at[0]:,}")

# -- settings and measures ------------------------------------------------------------------
st.subheader("The settings that differ")
diff = compare.settings_diff(chosen)
if diff:
    st.dataframe({"setting": list(diff), **{title(r): [str(v[i]) for v in diff.values()] for i, r in enumerate(chosen)}},
                 hide_index=True, width="stretch")
else:
    st.caption("None: these runs were trained with the same settings.")
st.subheader("Final measures")
final = compare.final_measures(store, chosen)
if final:
    st.dataframe({"measure": [LABELS.get(n, n) for n in final],
                  **{title(r): [None if v[i] is None else round(v[i], 4) for v in final.values()]
                     for i, r in enumerate(chosen)}}, hide_index=True, width="stretch")
    race = compare.race_summary(store, chosen)
    if race:
        st.markdown(text("compare", "What the race shows", **race))
else:
    st.caption("No evaluation yet: the runs measure themselves every eval_every steps.")
