"""Each page's view as a link carries it: one settings object per page, whose fields name the
widgets' keys (and so the URL's query parameters, pages/ui/link.py) and whose values are the
widgets' defaults. Streamlit reads a field from the URL when the page opens and writes it back
when the widget changes (bind="query-params"); a value at its default stays out of the URL.

The keys that name a run (the run shown, its history step, the model shown) are made by the
shared pieces (pages/ui/runs.py, history.py, models.py) and bound there. The GAN pages prefix
their keys with the model's name, so one session's four GAN pages keep four views.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar


@dataclass(frozen=True)
class View:
    prefix: str = ""
    ALIASES: ClassVar[dict[str, str]] = {}             # field -> key, where the key is not the field's name
    UNPREFIXED: ClassVar[tuple[str, ...]] = ("try_this",)

    def key(self, name: str) -> str:
        return name if name in self.UNPREFIXED else self.prefix + self.ALIASES.get(name, name)

    def defaults(self) -> dict:
        """key (URL parameter) -> the widget's default, for every field."""
        return {self.key(f.name): getattr(self, f.name) for f in fields(self) if f.name != "prefix"}

    def keys(self) -> list[str]:
        return list(self.defaults())


@dataclass(frozen=True)
class DenoiserView(View):
    noise: str = "galactic"
    snr: tuple[float, float] = (2.0, 20.0)
    zoom: bool = True
    try_this: bool = True                # whether each section starts open
    train_settings: bool = False
    own_traces: bool = False


@dataclass(frozen=True)
class VAEView(View):
    interp_a: int = 0                    # the two ends of the interpolation, and where along it
    interp_b: int = 5
    interp_t: float = 0.5
    sample_seed: int = 0
    temperature: float = 1.0
    fitted: bool = True
    try_this: bool = True


@dataclass(frozen=True)
class MAEView(View):
    mask_percent: int = 75               # the share hidden in the pictures (a run's own ratio is a setting)
    mask_seed: int = 0
    shown: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7)     # which held-out galaxies are masked
    try_this: bool = True


@dataclass(frozen=True)
class GANView(View):
    sample_seed: int = 0
    sample_class: int = 0                # a conditional GAN's class (index into CLASS_NAMES)
    try_this: bool = True
    ALIASES: ClassVar[dict[str, str]] = {"sample_class": "class"}


@dataclass(frozen=True)
class DatasetsView(View):
    galaxy_size: int = 64
    galaxy_class: str = "barred spiral"
    own_set: bool = False
