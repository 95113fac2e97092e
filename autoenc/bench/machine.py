"""The machine's yardstick for the model figures."""
from __future__ import annotations

from collections.abc import Iterator

import torch

from autoenc.bench import Record, median_time


def benchmarks() -> Iterator[Record]:
    """fp32 matmul peak (2048^3) with the benchmarks' threads."""
    yield Record("machine.torch_threads", torch.get_num_threads(), "threads")
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = median_time(lambda: a @ b, repeats=5)
    yield Record("machine.matmul_gflops", 2 * n**3 / t / 1e9, "GFLOP/s")
