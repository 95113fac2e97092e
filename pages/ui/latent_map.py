"""The VAE page's latent map: a few thousand galaxies' codes on the PCA plane, coloured by
class (autoenc/inference/latent_map.py). Hover over a galaxy: its thumbnail (drawn by the
browser: pages/ui/hover_thumbnails.py). Click a galaxy: its image and its reconstruction.
Click anywhere else: what the decoder makes of that point (the map is covered by a faint grid
of clickable points, since Plotly reports clicks on points only). The last two clicks are the
ends of a path, drawn on the map, with a slider along it. The map can also be laid out by
t-SNE (neighbours kept, computed once per model), where only galaxies can be clicked: it has
no inverse."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from autoenc.data import heldout
from autoenc.data.galaxy_set import CLASS_NAMES
from autoenc.evalcache import cached
from autoenc.inference import latent_map as LM
from autoenc.inference import vae as V
from pages.ui.charts import LEGEND
from pages.ui.hover_thumbnails import hover_thumbnails
from pages.ui.images import TILE_PX, show_grid
from pages.ui.models import trained_model
from pages.ui.text import text

CLASS_COLOURS = ("#e8590c", "#2f9e44", "#3b5bdb")
GRID = 36                     # clickable points per side of the map's background
PATH_STEPS = 9
# The layouts, by the labels the page shows: a link carries a choice as its label (?latent_map_by=t-SNE).
PCA, TSNE = "PCA", "t-SNE"


@st.cache_resource(show_spinner=False, max_entries=3)
def map_galaxies(size: int):
    """The galaxies the map places, read from disk once per size (shared: read them, never change them)."""
    return heldout.MAP_GALAXIES.images(size)


@st.cache_data(show_spinner="Placing 2,000 galaxies on the latent map…", max_entries=8)
def galaxy_map(path: str, mtime: float, size: int) -> LM.LatentMap:
    """The map of the map galaxies' codes for one checkpoint file."""
    return LM.latent_map(trained_model(Path(path), "vae").modules["vae"], map_galaxies(size).images)


@st.cache_data(show_spinner="Laying out 2,000 codes by t-SNE (once per model; about 20 s)…", max_entries=8)
def tsne_coords(path: str, mtime: float, size: int) -> np.ndarray:
    def compute():
        model = trained_model(Path(path), "vae").modules["vae"]
        return {"xy": LM.tsne(V.encode_images(model, map_galaxies(size).images))}
    return np.asarray(cached(Path(path), f"latent-tsne-{size}", compute)["xy"])


@dataclass(frozen=True)
class Layout:
    """Where the map draws each galaxy, and whether a point of its plane decodes."""
    coords: np.ndarray
    titles: tuple[str, str]
    decodes: bool


def layout(m: LM.LatentMap, path: Path, size: int, method: str) -> Layout:
    if method == TSNE:
        return Layout(tsne_coords(str(path), path.stat().st_mtime, size), ("t-SNE 1", "t-SNE 2"), False)
    x_share, y_share = m.explained
    return Layout(m.coords, (f"first direction ({x_share:.0%} of the codes' variance)", f"second direction ({y_share:.0%})"),
                  True)


def figure(lay: Layout, labels: np.ndarray, picks: list, route: np.ndarray | None) -> go.Figure:
    fig = go.Figure()
    if lay.decodes:
        lo, hi = lay.coords.min(0), lay.coords.max(0)
        pad = 0.08 * (hi - lo)
        gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID),
                             np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID))
        fig.add_scatter(x=gx.ravel(), y=gy.ravel(), mode="markers", name="anywhere (click to decode)", showlegend=False,
                        marker=dict(size=9, color="rgba(134,142,150,0.05)"), customdata=np.full(gx.size, -1),
                        hovertemplate="empty space (%{x:.2f}, %{y:.2f}): click to decode<extra></extra>")
    for k, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(labels == k)
        fig.add_scatter(x=lay.coords[idx, 0], y=lay.coords[idx, 1], mode="markers", name=name, customdata=idx,
                        marker=dict(size=5, color=CLASS_COLOURS[k], opacity=0.65),
                        hovertemplate=f"{name} #%{{customdata}}<extra></extra>")
    if route is not None:
        fig.add_scatter(x=route[:, 0], y=route[:, 1], mode="lines+markers", name="your path", showlegend=True,
                        line=dict(color="black", width=2, dash="dot"), marker=dict(size=5, color="black"),
                        hoverinfo="skip")
    for label, pick in zip("AB", picks):
        xy = place(pick, lay)
        fig.add_scatter(x=[xy[0]], y=[xy[1]], mode="markers+text", text=[label], textposition="top center",
                        marker=dict(size=14, color="black", symbol="x"), showlegend=False, hoverinfo="skip")
    fig.update_layout(height=520, margin=dict(l=10, r=10, t=30, b=10), legend=LEGEND,
                      xaxis_title=lay.titles[0], yaxis_title=lay.titles[1])
    return fig


