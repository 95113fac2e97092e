"""Figures of a checkpoint file on a fixed held-out set, computed once per file and kept on
disk: for a given file they never change, so a server start or a new session reads them
instead of evaluating again (3 s for the Denoiser page's three shipped models).

Keyed by the file's SHA-256 (not its name or time: a run's checkpoint is rewritten in place)
and by what is computed; EVAL_VERSION goes into the key, so a change to an evaluation's
definition (a metric, a held-out set) is one bump here.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autoenc import paths
from autoenc.files import atomic_write_bytes

EVAL_VERSION = 1
MAX_ENTRIES = 300           # a training run rewrites its checkpoint: keep the newest entries only


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _plain(x: Any) -> Any:
    """JSON-able: arrays and numpy numbers become lists and floats, tuples lists."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def cached(checkpoint: Path, what: str, compute: Callable[[], dict]) -> dict:
    """compute()'s result for this file, from CACHE_DIR/evals when it is there (arrays come back
    as lists)."""
    path = Path(paths.CACHE_DIR) / "evals" / f"{file_hash(checkpoint)}-{what}-v{EVAL_VERSION}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    result = _plain(compute())
    atomic_write_bytes(path, json.dumps(result).encode())
    entries = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for old in entries[:-MAX_ENTRIES]:
        old.unlink(missing_ok=True)
    return result
