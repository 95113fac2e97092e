"""Building bad files: images, zips, npz archives, and a pickle that proves it ran."""
from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from autoenc.data.galaxy_set import CLASS_NAMES

CLASS_DIRS = CLASS_NAMES            # a zip of class folders names them as we do
PAYLOAD_MARK = "pickle_payload_ran"


def png(w: int = 40, h: int = 40, mode: str = "RGB", seed: int = 0) -> bytes:
    a = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a, "RGB").convert(mode).save(buf, "PNG")
    return buf.getvalue()


def zip_bytes(entries: dict[str, bytes], compress: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def good_zip(n: int = 2) -> dict[str, bytes]:
    return {f"{c}/g{i}.png": png(seed=k * 10 + i) for k, c in enumerate(CLASS_DIRS) for i in range(n)}


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def good_npz(**override) -> bytes:
    arrays = {"images": np.zeros((3, 20, 20, 3), np.uint8), "labels": np.array([0, 1, 2]),
              "class_names": np.array(CLASS_NAMES)}
    arrays.update(override)
    return npz_bytes(**{k: v for k, v in arrays.items() if v is not None})


class Payload:
    """Unpickling this writes a marker file: the proof that a pickle ran."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def payload(folder: Path) -> bytes:
    return pickle.dumps(Payload(str(folder / PAYLOAD_MARK)))


def home_of(tmp: Path) -> Path:
    h = tmp / "home"
    h.mkdir(exist_ok=True)
    return h
