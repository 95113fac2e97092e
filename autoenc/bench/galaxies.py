"""The galaxy renderer's speed."""
from __future__ import annotations

from collections.abc import Iterator

from autoenc.bench import Record
from autoenc.data.galaxies import render_rate


def benchmarks() -> Iterator[Record]:
    for size in (64, 128):
        yield Record(f"galaxies.render_per_s.{size}", render_rate(size, n=96 if size == 128 else 192),
                     "images/s", target=100.0 if size == 64 else None)
