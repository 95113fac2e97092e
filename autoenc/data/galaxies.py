"""Galaxy thumbnails: a procedural, physically motivated renderer in three classes.

Each image is made the way survey colour cutouts (SDSS, DECaLS) are made: light is
modelled in three bands (g, r, i) in linear flux, blurred by a point-spread function,
given sky and photon noise, and mapped to RGB with the asinh stretch of Lupton et al.
(2004, PASP 116, 133), i -> red, r -> green, g -> blue.

Classes (`CLASS_NAMES`):
  0 barred spiral: bulge + exponential disk + boxy bar (semi-length 1-2 disk scale
    lengths, axis ratio 0.2-0.35, clearly brighter than the disk); the spiral arms start
    at the bar ends; sometimes an inner ring at the bar's end. Disks up to 50 deg
    inclination: Galaxy Zoo asks about bars only where the disk is seen near face-on.
  1 elliptical: Sersic profile, n 2.5-5.5, axis ratio 0.5-1, redder centre.
  2 spiral: Sersic bulge (B/T 0.05-0.35) + inclined exponential disk with 2-4
    logarithmic arms (pitch 10-32 deg, either handedness; from faint to strong), dust
    lanes on the arms' inner edges, blue star-forming knots along the arms.
The scene adds foreground stars, faint background galaxies and centre jitter.

Sizes and surface brightnesses are set so that each class's half-light radius and
central brightness match those of real survey thumbnails (the Galaxy Zoo examples in
../shared/data; tests/test_galaxies.py measures both). Renderer version 3 also made bars
stronger, spiral arms thinner and knottier, and some spirals' arms fainter: a classifier
trained on version 2 called most real spirals barred (balanced accuracy 0.63 on the
real examples; 0.708 after, with the same training settings; the shipped 32 px one: 0.76).

Lengths are in "frame units": pixels of a 128 px thumbnail, whatever the output size,
so a galaxy fills the same fraction of the frame at 32, 64 and 128 px. Surface
brightness is in units of the sky noise of a 128 px thumbnail.

Everything is vectorised over a chunk of images of one class, so a chunk costs a few
large numpy operations; `render` is deterministic for a seed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autoenc.errors import UserError

CLASS_NAMES: tuple[str, ...] = ("barred spiral", "elliptical", "spiral")
BARRED, ELLIPTICAL, SPIRAL = 0, 1, 2
SIZES = (32, 64, 128)            # the sizes the app offers; any size in SIZE_RANGE works
SIZE_RANGE = (16, 256)
MAX_RENDER = 200_000             # images in one call: bounds time and memory
RENDER_VERSION = 3               # bump when the renderer's output changes: keys the cache
CHUNK = 32                       # images of one class rendered at once
FRAME = 128.0                    # frame units per image side

# Colours as (g, r, i) flux ratios; display maps i -> R, r -> G, g -> B, so (1, 1, 1) is
# neutral grey and a smaller g is yellower.
SED_BULGE = (0.88, 1.0, 1.05)
SED_ELL_CENTRE = (0.87, 1.0, 1.05)
SED_ELL_OUTER = (0.88, 1.0, 1.05)
SED_DISK = (1.0, 1.0, 0.98)
SED_ARM = (1.06, 1.0, 0.94)
SED_KNOT = (1.35, 1.0, 0.85)
DUST_K = (1.15, 1.0, 0.88)        # relative extinction per band (reddening)

# Asinh stretch (Lupton et al. 2004): f(I) = asinh(alpha Q I) / Q, I = mean of the bands.
STRETCH_Q = 5.0
STRETCH_ALPHA = 0.0125           # display units per flux unit near zero
SKY_SIGMA = 1.0                  # sky noise of a 128 px thumbnail, flux units


@dataclass
class GalaxySet:
    """Galaxy thumbnails with labels. images (N, H, W, 3) uint8, labels (N,) int64."""
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


# --------------------------------------------------------------------------- helpers

def _u(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    """n uniform draws shaped (n, 1, 1) for broadcasting over an image chunk."""
    return rng.uniform(lo, hi, n).astype(np.float32)[:, None, None]


def _sersic_b(n: np.ndarray) -> np.ndarray:
    """b_n such that the effective radius holds half the light (Ciotti & Bertin 1999)."""
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n * n)


def _sersic(r: np.ndarray, re: np.ndarray, n: np.ndarray, q: np.ndarray, flux: np.ndarray) -> np.ndarray:
    """Surface brightness of a Sersic profile of total flux `flux` at elliptical radius r."""
    b = _sersic_b(n)
    lg = np.vectorize(math.lgamma)(2.0 * n.astype(np.float64))
    # total = 2 pi n q Re^2 Ie e^b b^(-2n) Gamma(2n)
    log_norm = np.log(2 * np.pi * n * q * re * re) + b - 2 * n * np.log(b) + lg
    ie = (flux / np.exp(log_norm)).astype(np.float32)
    return ie * np.exp(-b * (np.exp(np.log(r / re) / n) - 1.0))


def _sed(rng: np.random.Generator, base: tuple[float, float, float], n: int, spread: float = 0.05) -> np.ndarray:
    """(n, 3, 1, 1) per-image colours scattered around a base colour."""
    t = rng.normal(0, spread, n)[:, None]                  # bluer <-> redder along one axis
    tilt = np.asarray([1.0, 0.0, -0.8])[None, :]
    c = np.asarray(base, np.float32)[None, :] * np.exp(t * tilt + rng.normal(0, 0.012, (n, 3))).astype(np.float32)
    c /= c[:, 1:2]
    return c[:, :, None, None]


def _rotate(dx, dy, angle):
    c, s = np.cos(angle), np.sin(angle)
    return dx * c + dy * s, -dx * s + dy * c


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


class _Canvas:
    """The padded pixel grid of one chunk and the point sources splatted onto it."""

    def __init__(self, b: int, size: int):
        self.b, self.size = b, size
        self.pad = max(4, size // 8)
        self.g = size + 2 * self.pad
        self.scale = FRAME / size                       # frame units per pixel
        ax = ((np.arange(self.g) - self.pad - (size - 1) / 2.0) * self.scale).astype(np.float32)
        self.y = ax[None, :, None]
        self.x = ax[None, None, :]
        # point sources: layer 0 unresolved (PSF only), layer 1 small blobs
        self.points = [[], []]

    def add_points(self, layer: int, img: np.ndarray, x: np.ndarray, y: np.ndarray, flux_gri: np.ndarray):
        """Queue point sources: img index, position (frame units), flux (n, 3)."""
        if len(img):
            self.points[layer].append((img, x, y, flux_gri))

    def splat(self, layer: int) -> np.ndarray | None:
        """The queued points of a layer as surface brightness (b, 3, g, g), bilinear."""
        if not self.points[layer]:
            return None
        img = np.concatenate([p[0] for p in self.points[layer]])
        x = np.concatenate([p[1] for p in self.points[layer]])
        y = np.concatenate([p[2] for p in self.points[layer]])
        f = np.concatenate([p[3] for p in self.points[layer]]).astype(np.float64)
        g = self.g
        px = x / self.scale + self.pad + (self.size - 1) / 2.0
        py = y / self.scale + self.pad + (self.size - 1) / 2.0
        keep = (px >= 0) & (px < g - 1) & (py >= 0) & (py < g - 1)
        img, px, py, f = img[keep], px[keep], py[keep], f[keep]
        x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
        fx, fy = px - x0, py - y0
        f = f / (self.scale * self.scale)                # flux -> surface brightness of a pixel
        total = self.b * 3 * g * g
        out = np.zeros(total, np.float64)
        for dy, dx, w in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
            for c in range(3):
                idx = ((img * 3 + c) * g + (y0 + dy)) * g + (x0 + dx)
                out += np.bincount(idx, weights=w * f[:, c], minlength=total)
        return out.reshape(self.b, 3, g, g).astype(np.float32)


# --------------------------------------------------------------------------- galaxies

def _centre(rng, b, s: RenderSettings):
    j = s.centre_jitter
    return (rng.normal(0, j, b).astype(np.float32)[:, None, None],
            rng.normal(0, j, b).astype(np.float32)[:, None, None])


def _elliptical(cv: _Canvas, rng: np.random.Generator, s: RenderSettings) -> np.ndarray:
    b = cv.b
    cx, cy = _centre(rng, b, s)
    n = _u(rng, 2.5, 5.5, b)
    q = _u(rng, 0.5, 1.0, b)
    pa = _u(rng, 0, np.pi, b)
    re = (np.exp(rng.uniform(np.log(6.75), np.log(17.5), b)).astype(np.float32) * s.galaxy_scale)[:, None, None]
    # surface brightness at Re, in sky sigmas of a 128 px thumbnail
    ie = np.exp(rng.uniform(np.log(30.0), np.log(95.0), b)).astype(np.float32)[:, None, None]
    b_n = _sersic_b(n)
    lg = np.vectorize(math.lgamma)(2.0 * n.astype(np.float64))
    flux = ie * np.exp(np.log(2 * np.pi * n * q * re * re) + b_n - 2 * n * np.log(b_n) + lg).astype(np.float32)
    xr, yr = _rotate(cv.x - cx, cv.y - cy, pa)
    soft = 0.35 * cv.scale
    r = np.sqrt(xr * xr + (yr / q) ** 2 + soft * soft)
    light = _sersic(r, re, n, q, flux)
    inner, outer = _sed(rng, SED_ELL_CENTRE, b, 0.03), _sed(rng, SED_ELL_OUTER, b, 0.03)
    w = np.exp(-r / (0.8 * re))[:, None]
    return light[:, None] * (outer + (inner - outer) * w)


def _disk_galaxy(cv: _Canvas, rng: np.random.Generator, s: RenderSettings, barred: bool) -> np.ndarray:
    b = cv.b
    cx, cy = _centre(rng, b, s)
    pa = _u(rng, 0, np.pi, b)
    # bars are only classified in disks that are not too inclined (as in Galaxy Zoo)
    max_incl = min(s.max_inclination_deg, 50.0) if barred else s.max_inclination_deg
    cos_max = np.cos(np.radians(max_incl))
    cosi = _u(rng, cos_max, 1.0, b)                       # isotropic orientations
    q0 = 0.14                                             # intrinsic disk thickness
    qd = np.sqrt(cosi * cosi + (q0 * q0) * (1 - cosi * cosi))
    h = (np.exp(rng.uniform(np.log(6.5), np.log(13.0), b)).astype(np.float32) * s.galaxy_scale)[:, None, None]
    i0 = np.exp(rng.uniform(np.log(82.0), np.log(250.0), b)).astype(np.float32)[:, None, None]
    i0 = i0 * 0.7                                         # the bar or oval adds light back
    l_disk = 2 * np.pi * h * h * i0 * qd
    bt = _u(rng, 0.05, 0.35, b)
    if barred:
        bt = bt * 0.8
    l_bulge = bt / (1 - bt) * l_disk
    n_b = _u(rng, 1.0, 3.5, b)
    re_b = h * _u(rng, 0.21, 0.42, b)
    q_b = np.maximum(qd, _u(rng, 0.6, 1.0, b))
    pa_b = pa + _u(rng, -np.pi / 2, np.pi / 2, b) * np.sqrt(cosi)   # triaxial bulges twist

    dx, dy = cv.x - cx, cv.y - cy
    xr, yr = _rotate(dx, dy, pa)                          # major axis along xr
    soft = 0.35 * cv.scale
    # deprojected disk-plane coordinates (yr stretched by the inclination)
    xd, yd = xr, yr / qd
    rd = np.sqrt(xd * xd + yd * yd + soft * soft)
    theta = np.arctan2(yd, xd)

    disk = (l_disk / (2 * np.pi * h * h * qd)) * np.exp(-rd / h)

    # ---- spiral arms
    if barred:
        m = np.where(rng.random(b) < 0.85, 2, rng.integers(3, 5, b)).astype(np.float32)[:, None, None]
    else:
        m = rng.integers(2, 5, b).astype(np.float32)[:, None, None]
    pitch = np.radians(_u(rng, 10.0, 32.0, b))
    hand = np.where(rng.random(b) < 0.5, -1.0, 1.0).astype(np.float32)[:, None, None]
    if barred:
        bar_len = h * _u(rng, 1.0, 2.0, b)                # semi-length
        bar_q = _u(rng, 0.2, 0.35, b)
        bar_ang = _u(rng, 0, np.pi, b)                    # in the disk plane
        r_start = bar_len
        phase0 = bar_ang
    else:
        r_start = h * _u(rng, 0.3, 1.0, b)
        phase0 = _u(rng, 0, 2 * np.pi, b)
        # many unbarred spirals have a weak inner oval (lens): fat, short and faint
        bar_len = h * _u(rng, 0.5, 1.1, b)
        bar_q = _u(rng, 0.5, 0.8, b)
        bar_ang = _u(rng, 0, np.pi, b)
    lnr = np.log(rd / r_start)
    wind = theta - phase0 - hand * lnr / np.tan(pitch)
    # arm width: power of a cosine; irregularity: slow modulation along the arms
    width_pow = _u(rng, 2.5, 6.0, b)
    phi = m * wind
    arm = ((1.0 + np.cos(phi)) * 0.5) ** width_pow
    mean_arm = np.exp(np.vectorize(math.lgamma)(2 * width_pow.astype(np.float64) + 1)
                      - 2 * np.vectorize(math.lgamma)(width_pow.astype(np.float64) + 1)
                      - 2 * width_pow.astype(np.float64) * np.log(2.0)).astype(np.float32)
    wobble = 1.0 + 0.35 * np.sin(_u(rng, 1.0, 3.0, b) * lnr + _u(rng, 0, 6.3, b) + wind)
    ramp = _smoothstep((rd - 0.85 * r_start) / (0.5 * r_start + 0.5 * h))
    fade = np.exp(-(rd / (3.5 * h)) ** 2)
    strength = _u(rng, 0.25, 0.7, b) if barred else _u(rng, 0.12, 0.6, b)
    strength = np.clip(strength * s.arm_contrast, 0, 0.98)
    arm_rel = strength * ramp * fade * (arm * wobble / mean_arm - 1.0)    # mean ~ 0 over angle
    # flocculent structure: a weak many-armed pattern with its own pitch
    m_f = rng.integers(5, 9, b).astype(np.float32)[:, None, None]
    pitch_f = np.radians(_u(rng, 12.0, 30.0, b))
    floc = np.cos(m_f * (theta - hand * np.log(rd / h) / np.tan(pitch_f)) + _u(rng, 0, 6.3, b))
    arm_rel = arm_rel + _u(rng, 0.05, 0.2, b) * ramp * fade * floc
    # arms carry young, bluer light: split the disk into smooth + arm excess
    arm_light = disk * np.clip(arm_rel, -1.0, None)

    sed_disk, sed_arm = _sed(rng, SED_DISK, b, 0.04), _sed(rng, SED_ARM, b, 0.05)
    sed_bulge = _sed(rng, SED_BULGE, b, 0.04)
    out = (disk[:, None] * sed_disk + arm_light[:, None] * sed_arm)

    # ---- bulge
    xbu, ybu = _rotate(dx, dy, pa_b)
    r_b = np.sqrt(xbu * xbu + (ybu / q_b) ** 2 + soft * soft)
    bulge = _sersic(r_b, re_b, n_b, q_b, l_bulge)

    # ---- bar or oval, and ring (disk plane, then projected by the same stretch)
    xb, yb = _rotate(xd, yd, bar_ang)
    if not barred:
        oval_on = (rng.random(b) < 0.6).astype(np.float32)[:, None, None]
        oval_sb = oval_on * _u(rng, 0.4, 1.2, b) * i0 * np.exp(-0.8 * bar_len / h + 0.8)
        oval = oval_sb * np.exp(-0.5 * ((xb / bar_len) ** 2 + (yb / (bar_q * bar_len)) ** 2) * 2.0)
        out += oval[:, None] * sed_disk
    if barred:
        # boxy bar: flat along its length with squared-off ends, soft across (axis ratio
        # bar_q at the half-light width), fading slowly outwards; at 0.8 of its length it
        # is 1.6-4 times as bright as the disk there
        bar_strength = np.exp(_u(rng, np.log(1.6), np.log(4.0), b))
        bar_sb = bar_strength * i0 * np.exp(-0.8 * bar_len / h + 0.8)
        along = np.sqrt(np.clip(1.0 - (np.abs(xb) / bar_len) ** 4, 0.0, None)) * np.exp(-np.abs(xb) / bar_len)
        across = np.exp(-0.5 * (yb / (0.6 * bar_q * bar_len)) ** 2)
        bar_prof = along * across
        bar = bar_sb * bar_prof
        ring_on = (rng.random(b) < s.ring_probability).astype(np.float32)[:, None, None]
        ring_r = bar_len * _u(rng, 1.0, 1.12, b)
        ring_w = ring_r * _u(rng, 0.12, 0.22, b)
        ring_e = np.sqrt((xb / 1.0) ** 2 + (yb / _u(rng, 0.75, 0.95, b)) ** 2)
        ring = ring_on * _u(rng, 0.3, 0.8, b) * i0 * np.exp(-rd / h) * np.exp(-0.5 * ((ring_e - ring_r) / ring_w) ** 2)
        sed_bar = _sed(rng, (0.88, 1.0, 1.05), b, 0.04)
        out += bar[:, None] * sed_bar + ring[:, None] * sed_arm

    # ---- dust: lanes on the arms' inner edges, and a midplane lane when inclined
    lane = ((1.0 + np.cos(phi - hand * m * 0.35)) * 0.5) ** (2.0 * width_pow)
    tau = _u(rng, 0.1, 0.5, b) * s.arm_contrast * ramp * fade * lane
    sini = np.sqrt(1 - cosi * cosi)
    hz = 0.12 * h
    near = yr - 0.25 * hz * hand                            # lane offset to the near side
    tau = tau + _u(rng, 0.6, 1.6, b) * sini ** 3 * np.exp(-0.5 * (near / hz) ** 2) * np.exp(-rd / (3 * h))
    k = np.asarray(DUST_K, np.float32)[None, :, None, None]
    out = out * np.exp(-tau[:, None] * k)
    out += bulge[:, None] * sed_bulge * np.exp(-0.5 * tau[:, None] * k)

    # ---- star-forming knots along the arms (unresolved, blue), in the blob layer
    n_knots = rng.poisson(np.clip(24 * strength.ravel() * s.arm_contrast, 0, None))
    total = int(n_knots.sum())
    if total:
        img = np.repeat(np.arange(b), n_knots)
        mm = m.ravel()[img]
        arm_i = np.floor(rng.random(total) * mm)
        hh, rs = h.ravel()[img], r_start.ravel()[img]
        rk = rs + rng.exponential(1.0, total) * hh * 1.1
        rk = np.minimum(rk, 4.0 * hh)
        th = (phase0.ravel()[img] + hand.ravel()[img] * np.log(rk / rs) / np.tan(pitch.ravel()[img])
              + 2 * np.pi * arm_i / mm + rng.normal(0, 0.12, total))
        kx, ky = rk * np.cos(th), rk * np.sin(th) * qd.ravel()[img]
        pa_i = pa.ravel()[img]
        sx = kx * np.cos(pa_i) - ky * np.sin(pa_i) + cx.ravel()[img]
        sy = kx * np.sin(pa_i) + ky * np.cos(pa_i) + cy.ravel()[img]
        kflux = (l_disk.ravel()[img] * 0.004 * rng.lognormal(0, 0.6, total)) * np.exp(-rk / (2.5 * hh))
        sed_k = np.asarray(SED_KNOT, np.float32)[None, :] * np.exp(rng.normal(0, 0.06, (total, 3)))
        cv.add_points(1, img, sx, sy, kflux[:, None] * sed_k)
    return out


# --------------------------------------------------------------------------- scene

def _scene(cv: _Canvas, rng: np.random.Generator, s: RenderSettings):
    """Foreground stars (unresolved) and faint background galaxies (small blobs)."""
    b = cv.b
    half = FRAME / 2 + cv.pad * cv.scale
    n_star = rng.poisson(10.0 * s.star_density, b)
    t = int(n_star.sum())
    if t:
        img = np.repeat(np.arange(b), n_star)
        x, y = rng.uniform(-half, half, t), rng.uniform(-half, half, t)
        # dN/dlogF ~ F^-0.6 between near the noise and saturated
        u = rng.random(t)
        a, lo, hi = 0.7, 30.0, 1.5e5
        flux = (lo ** -a - u * (lo ** -a - hi ** -a)) ** (-1 / a)
        gr = rng.normal(0.35, 0.3, t)                      # g - r colour in magnitudes
        ri = 0.45 * gr + rng.normal(0, 0.05, t)
        gri = np.stack([10 ** (-0.4 * gr), np.ones(t), 10 ** (0.4 * ri)], 1)
        cv.add_points(0, img, x, y, flux[:, None] * gri)
    n_bg = rng.poisson(14.0 * s.background_density, b)
    t = int(n_bg.sum())
    if t:
        img = np.repeat(np.arange(b), n_bg)
        x, y = rng.uniform(-half, half, t), rng.uniform(-half, half, t)
        flux = np.exp(rng.uniform(np.log(15.0), np.log(250.0), t))
        gr = rng.normal(0.7, 0.3, t)
        gri = np.stack([10 ** (-0.4 * gr), np.ones(t), 10 ** (0.35 * gr)], 1)
        cv.add_points(1, img, x, y, flux[:, None] * gri)


def _psf_ft(cv: _Canvas, fwhm: np.ndarray, blob_sigma: float | None, spikes: float = 0.0,
            aa: float = 0.35) -> np.ndarray:
    """Fourier transform of a core + wings PSF (sum of Gaussians), (b, 1, g, g//2+1).

    blob_sigma: also blur by a Gaussian of this sigma (small resolved sources).
    spikes: fraction of the light in diffraction spikes along the pixel axes.
    aa: extra Gaussian blur in pixels (resampling); point sources need more, or an
        undersampled PSF rings around bright stars.
    """
    fy = np.fft.fftfreq(cv.g).astype(np.float32)[None, :, None] / cv.scale
    fx = np.fft.rfftfreq(cv.g).astype(np.float32)[None, None, :] / cv.scale
    k2 = fx * fx + fy * fy                                  # cycles per frame unit, squared
    sig = np.sqrt((fwhm / 2.3548) ** 2 + (aa * cv.scale) ** 2).astype(np.float32)[:, None, None]
    p = 0.86 * np.exp(-2 * np.pi ** 2 * sig ** 2 * k2) + 0.11 * np.exp(-2 * np.pi ** 2 * (2.2 * sig) ** 2 * k2) \
        + 0.03 * np.exp(-2 * np.pi ** 2 * (7.0 * sig) ** 2 * k2)
    if blob_sigma is not None:
        p = p * np.exp(-2 * np.pi ** 2 * blob_sigma ** 2 * k2)
    if spikes:
        lam, w = 14.0, max(0.5, 0.7 * cv.scale)     # spike length scale and width
        line = lambda f: 1.0 / (1.0 + (2 * np.pi * lam * f) ** 2)
        across = lambda f: np.exp(-2 * np.pi ** 2 * w * w * f * f)
        core = np.exp(-2 * np.pi ** 2 * sig ** 2 * k2)
        p = p + spikes * core * 0.5 * (line(fx) * across(fy) + line(fy) * across(fx))
    return p[:, None].astype(np.complex64)


def _stretch(flux: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lupton et al. (2004) asinh colour stretch of (b, 3, h, w) g, r, i -> RGB uint8."""
    b = flux.shape[0]
    mean = flux.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.arcsinh(STRETCH_ALPHA * STRETCH_Q * mean) / (STRETCH_Q * mean)
    scale = np.where(np.abs(mean) < 1e-6, STRETCH_ALPHA, scale)
    rgb = flux[:, ::-1] * scale                             # i, r, g -> R, G, B
    peak = rgb.max(axis=1, keepdims=True)
    rgb = rgb / np.maximum(peak, 1.0)                       # saturate to white, keep the hue
    pedestal = rng.uniform(0.025, 0.095, b).astype(np.float32)[:, None, None, None] * \
        np.asarray([1.04, 1.0, 0.98], np.float32)[None, :, None, None]
    out = pedestal + (1.0 - pedestal) * rgb
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def _render_chunk(label: int, b: int, size: int, rng: np.random.Generator, s: RenderSettings) -> np.ndarray:
    cv = _Canvas(b, size)
    if label == ELLIPTICAL:
        light = _elliptical(cv, rng, s)
    else:
        light = _disk_galaxy(cv, rng, s, barred=(label == BARRED))
    light = light.astype(np.float32)
    _scene(cv, rng, s)
    # per-image calibration differences between surveys / fields
    light *= np.exp(rng.normal(0, 0.045, (b, 1)) * np.asarray([[1.0, 0.0, -1.0]])).astype(np.float32)[:, :, None, None]
    fwhm = rng.uniform(*s.psf_fwhm, b)
    ft = np.fft.rfft2(light) * _psf_ft(cv, fwhm, None)
    stars = cv.splat(0)
    if stars is not None:
        ft += np.fft.rfft2(stars) * _psf_ft(cv, fwhm, None, spikes=0.006, aa=0.7)
    blobs = cv.splat(1)
    if blobs is not None:
        ft += np.fft.rfft2(blobs) * _psf_ft(cv, fwhm, 1.1, aa=0.7)
    img = np.fft.irfft2(ft, s=(cv.g, cv.g)).astype(np.float32)
    p = cv.pad
    img = img[:, :, p:p + size, p:p + size]
    # noise: sky (per band, partly shared between bands) + photon noise of the sources
    sky = (SKY_SIGMA * s.noise_level * (size / FRAME) ** 0.7 *
           np.exp(rng.uniform(np.log(0.35), np.log(2.6), b))).astype(np.float32)[:, None, None, None]
    sigma = np.sqrt(sky * sky * (1.0 + np.clip(img, 0, None).mean(axis=1, keepdims=True) * 0.006 * (FRAME / size)))
    noise = rng.standard_normal((b, 3, size + 2, size + 2), dtype=np.float32) * 0.9 + \
        rng.standard_normal((b, 1, size + 2, size + 2), dtype=np.float32) * 0.45
    # resampled, compressed survey images have pixel-to-pixel correlated noise
    smooth = noise[:, :, 1:-1] * 0.5 + (noise[:, :, :-2] + noise[:, :, 2:]) * 0.25
    smooth = smooth[..., 1:-1] * 0.5 + (smooth[..., :-2] + smooth[..., 2:]) * 0.25
    img += sigma * (0.5 * noise[:, :, 1:-1, 1:-1] + 2.4 * smooth)
    return _stretch(img, rng)


# --------------------------------------------------------------------------- public API

def class_counts(n: int, weights) -> np.ndarray:
    """Images per class: proportional to the weights, largest remainders get the rest."""
    w = np.asarray(weights, dtype=float)
    share = n * w / w.sum()
    counts = np.floor(share).astype(np.int64)
    rest = n - int(counts.sum())
    if rest:
        order = np.argsort(-(share - counts), kind="stable")
        counts[order[:rest]] += 1
    return counts


def render(n: int, size: int | None = None, seed: int = 0, settings: RenderSettings | None = None) -> GalaxySet:
    """Render n labelled galaxy thumbnails (size x size RGB uint8), deterministic for a seed.

    size defaults to settings.size (64). Classes follow settings.class_weights (equal by
    default: exactly equal counts when n is divisible by 3), in a shuffled order.
    """
    s = dataclasses.replace(settings) if settings is not None else RenderSettings()
    if size is not None:
        s.size = size
    s.validate()
    size = int(s.size)
    if not isinstance(n, (int, np.integer)) or n < 0 or n > MAX_RENDER:
        raise UserError(f"number of images must be a whole number from 0 to {MAX_RENDER}, got {n!r}")
    n = int(n)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, RENDER_VERSION])
    counts = class_counts(n, s.class_weights)
    labels = np.repeat(np.arange(len(CLASS_NAMES)), counts)
    order = rng.permutation(n)
    labels = labels[order]
    images = np.empty((n, size, size, 3), np.uint8)
    for c in range(len(CLASS_NAMES)):
        where = np.flatnonzero(labels == c)
        crng = np.random.default_rng([int(seed) & 0xFFFFFFFF, RENDER_VERSION, c + 1])
        for start in range(0, len(where), CHUNK):
            idx = where[start:start + CHUNK]
            images[idx] = _render_chunk(c, len(idx), size, crng, s)
    return GalaxySet(images=images, labels=labels.astype(np.int64), class_names=CLASS_NAMES,
                     source=f"rendered: {n} images, {size} px, seed {seed}")


