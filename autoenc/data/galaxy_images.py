"""Decoding galaxy images users bring: class names through synonyms, any image mode to RGB,
centre-cropped and resized to a square; arrays of images checked and converted to uint8.

Problems a user can fix raise `UserError` with one clear line; conversions worth knowing
(grey images, alpha dropped, enlarged images) are counted in a `notes` dict that
`notes_to_warnings` turns into the `GalaxySet.warnings` of the set they went into.
"""
from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image

from autoenc.data.galaxy_set import CLASS_NAMES, SIZE_RANGE, GalaxySet
from autoenc.errors import UserError

MAX_IMAGE_PIXELS = 40_000_000           # one image (PIL's decompression-bomb guard is 89 M)
MIN_SIDE = 16                           # smaller images carry no morphology
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}

_SYNONYMS = {
    0: ("barred spiral", "barred", "bar", "barred spiral galaxy", "spiral barred", "sb", "barred disk",
        "barred disc"),
    1: ("elliptical", "ellipticals", "smooth", "elliptical galaxy", "e", "early type", "round", "smooth round",
        "in between", "completely round"),
    2: ("spiral", "spirals", "unbarred spiral", "unbarred", "spiral galaxy", "s", "disk", "disc", "late type",
        "non barred spiral", "nonbarred spiral"),
}

def _norm(name: str) -> str:
    s = str(name).strip().lower()
    s = re.sub(r"^\d+\s*[_\-. ]\s*", "", s)         # "0_barred_spiral" -> "barred_spiral"
    s = re.sub(r"[_\-.\s]+", " ", s).strip()
    return s


_LOOKUP = {}
for _idx, _names in _SYNONYMS.items():
    for _n in _names:
        _LOOKUP[_norm(_n)] = _idx
        _LOOKUP[_norm(_n).replace(" ", "")] = _idx
        if not _norm(_n).endswith("s"):
            _LOOKUP[_norm(_n) + "s"] = _idx


def class_index(name: str) -> int:
    """Our class index for a class name or synonym; UserError listing the accepted names."""
    key = _norm(name)
    for k in (key, key.replace(" ", "")):
        if k in _LOOKUP:
            return _LOOKUP[k]
    raise UserError(f"unknown galaxy class {str(name)!r}; use one of: "
                    "barred spiral (barred, barred_spiral, bar), elliptical (smooth, round), "
                    "spiral (unbarred, disk)")


def check_size(size) -> int:
    lo, hi = SIZE_RANGE
    if not isinstance(size, (int, np.integer)) or not lo <= int(size) <= hi:
        raise UserError(f"image size must be a whole number of pixels from {lo} to {hi}, got {size!r}")
    return int(size)


# --------------------------------------------------------------------------- images

