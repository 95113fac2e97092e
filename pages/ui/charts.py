"""Plotly conventions every chart on a page follows, so they read on a projector: the legend
above the plot, clear of the axis titles; log axes labelled in powers of ten."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

LEGEND = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0)


def log_axis(fig: go.Figure, **where) -> None:
    """A log y axis labelled 10⁻⁶, 10⁻⁵, ... (not '1µ', '10n')."""
    fig.update_yaxes(type="log", exponentformat="power", showexponent="all", dtick=1, **where)


def show_chart(fig: go.Figure, title: str, key: str, where=st) -> None:
    """The chart under its title (as text, not in the figure, where a wrapped legend would run
    into it), with its legend above the plot."""
    fig.update_layout(margin=dict(l=10, r=10, t=30, b=10), legend=LEGEND, meta=title)   # meta: tests find it by title
    where.markdown(f"**{title}**")
    where.plotly_chart(fig, width="stretch", key=key)
