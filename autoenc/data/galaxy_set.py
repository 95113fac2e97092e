"""Galaxy thumbnails with labels: what the renderer makes, the loaders read and the models train on."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CLASS_NAMES: tuple[str, ...] = ("barred spiral", "elliptical", "spiral")
# one word per class, in class order: the stems of metric names (hist_barred, ...)
CLASS_KEYS: tuple[str, ...] = ("barred", "elliptical", "spiral")
N_CLASSES = len(CLASS_NAMES)
BARRED, ELLIPTICAL, SPIRAL = 0, 1, 2
SIZE_RANGE = (16, 256)          # image sides the renderer and the loaders accept


@dataclass
class GalaxySet:
    """images (N, H, W, 3) uint8, labels (N,) int64 indices into class_names."""
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES
    source: str = ""
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    def counts(self) -> dict[str, int]:
        """Number of images per class name, in class order."""
        c = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(c[i]) for i, name in enumerate(self.class_names)}
