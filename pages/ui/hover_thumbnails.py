"""A thumbnail beside the cursor when it is over a galaxy of a Plotly scatter.

Streamlit passes no hover events to Python, so the browser does it: every thumbnail goes to
the page once, as one sprite image in a hidden st.image (a media URL, cached by the browser like
any image), and a script listens to plotly.js's hover events on the charts with a trace named
`marker` and shows the hovered point's tile. A point's customdata is its image's index;
negative customdata (the map's clickable background) shows nothing.
"""
from __future__ import annotations

import json

import numpy as np
import streamlit as st

from autoenc.images import to_png

THUMB = 32          # pixels per tile in the sprite
SHOWN = 96          # pixels per tile beside the cursor
COLUMNS = 40        # tiles per sprite row: 1280 px, under the width st.image would shrink it to

SCRIPT = """
<script>
(() => {
  const cfg = %s;
  const seen = (window.__autoencThumbs = window.__autoencThumbs || {});
  if (seen[cfg.box]) return;                 // one watcher per sprite, whatever the reruns
  seen[cfg.box] = true;
  const tip = document.createElement("div");
  tip.setAttribute("data-testid", "autoenc-thumbnail");
  Object.assign(tip.style, {position: "fixed", display: "none", pointerEvents: "none", zIndex: 1000,
    width: cfg.shown + "px", height: cfg.shown + "px", border: "2px solid white", borderRadius: "4px",
    boxShadow: "0 2px 8px rgba(0,0,0,.45)", imageRendering: "pixelated",
    backgroundSize: (cfg.columns * cfg.shown) + "px auto"});
  document.body.appendChild(tip);
  setInterval(() => {
    const img = document.querySelector("." + cfg.box + " img");
    if (!img) return;
    for (const gd of document.querySelectorAll(".js-plotly-plot")) {
      if (gd.dataset.thumbs === img.src || !gd.on || !gd._fullData || !gd._fullData.some(t => t.name === cfg.marker)) continue;
      gd.dataset.thumbs = img.src;
      gd.on("plotly_hover", (ev) => {
        const p = ev.points && ev.points[0];
        const i = p ? Number(Array.isArray(p.customdata) ? p.customdata[0] : p.customdata) : -1;
        if (!(i >= 0) || !ev.event) { tip.style.display = "none"; return; }
        tip.style.backgroundImage = "url(" + img.src + ")";
        tip.style.backgroundPosition = (-(i %% cfg.columns) * cfg.shown) + "px " + (-Math.floor(i / cfg.columns) * cfg.shown) + "px";
        tip.style.left = (ev.event.clientX + 18) + "px";
        tip.style.top = (ev.event.clientY - cfg.shown - 10) + "px";
        tip.dataset.index = String(i);
        tip.style.display = "block";
      });
      gd.on("plotly_unhover", () => { tip.style.display = "none"; });
    }
  }, 500);
})();
</script>
"""


def sprite(images: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 -> one image of THUMB-px tiles, COLUMNS to a row, in index order."""
    n, s = len(images), images.shape[1]
    f = max(1, s // THUMB)
    small = images[:, :f * THUMB, :f * THUMB].reshape(n, THUMB, f, THUMB, f, 3).mean((2, 4)) if f > 1 else images
    rows = -(-n // COLUMNS)
    tiles = np.zeros((rows * COLUMNS, small.shape[1], small.shape[2], 3), np.uint8)
    tiles[:n] = np.round(small).astype(np.uint8)
    t = tiles.shape[1]
    return tiles.reshape(rows, COLUMNS, t, t, 3).transpose(0, 2, 1, 3, 4).reshape(rows * t, COLUMNS * t, 3)


@st.cache_resource(show_spinner=False, max_entries=4)
def sprite_png(name: str, _images: np.ndarray) -> bytes:
    """The sprite of a named image set, encoded once per server."""
    return to_png(sprite(_images))


def hover_thumbnails(name: str, images: np.ndarray, marker: str) -> None:
    """Thumbnails of `images` (named `name`, which keys the sprite) on the charts that have a
    trace named `marker`."""
    box = f"autoenc-thumbs-{name}"
    st.html(f'<style>[class*="st-key-{box}"] {{ display: none; }}</style>')     # the browser still loads it
    with st.container(key=box):
        st.image(sprite_png(name, images), output_format="PNG")
    config = {"box": f"st-key-{box}", "marker": marker, "columns": COLUMNS, "shown": SHOWN}
    st.html(SCRIPT % json.dumps(config), unsafe_allow_javascript=True)
