"""Galaxy images on a page: enlarged by whole factors, so pixels stay sharp instead of blurred
by the browser, with a PNG download where the page offers one."""
from __future__ import annotations

import numpy as np
import streamlit as st

from autoenc.images import image_grid, to_png

DISPLAY_WIDTH = 560         # pixels a sample grid is enlarged to at most


def upscaled(image: np.ndarray, width: int = DISPLAY_WIDTH) -> np.ndarray:
    """The image enlarged by the largest whole factor that keeps it at most `width` px wide."""
    factor = max(1, width // image.shape[1])
    return image.repeat(factor, 0).repeat(factor, 1)


def show_image(image: np.ndarray, caption: str | None = None, width: int = DISPLAY_WIDTH,
               download: str | None = None) -> None:
    """One image (a grid, a decoded galaxy); download: offer it as this PNG file name."""
    st.image(upscaled(image, width), caption=caption, output_format="PNG")
    if download:        # encoded when clicked, not on every rerun
        st.download_button("Download PNG", lambda: to_png(image), download, "image/png", key=f"dl_{download}")


def show_grid(images: np.ndarray, ncols: int, caption: str | None = None, width: int = DISPLAY_WIDTH,
              download: str | None = None) -> None:
    """Images (N, H, W, 3) tiled ncols to a row."""
    show_image(image_grid(images, ncols), caption, width, download)
