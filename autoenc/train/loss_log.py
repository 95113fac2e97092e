"""The losses of the steps since they were last read, kept where they were computed.

A step returns its losses as tensors on the device (Task.update); reading one back to the
host makes the host wait for the device to finish the step. So the loop keeps each step's
tensors and reads all of them at once when it logs (about once a second), validates,
snapshots or checkpoints: one wait per read instead of one per step, which on a GPU keeps
the next steps queued behind the current one. A read still finds the first step whose loss
is not finite, so a diverged run is reported at the step it diverged, and nothing from that
step on is logged or saved.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Diverged:
    step: int
    name: str
    value: float


class LossLog:
    def __init__(self):
        self.pending: list[tuple[int, dict]] = []      # (step, its losses: tensors or floats)
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}     # per name: a step-mode update logs only its own parts
        self.last: dict[str, float] = {}     # the last step read (the progress bar's figures)
        self.diverged: Diverged | None = None

    def add(self, step: int, losses: dict) -> None:
        if losses and self.diverged is None:
            self.pending.append((step, losses))

    @property
    def unlogged(self) -> bool:
        return bool(self.pending or self.counts)

    def read(self) -> Diverged | None:
        """Bring the pending losses to the host (one wait) and add them up to the first step
        that is not finite; returns that step's Diverged, if any, now or before."""
        if self.pending and self.diverged is None:
            tensors = [v.detach().reshape(()).double() for _, losses in self.pending for v in losses.values()
                       if torch.is_tensor(v)]
            read = iter(torch.stack(tensors).tolist() if tensors else ())
            for step, losses in self.pending:
                got = {k: next(read) if torch.is_tensor(v) else float(v) for k, v in losses.items()}
                bad = next((k for k, v in got.items() if not math.isfinite(v)), None)
                if bad is not None:
                    self.diverged = Diverged(step, bad, got[bad])
                    break
                for k, v in got.items():
                    self.sums[k] = self.sums.get(k, 0.0) + v
                    self.counts[k] = self.counts.get(k, 0) + 1
                self.last = got
        self.pending = []
        return self.diverged

    def take_means(self) -> dict[str, float]:
        """Each loss's mean over the steps read since the last take, which starts afresh."""
        self.read()
        means = {k: v / self.counts[k] for k, v in self.sums.items()}
        self.sums, self.counts = {}, {}
        return means
