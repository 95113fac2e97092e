"""Galaxy sets users bring: imported once into the home folder, then used by the image pages.

An upload is written under home/datasets/incoming with a name we choose (never the
user's path), checked by the loaders, and stored as a normalised .npz; the original
bytes are deleted whatever happens. Every imported set is listed for everyone; which one
a run trains on is that run's `data` setting, chosen per browser session on the pages.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import uuid
from pathlib import Path

import numpy as np

from autoenc import paths
from autoenc.data import galaxies
from autoenc.data.galaxy_loaders import MAX_FILE_BYTES, load_galaxy_file, load_npz
from autoenc.data.galaxy_set import GalaxySet
from autoenc.errors import UserError
from autoenc.files import atomic_write_bytes

RENDERED = "rendered"
ALLOWED_SUFFIXES = (".npz", ".zip", ".h5", ".hdf5")
STORED_SIZE = 128           # imported sets are kept at 128 px; pages resize down
BROWSE_N = 600              # images in the rendered set the Datasets page browses


def datasets_dir(home: Path) -> Path:
    d = Path(home) / "datasets"
    d.mkdir(parents=True, exist_ok=True)
    return d


def safe_name(filename: str) -> str:
    """A file-system-safe data set name from an upload's file name (its stem only)."""
    stem = Path(str(filename).replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:60]
    if not name or name == RENDERED:
        name = f"upload-{uuid.uuid4().hex[:6]}"
    return name


def unused_name(home: Path, name: str) -> str:
    """name, or name-2, name-3, ...: a second upload of the same file name never replaces the first."""
    taken = set(list_sets(home))
    candidate, k = name, 1
    while candidate in taken:
        k += 1
        candidate = f"{name}-{k}"
    return candidate


def import_upload(home: Path, filename: str, data: bytes) -> tuple[str, GalaxySet]:
    """Check an uploaded galaxy file and store it as a named set; returns (name, set)."""
    suffix = Path(str(filename)).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UserError(f"{Path(str(filename)).name}: unsupported file type; upload one of {', '.join(ALLOWED_SUFFIXES)}")
    if len(data) > MAX_FILE_BYTES:
        raise UserError(f"{Path(str(filename)).name} is {len(data) / 2**20:.1f} MB, over the limit of "
                        f"{MAX_FILE_BYTES >> 20} MB")
    incoming = datasets_dir(home) / "incoming"
    incoming.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=incoming)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        gs = load_galaxy_file(tmp, size=STORED_SIZE)
    except UserError as e:  # name the user's file, not our temporary one
        raise UserError(str(e).replace(Path(tmp).name, Path(str(filename)).name)) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    if len(gs) == 0:
        raise UserError(f"{Path(str(filename)).name} holds no usable images")
    name = unused_name(home, safe_name(filename))
    buf = io.BytesIO()
    np.savez_compressed(buf, images=gs.images, labels=gs.labels, class_names=np.asarray(gs.class_names))
    atomic_write_bytes(datasets_dir(home) / f"{name}.npz", buf.getvalue())
    return name, gs


def list_sets(home: Path) -> list[str]:
    return [RENDERED] + sorted(p.stem for p in datasets_dir(home).glob("*.npz"))


def load_set(home: Path, name: str, size: int = 64) -> GalaxySet:
    """The named set at `size` px: 'rendered' or one imported with import_upload."""
    if name == RENDERED:
        return galaxies.rendered_set(BROWSE_N, size, seed=1)
    if name not in list_sets(home):
        raise UserError(f"no galaxy set named {name!r}; known: {', '.join(list_sets(home))}")
    gs = load_npz(datasets_dir(home) / f"{name}.npz", size=size)
    gs.source = f"imported: {name}"
    return gs



def existing_set(home: Path, name: str | None) -> str:
    """name if that set exists in this home, else 'rendered' (a set deleted since it was chosen)."""
    return name if name in list_sets(home) else RENDERED


def training_set(name: str, n: int, size: int, seed: int) -> GalaxySet:
    """Training images for the VAE and GANs: n rendered ones, or an imported set (at most n
    of its images, a seeded random subset if it has more). The set is looked up in the
    run-store home of this process (--home or AUTOENC_HOME)."""
    if name == RENDERED:
        return galaxies.rendered_set(n, size, seed)      # looked up now: tests stand in for it
    gs = load_set(paths.home(), name, size)
    if len(gs) > n:
        keep = np.sort(np.random.default_rng(seed).choice(len(gs), n, replace=False))
        gs = GalaxySet(gs.images[keep], gs.labels[keep], gs.class_names, gs.source, list(gs.warnings))
    return gs
