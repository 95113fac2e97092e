"""A run's history as an animated GIF: each kept snapshot a frame, labelled with its step.

Image samples (a GAN grid, VAE reconstructions) are frames as they are; the denoiser's example
traces (3 traces x [noisy, clean, recovered] x 500 samples) are drawn as lines, one panel per
trace, in the page's colours.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from autoenc.errors import UserError
from autoenc.images import to_gif

LABEL_PX = 16                       # the strip under each frame that names its step
TRACE_PANEL = (260, 140)            # width, height of one trace's panel
TRACE_COLOURS = ((173, 181, 189), (28, 126, 214), (232, 89, 12))   # noisy, truth, output
FRAME_MS = 250


def labelled(image: np.ndarray, label: str) -> np.ndarray:
    """The image with a white strip below it that reads `label`."""
    h, w = image.shape[:2]
    canvas = Image.new("RGB", (w, h + LABEL_PX), "white")
    canvas.paste(Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)), (0, 0))
    ImageDraw.Draw(canvas).text((4, h + 2), label, fill="black")
    return np.asarray(canvas)


def trace_frame(traces: np.ndarray) -> np.ndarray:
    """(n traces, [noisy, truth, output], samples) -> one image, a panel per trace."""
    t = np.asarray(traces, dtype=np.float32)
    if t.ndim != 3 or t.shape[1] != 3:
        raise UserError(f"trace frames need (traces, 3, samples), not {t.shape}")
    w, h = TRACE_PANEL
    canvas = Image.new("RGB", (w * len(t), h), "white")
    draw = ImageDraw.Draw(canvas)
    lo, hi = float(t.min()), float(t.max())
    span = hi - lo or 1.0
    xs = np.linspace(0, w - 1, t.shape[2])
    for i, panel in enumerate(t):
        for line, colour in zip(panel, TRACE_COLOURS):
            ys = (h - 4) - (line - lo) / span * (h - 8)
            draw.line(list(zip((xs + i * w).tolist(), ys.tolist())), fill=colour, width=2 if colour != TRACE_COLOURS[0] else 1)
        draw.line([(i * w, 0), (i * w, h)], fill=(222, 226, 230))
    return np.asarray(canvas)


def history_gif(steps: Sequence[int], snapshots: Sequence[np.ndarray], traces: bool = False,
                frame_ms: int = FRAME_MS) -> bytes:
    """The snapshots, oldest first, as a looping GIF (the last frame held a little longer)."""
    if not len(snapshots):
        raise UserError("this run has no snapshots yet to animate")
    frames = [labelled(trace_frame(s) if traces else s, f"step {step:,}") for step, s in zip(steps, snapshots)]
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:            # a run resumed at another size: pad to the largest
        h = max(s[0] for s in shapes)
        w = max(s[1] for s in shapes)
        frames = [np.pad(f, ((0, h - f.shape[0]), (0, w - f.shape[1]), (0, 0)), constant_values=255) for f in frames]
    durations = [frame_ms] * (len(frames) - 1) + [4 * frame_ms]
    return to_gif(np.stack(frames), duration_ms=durations, boomerang=False, fast=True)
