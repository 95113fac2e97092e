"""The seventh model's page: inputs, one call into the library, render, with the shared widgets."""
import streamlit as st

from autoenc.registry import get_model
from autoenc.runs import launcher
from pages.ui.history import HistoryViews, run_history
from pages.ui.models import checkpoint_picker, trained_model
from pages.ui.runs import get_store, run_controls, run_picker
from pages.ui.setup import page_setup

page_setup(__file__)
spec = get_model("tiny")
task = spec.task_class()
st.title(spec.title)
store = get_store()
lr = st.number_input("Learning rate", 1e-4, 1.0, task.Config.lr, key="tiny_lr")
shown = run_picker(store.list(model="tiny"), key="tiny")
run_controls(store, shown, lambda: launcher.start_run(store, "tiny", {"lr": float(lr)}), key="tiny")
if shown:
    run_history(store, shown, HistoryViews(sample=task.history_sample, chart=task.chart_metrics, chart_title="Loss"),
                key="tiny")
picked = checkpoint_picker(store, shown, {}, key="tiny_source")
if picked:
    net = trained_model(picked[1], "tiny").modules["net"]
    st.metric("Code size", net.encode.out_features)
