"""Checkpoint files: weights in safetensors, config and step as JSON in its header.

One file per checkpoint, so one atomic rename publishes weights and metadata together:
a reader sees the old file or the new one, never half of either. Loading parses a
safetensors header and raw tensor bytes; nothing is ever unpickled.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from autoenc.errors import CheckpointError
from autoenc.files import atomic_write_bytes

FORMAT = "autoenc-checkpoint-1"
META_KEY = "autoenc"
MAX_BYTES = 2 * 1024**3  # a paper VAE with Adam state is ~600 MB; refuse absurd files


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """meta must hold at least 'model', 'config' and 'step'."""
    for key in ("model", "config", "step"):
        if key not in meta:
            raise ValueError(f"checkpoint meta needs {key!r}")
    header = {"format": FORMAT, **meta}
    flat = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    data = st_save(flat, metadata={META_KEY: json.dumps(header)})
    atomic_write_bytes(path, data)


def read_meta(path: Path) -> dict[str, Any]:
    """Only the JSON header (cheap: reads the first bytes of the file)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if n <= 0 or n > 100_000_000:
                raise CheckpointError(f"{path.name} is not a checkpoint (bad header)")
            header = json.loads(f.read(n))
        meta = json.loads(header["__metadata__"][META_KEY])
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise CheckpointError(f"{path.name} is not an autoenc checkpoint (corrupt or another format)") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path.name} is not an autoenc checkpoint")
    return meta


def load_checkpoint(path: Path, expect_model: str | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Returns (tensors, meta). Raises CheckpointError with a readable message."""
    path = Path(path)
    meta = read_meta(path)
    if expect_model is not None and meta.get("model") != expect_model:
        raise CheckpointError(
            f"{path.name} is a checkpoint of '{meta.get('model')}', not of '{expect_model}'"
        )
    if path.stat().st_size > MAX_BYTES:
        raise CheckpointError(f"{path.name} is larger than {MAX_BYTES >> 20} MB")
    try:
        tensors = st_load(path.read_bytes())
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path.name} is corrupt: {e}") from None
    return tensors, meta
