"""Images as every part of the app passes them: uint8 (N, H, W, 3) arrays, converted from and
to the networks' float NCHW tensors, tiled into grids, encoded as PNG or animated GIF."""
from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image

from autoenc.errors import UserError


def to_uint8(images: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """(B, 3, H, W) float in value_range ((-1, 1) for the GANs' tanh) -> (B, H, W, 3) uint8."""
    lo, hi = value_range
    x = images.detach().clamp(lo, hi)
    x = (x.add(-lo) if lo else x).mul(255.0 / (hi - lo)).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def from_uint8(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) uint8 view on the device (channels_last memory, no copy on CPU)."""
    t = torch.as_tensor(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) else images
    return t.to(device).permute(0, 3, 1, 2)


def check_images(images, size: int, taker: str, what: str = "images") -> np.ndarray:
    """uint8 (N, size, size, 3) (a single (size, size, 3) becomes N = 1), or a UserError saying
    what is wrong; `taker` names the model in the message ("this conv VAE (64 px)")."""
    a = np.asarray(images)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise UserError(f"{what} must be RGB images shaped (N, H, W, 3), not an array of shape {a.shape}")
    if len(a) == 0:
        raise UserError(f"no {what} given: pick at least one image")
    if a.dtype != np.uint8:
        raise UserError(f"{what} must be 8-bit (uint8) pixel values 0-255, not {a.dtype}")
    if a.shape[1:3] != (size, size):
        raise UserError(f"{what} are {a.shape[2]}x{a.shape[1]} px but {taker} "
                        f"takes {size}x{size} px images: resize them or load a checkpoint of that size")
    return a


def image_grid(images, ncols: int = 8, pad: int = 2, fill: int = 0) -> np.ndarray:
    """uint8 (N, H, W, 3) -> one uint8 image, ncols per row, `pad` pixels of `fill` between tiles."""
    a = np.asarray(images)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or len(a) == 0:
        raise UserError(f"image_grid needs images shaped (N, H, W, C), not {a.shape}")
    n, h, w, c = a.shape
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    grid = np.full((nrows * h + (nrows + 1) * pad, ncols * w + (ncols + 1) * pad, c), fill, np.uint8)
    for i in range(n):
        r, k = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        grid[y:y + h, x:x + w] = a[i]
    return grid


def to_png(image) -> bytes:
    """uint8 (H, W, 3) -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def to_gif(frames, duration_ms: int | list[int] = 80, boomerang: bool = True, scale: int = 1, fast: bool = False) -> bytes:
    """uint8 frames (N, H, W, 3) -> looping animated GIF bytes. boomerang plays the
    frames forward then back (a -> b -> a) so the loop has no jump; scale enlarges
    the frames (nearest neighbour) for small thumbnails; duration_ms may be one per frame; fast picks each frame's palette
    by octree (5 ms for a 530 px frame, against 170 ms for the finer median cut)."""
    a = np.asarray(frames, dtype=np.uint8)
    if a.ndim != 4 or len(a) == 0:
        raise UserError(f"a GIF needs frames shaped (N, H, W, 3), not {a.shape}")
    if boomerang and len(a) > 2:
        a = np.concatenate([a, a[-2:0:-1]])
    if scale > 1:
        a = a.repeat(scale, axis=1).repeat(scale, axis=2)
    method = Image.Quantize.FASTOCTREE if fast else Image.Quantize.MEDIANCUT
    imgs = [Image.fromarray(f).quantize(colors=256, method=method) for f in a]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:],
                 duration=duration_ms if isinstance(duration_ms, list) else int(duration_ms),
                 loop=0, disposal=1)
    return buf.getvalue()
