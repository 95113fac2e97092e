"""Each denoiser on each noise type: the cross-noise matrix of the Denoiser page.

A row is a model (by default the shipped one trained on that noise, and the one trained on a
mix of all three), a column a held-out noise set; each cell is peak accuracy and SNR gain.
The diagonal is each specialist on its own noise. Figures are cached per file (evalcache).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoenc.data.radio import MIX, NOISE_TYPES, TRAINING_NOISES
from autoenc.evalcache import cached
from autoenc.inference.denoiser import evaluate
from autoenc.paths import shipped_path
from autoenc.train.denoiser import shipped_file
from autoenc.trained import load_trained


@dataclass(frozen=True)
class Cell:
    row: str                 # the model: its training noise for a shipped one, or a name
    trained_on: str
    tested_on: str
    peak_accuracy: float
    snr_gain_db: float

    @property
    def diagonal(self) -> bool:
        return self.trained_on == self.tested_on


def shipped_models() -> dict[str, tuple[str, Path]]:
    """The shipped denoisers that are there, as row -> (training noise, file); a row is named
    by its training noise."""
    files = {noise: shipped_path(shipped_file(noise)) for noise in TRAINING_NOISES}
    return {noise: (noise, path) for noise, path in files.items() if path.exists()}


def cell(row: str, trained_on: str, path: Path, tested_on: str) -> Cell:
    figures = cached(Path(path), f"denoiser-eval-{tested_on}",
                     lambda: evaluate(load_trained(path, "denoiser").modules["denoiser"], tested_on))
    return Cell(row, trained_on, tested_on, float(figures["peak_accuracy"]), float(figures["snr_gain_db"]))


def matrix(models: dict[str, tuple[str, Path]]) -> list[Cell]:
    """Every model (row -> (training noise, file)) on every held-out noise type, row by row."""
    return [cell(row, trained_on, Path(path), tested_on)
            for row, (trained_on, path) in models.items() for tested_on in NOISE_TYPES]


@dataclass(frozen=True)
class Findings:
    """What the matrix shows, in numbers for the page's sentence."""
    own_best: int             # columns where the diagonal model is the best specialist
    columns: int
    off_drop: float           # mean drop in peak accuracy from a specialist's own noise to another's
    worst: tuple[str, str, float]   # (trained on, tested on, peak accuracy) of the worst cell
    mix_gap: float | None     # the mix model's largest shortfall against the diagonal, None without it


def findings(cells: list[Cell]) -> Findings | None:
    """From the shipped rows (those named by their training noise); None without a specialist."""
    cells = [c for c in cells if c.row == c.trained_on]
    if not any(c.diagonal for c in cells):
        return None
    at = {(c.trained_on, c.tested_on): c.peak_accuracy for c in cells}
    specialists = [n for n in NOISE_TYPES if (n, n) in at]
    columns = [t for t in NOISE_TYPES if (t, t) in at]
    own_best = sum(at[(t, t)] >= max(at[(s, t)] for s in specialists if (s, t) in at) for t in columns)
    drops = [at[(s, s)] - at[(s, t)] for s in specialists for t in NOISE_TYPES if t != s and (s, t) in at]
    worst = min(cells, key=lambda c: c.peak_accuracy)
    gaps = [at[(t, t)] - at[(MIX, t)] for t in columns if (MIX, t) in at]
    return Findings(own_best, len(columns), float(np.mean(drops)) if drops else 0.0,
                    (worst.trained_on, worst.tested_on, worst.peak_accuracy), max(gaps) if gaps else None)
