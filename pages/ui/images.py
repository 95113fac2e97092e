"""Galaxy images on a page, enlarged by whole factors so pixels stay sharp (not blurred by the
browser) and every galaxy of a grid is at least TILE_PX pixels across: what a class reads on a
projector. A grid of 8 such galaxies is 530 px wide, which fits the narrowest page we check
(853 px with the sidebar open)."""
from __future__ import annotations

import hashlib
import math

import numpy as np
import streamlit as st

from autoenc.images import image_grid, to_png

TILE_PX = 64                # pixels per galaxy at the least


def upscaled(image: np.ndarray, factor: int) -> np.ndarray:
    return image.repeat(factor, 0).repeat(factor, 1) if factor > 1 else image


def enlarged(image: np.ndarray, factor: int) -> np.ndarray | bytes:
    """The image enlarged by `factor`, for st.image: a uint8 one as PNG bytes encoded once for
    every session that shows it (a class on the GAN pages encoded the same live grid once per
    session per tick: a tenth of the server's script time, py-spy)."""
    if image.dtype != np.uint8:
        return upscaled(image, factor)
    digest = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()
    return _png(digest, image.shape, factor, image)


@st.cache_resource(max_entries=256, show_spinner=False)
def _png(digest: str, shape: tuple, factor: int, _image: np.ndarray) -> bytes:
    return to_png(upscaled(_image, factor))


def show_image(image: np.ndarray, caption: str | None = None, tile: int | None = None,
               download: str | None = None) -> None:
    """One image: a grid whose galaxies are `tile` px (enlarged to TILE_PX), or one galaxy
    (tile = its side). download: offer the image at its own size as this PNG file name."""
    factor = math.ceil(TILE_PX / (tile or image.shape[1]))
    st.image(enlarged(image, factor), caption=caption, output_format="PNG")
    if download:        # encoded when clicked, not on every rerun
        st.download_button("Download PNG", lambda: to_png(image), download, "image/png", key=f"dl_{download}")


def show_grid(images: np.ndarray, ncols: int, caption: str | None = None, download: str | None = None,
              tile: int | None = None) -> None:
    """Images (N, H, W, 3) tiled ncols to a row; tile: show each at this side (default TILE_PX)."""
    grid = image_grid(images, ncols)
    factor = math.ceil((tile or TILE_PX) / images.shape[1])
    st.image(enlarged(grid, factor), caption=caption, output_format="PNG")
    if download:
        st.download_button("Download PNG", lambda: to_png(grid), download, "image/png", key=f"dl_{download}")
