"""What the galaxy renderer draws: image size, class mix, and how hard the images are.

Lengths are in "frame units": pixels of a 128 px thumbnail, whatever the output size, so a
galaxy fills the same fraction of the frame at 32, 64 and 128 px.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from autoenc.data.galaxy_set import CLASS_NAMES, SIZE_RANGE
from autoenc.errors import UserError

SIZES = (32, 64, 128)            # the sizes the app offers; any size in SIZE_RANGE works


@dataclass
class RenderSettings:
    """What `render` draws. Lengths are in frame units (pixels of a 128 px thumbnail).

    size: output side in pixels (used when `render` is given no size).
    class_weights: relative share of barred spiral, elliptical, spiral.
    max_inclination_deg: disks are seen from face-on up to this inclination (90 edge-on).
    noise_level: sky noise multiplier (1 is like a typical SDSS/DECaLS thumbnail).
    arm_contrast: multiplier on the spiral arms' strength (lower is harder).
    galaxy_scale: multiplier on galaxy sizes relative to the frame.
    star_density, background_density: multipliers on foreground stars and background
        galaxies per image.
    psf_fwhm: range of the point-spread function's FWHM.
    centre_jitter: standard deviation of the galaxy's offset from the frame centre.
    ring_probability: share of barred spirals with an inner ring.
    """
    size: int = 64
    class_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    max_inclination_deg: float = 65.0
    noise_level: float = 1.0
    arm_contrast: float = 1.0
    galaxy_scale: float = 1.0
    star_density: float = 1.0
    background_density: float = 1.0
    psf_fwhm: tuple[float, float] = (1.6, 3.0)
    centre_jitter: float = 2.0
    ring_probability: float = 0.35

    @classmethod
    def with_difficulty(cls, level: float, **overrides) -> "RenderSettings":
        """Settings from one knob: 0 easy (face-on, clean, strong arms) to 1 hard
        (up to edge-on, noisy, faint arms, smaller galaxies)."""
        if not (0.0 <= float(level) <= 1.0):
            raise UserError(f"difficulty must be between 0 and 1, got {level}")
        t = float(level)
        base = dict(
            max_inclination_deg=45.0 + 40.0 * t,
            noise_level=0.6 + 1.6 * t,
            arm_contrast=1.25 - 0.6 * t,
            galaxy_scale=1.1 - 0.3 * t,
        )
        base.update(overrides)
        return cls(**base)

    def validate(self) -> "RenderSettings":
        lo, hi = SIZE_RANGE
        if not isinstance(self.size, (int, np.integer)) or not lo <= int(self.size) <= hi:
            raise UserError(f"image size must be a whole number of pixels from {lo} to {hi}, got {self.size!r}")
        w = np.asarray(self.class_weights, dtype=float)
        if w.shape != (len(CLASS_NAMES),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise UserError("class_weights must be three non-negative numbers (barred spiral, "
                            f"elliptical, spiral), not all zero; got {self.class_weights!r}")
        checks = [
            ("max_inclination_deg", 0.0, 90.0), ("noise_level", 0.0, 10.0), ("arm_contrast", 0.0, 3.0),
            ("galaxy_scale", 0.3, 3.0), ("star_density", 0.0, 10.0), ("background_density", 0.0, 10.0),
            ("centre_jitter", 0.0, 20.0), ("ring_probability", 0.0, 1.0),
        ]
        for name, a, b in checks:
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or not (a <= float(v) <= b):
                raise UserError(f"{name} must be between {a:g} and {b:g}, got {v!r}")
        p = tuple(self.psf_fwhm)
        if len(p) != 2 or not (0.5 <= p[0] <= p[1] <= 12.0):
            raise UserError(f"psf_fwhm must be a range (low, high) within 0.5-12 frame pixels, got {self.psf_fwhm!r}")
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["class_weights"] = [float(x) for x in self.class_weights]
        d["psf_fwhm"] = [float(x) for x in self.psf_fwhm]
        return d