def cache_key(n: int, size: int, seed: int, settings: RenderSettings | None = None) -> str:
    """Hash of everything that determines a rendered set."""
    s = dataclasses.replace(settings) if settings is not None else RenderSettings()
    s.size = int(size)
    payload = {"version": RENDER_VERSION, "n": int(n), "size": int(size), "seed": int(seed), "settings": s.to_dict()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def _cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    from autoenc import paths          # read at call time so tests can point it elsewhere
    return Path(paths.CACHE_DIR) / "galaxies"


def rendered_set(n: int, size: int = 64, seed: int = 0, settings: RenderSettings | None = None,
                 cache_dir: str | os.PathLike | None = None) -> GalaxySet:
    """`render`, cached on disk under CACHE_DIR/galaxies as npz keyed by all parameters."""
    s = dataclasses.replace(settings) if settings is not None else RenderSettings()
    s.size = int(size)
    s.validate()
    folder = _cache_dir(cache_dir)
    path = folder / f"render-{cache_key(n, size, seed, s)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as d:
                images, labels = d["images"], d["labels"]
                names = tuple(str(x) for x in d["class_names"])
            if images.shape == (n, size, size, 3) and images.dtype == np.uint8 and labels.shape == (n,):
                return GalaxySet(images=images, labels=labels.astype(np.int64), class_names=names,
                                 source=f"rendered: {n} images, {size} px, seed {seed} (cached)")
        except Exception:  # a damaged cache file is re-rendered and replaced
            pass
    gs = render(n, size, seed, s)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".render-", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, images=gs.images, labels=gs.labels, class_names=np.asarray(gs.class_names))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return gs


def render_rate(size: int = 64, n: int = 192, seed: int = 0) -> float:
    """Images rendered per second (one process, numpy's single-threaded FFT)."""
    render(min(n, 12), size, seed + 1)                       # warm up
    t0 = time.perf_counter()
    render(n, size, seed)
    return n / (time.perf_counter() - t0)
