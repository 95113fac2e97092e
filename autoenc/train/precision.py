"""Which arithmetic the nets train in: fp32, or bfloat16 autocast where the device has it,
and how a host tensor gets to the device without making the host wait."""
from __future__ import annotations

from contextlib import nullcontext

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether this device computes bfloat16 in hardware: a CUDA GPU that supports it
    (Ampere and later), a CPU with AVX512-BF16 or AMX. Elsewhere oneDNN emulates it on a
    CPU, and autocast made a step ~20x slower (DESIGN §4)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:          # a torch without these probes: assume emulated
        return False


def compute_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The nets' autocast dtype for a `precision` setting: None (fp32) or torch.bfloat16."""
    if precision == "bf16" or (precision == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


def mixed_precision(device: torch.device) -> torch.dtype | None:
    """The autocast dtype of the models without a precision setting: bfloat16 on a GPU that
    has it, fp32 on a CPU (their CPU steps were measured in fp32)."""
    return compute_dtype("auto", device) if torch.device(device).type == "cuda" else None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """A context running its ops in `dtype` where autocast does (convolutions, matmuls), or
    nothing for fp32."""
    return torch.autocast(torch.device(device).type, dtype=dtype) if dtype is not None else nullcontext()


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor on `device`. To a GPU through pinned memory and without blocking: a copy
    from ordinary memory makes the host wait for the GPU's queue to drain, once a step."""
    device = torch.device(device)
    if device.type != "cuda":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)
