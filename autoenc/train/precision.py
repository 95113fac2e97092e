"""Which arithmetic the GAN nets run in: fp32, or bfloat16 autocast where the CPU has it."""
from __future__ import annotations

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX). Elsewhere oneDNN
    emulates it, and autocast made a step ~20x slower (DESIGN §4)."""
    if torch.device(device).type != "cpu":
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