def record(event, lay: Layout, picks: list) -> None:
    """A new click (the chart's selection) becomes the newest of `picks`, ("galaxy", index, None)
    or ("point", None, xy); the two newest are kept. A galaxy is kept by its index, so the same
    pick lies on any model's map (place() finds it there)."""
    points = ((event or {}).get("selection") or {}).get("points") or []
    if not points:
        return
    p = points[-1]
    xy = (float(p["x"]), float(p["y"]))
    custom = p.get("customdata")
    index = int(custom[0] if isinstance(custom, (list, tuple)) else custom) if custom is not None else -1
    if index < 0 and not lay.decodes:
        return
    pick = ("galaxy", index, None) if index >= 0 else ("point", None, xy)
    if not picks or picks[-1] != pick:
        picks.append(pick)
        del picks[:-2]


def place(pick, lay: Layout) -> tuple[float, float]:
    """Where a pick is on this map: a galaxy where this model put it, a point where it was clicked."""
    kind, index, xy = pick
    return tuple(lay.coords[index]) if kind == "galaxy" else xy


def code_of(model, m: LM.LatentMap, pick, images: np.ndarray) -> np.ndarray:
    kind, index, xy = pick
    return V.encode_images(model, images[index:index + 1])[0] if kind == "galaxy" else m.from_map([xy])[0]


def code_rms(path: Path, size: int) -> float:
    """How far a model's codes of the map galaxies lie from the prior's centre (RMS of their numbers)."""
    return galaxy_map(str(path), path.stat().st_mtime, size).code_rms


def latent_map_section(path: Path, size: int, key: str = "latent_map", shared: str = "latent_map") -> None:
    """The map of one model's codes; `key` names its chart and slider, `shared` the layout choice
    and the clicks, which every model's map of the page keeps: switch models and the same two
    galaxies (or the same two points of the plane) are picked on the other map."""
    model = trained_model(path, "vae").modules["vae"]
    m = galaxy_map(str(path), path.stat().st_mtime, size)
    galaxies = map_galaxies(size)
    images, labels = galaxies.images, galaxies.labels
    method = st.radio("Lay the map out by", (PCA, TSNE), horizontal=True,
                      help="PCA: a plane of the latent space, so a click anywhere decodes; t-SNE: neighbours "
                           "kept, clouds apart, but no inverse, so only galaxies can be clicked",
                      key=f"{shared}_by", bind="query-params")
    lay = layout(m, path, size, method)
    picks = st.session_state.setdefault(f"{shared}_picks", [])
    if not lay.decodes:                             # a point of the plane is no place on a t-SNE map
        picks[:] = [p for p in picks if p[0] == "galaxy"]
    record(st.session_state.get(key), lay, picks)     # the click that made this rerun, before the map is drawn
    ends = [code_of(model, m, p, images) for p in picks] if len(picks) == 2 else None
    if ends is None:
        route = None
    elif lay.decodes:
        route = m.to_map(LM.path(*ends, PATH_STEPS))
    else:                       # t-SNE places no point between two galaxies: the line joins its ends
        route = LM.path(place(picks[0], lay), place(picks[1], lay), 2)
    st.plotly_chart(figure(lay, labels, picks, route), width="stretch", key=key, on_select="rerun",
                    selection_mode="points")
    hover_thumbnails(f"map-galaxies-{size}", images, CLASS_NAMES[0])
    if lay.decodes:
        st.caption(text("vae", "The latent map", n=f"{len(labels):,}", share=f"{sum(m.explained):.0%}",
                        rms=f"{m.code_rms:.2f}"))
    else:
        st.caption(text("vae", "The latent map, by t-SNE", n=f"{len(labels):,}"))
    if not picks:
        return
    here, along = st.columns(2)
    kind, index, _ = picks[-1]
    xy = place(picks[-1], lay)
    with here:
        if kind == "galaxy":
            recon = V.reconstruct(model, images[index:index + 1])
            show_grid(np.concatenate([images[index:index + 1], recon]), 2,
                      f"your click: {CLASS_NAMES[labels[index]]} #{index} and its reconstruction", tile=2 * TILE_PX)
        else:
            nearest = float(np.min(np.linalg.norm(m.coords - np.asarray(xy), axis=1)))
            show_grid(LM.decode_at(model, m, [xy]), 1, f"decoded at ({xy[0]:.2f}, {xy[1]:.2f}); the nearest galaxy's "
                      f"code is {nearest:.2f} away on the map", tile=2 * TILE_PX)
    with along:
        if len(picks) < 2:
            st.caption("Click a second place: the two are the ends of a path, with a slider along it.")
            return
        t = st.slider("Along your path from A to B", 0.0, 1.0, 0.5, step=0.05, key=f"{key}_t")
        here_code = ((1 - t) * ends[0] + t * ends[1])[None].astype(np.float32)
        show_grid(V.decode_latents(model, here_code), 1, f"on the path at t = {t:.2f}", tile=2 * TILE_PX)
    strip = V.decode_latents(model, LM.path(*ends, PATH_STEPS).astype(np.float32))
    show_grid(strip, PATH_STEPS, f"{PATH_STEPS} steps from A to B (the dotted line on the map)")