def _to_square(img: Image.Image, size: int) -> np.ndarray:
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    img = img.crop((left, top, left + s, top + s))
    if s != size:
        img = img.resize((size, size), Image.LANCZOS if s > size else Image.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


def open_image(data: bytes, name: str, size: int, notes: dict) -> np.ndarray:
    """Decode one image file to (size, size, 3) uint8; notes counts conversions."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise UserError(f"{name}: {w} x {h} pixels is too large (limit {MAX_IMAGE_PIXELS:,} pixels)")
            if min(w, h) < MIN_SIDE:
                raise UserError(f"{name}: {w} x {h} pixels is too small (at least {MIN_SIDE} px a side)")
            im.load()
            img = _to_rgb(im, notes)
    except UserError:
        raise
    except Image.UnidentifiedImageError:
        raise UserError(f"{name}: not a readable image (corrupt, truncated or an unknown format)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, EOFError) as e:
        raise UserError(f"{name}: not a readable image (corrupt or truncated: {e})") from None
    return _to_square(img, size)


def _to_rgb(im: Image.Image, notes: dict) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        notes["alpha"] = notes.get("alpha", 0) + 1
        if mode == "LA":
            notes["grey"] = notes.get("grey", 0) + 1
        return im.convert("RGBA").convert("RGB")
    if mode in ("L", "1"):
        notes["grey"] = notes.get("grey", 0) + 1
        return im.convert("RGB")
    if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        notes["grey"] = notes.get("grey", 0) + 1
        a = np.asarray(im, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError("non-finite pixel values")
        top = a.max() if a.size and a.max() > 0 else 1.0
        a8 = np.clip(a / top * 255.0, 0, 255).round().astype(np.uint8)
        return Image.fromarray(a8).convert("RGB")
    return im.convert("RGB")                           # P, CMYK, YCbCr, ...


def notes_to_warnings(notes: dict) -> list[str]:
    w = []
    if notes.get("grey"):
        w.append(f"{notes['grey']} grey-scale image(s) converted to RGB (all three channels equal)")
    if notes.get("alpha"):
        w.append(f"{notes['alpha']} image(s) had an alpha channel; it was dropped")
    if notes.get("channels_first"):
        w.append("images were stored channels-first (N, C, H, W); transposed to (N, H, W, C)")
    if notes.get("upscaled"):
        w.append(f"images of {notes['upscaled']} px were enlarged; they hold no finer detail")
    return w


def _class_warnings(labels: np.ndarray) -> list[str]:
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    return [f"no {CLASS_NAMES[i]} images in this data set" for i in range(len(CLASS_NAMES)) if counts[i] == 0]


def galaxy_set(images: list[np.ndarray] | np.ndarray, labels, source: str, warnings: list[str]) -> GalaxySet:
    labels = np.asarray(labels, dtype=np.int64)
    images = np.stack(images) if isinstance(images, list) else images
    if len(labels) == 0:
        raise UserError(f"{source}: no images of the classes barred spiral, elliptical or spiral")
    return GalaxySet(images=np.ascontiguousarray(images, dtype=np.uint8), labels=labels, class_names=CLASS_NAMES,
                     source=source, warnings=warnings + _class_warnings(labels))


# --------------------------------------------------------------------------- arrays

def as_uint8_images(a: np.ndarray, what: str, notes: dict) -> np.ndarray:
    """(N, H, W, 3) uint8 from an array of images; UserError when it cannot be."""
    if a.dtype.kind not in "uif" or a.dtype.kind == "b":
        raise UserError(f"{what}: images must be numbers (uint8 0-255 or float 0-1), not dtype {a.dtype}")
    if a.ndim == 3:
        notes["grey"] = notes.get("grey", 0) + len(a)
        a = a[..., None]
    if a.ndim != 4:
        raise UserError(f"{what}: images must have shape (N, H, W, 3), got {a.shape}")
    if a.shape[-1] not in (1, 3, 4) and a.shape[1] in (1, 3, 4):
        notes["channels_first"] = 1
        a = np.moveaxis(a, 1, -1)
    if a.shape[-1] == 1:
        if "grey" not in notes:
            notes["grey"] = len(a)
        a = np.repeat(a, 3, axis=-1)
    elif a.shape[-1] == 4:
        notes["alpha"] = notes.get("alpha", 0) + len(a)
        a = a[..., :3]
    elif a.shape[-1] != 3:
        raise UserError(f"{what}: images need 1, 3 or 4 channels, got shape {a.shape}")
    if min(a.shape[1], a.shape[2]) < MIN_SIDE:
        raise UserError(f"{what}: images of {a.shape[2]} x {a.shape[1]} px are too small (at least {MIN_SIDE} px a side)")
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise UserError(f"{what}: images contain NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0 or hi > 255:
            raise UserError(f"{what}: float images must lie in 0-1 (or 0-255), found {lo:g} to {hi:g}")
        scale = 255.0 if hi <= 1.0 else 1.0
        return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)
    lo, hi = int(a.min()), int(a.max())
    if lo < 0 or hi > 255:
        raise UserError(f"{what}: integer images must lie in 0-255, found {lo} to {hi}")
    return a.astype(np.uint8)


def resize_array(images: np.ndarray, size: int, notes: dict) -> np.ndarray:
    n, h, w, _ = images.shape
    if h == w == size:
        return images
    if min(h, w) < size:
        notes["upscaled"] = min(h, w)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        out[i] = _to_square(Image.fromarray(images[i]), size)
    return out
