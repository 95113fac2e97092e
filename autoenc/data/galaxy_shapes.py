"""The light of the three galaxy classes in three bands (g, r, i), before the PSF and the noise.

  elliptical: a Sersic profile, n 2.5-5.5, axis ratio 0.5-1, redder centre.
  disk_galaxy (spiral, or barred spiral with `barred`): Sersic bulge + inclined exponential
    disk with logarithmic arms, dust lanes on their inner edges and blue star-forming knots
    along them; barred ones add a boxy bar whose ends the arms start from, and sometimes an
    inner ring; unbarred ones often a faint inner oval.
Each function draws a chunk of b images of one class at once on a `Canvas` (the padded
pixel grid, and the point sources to splat on it later), in frame units (pixels of a 128 px
thumbnail). The random draws come in a fixed order, so a seed renders the same galaxies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from autoenc.data.render_settings import RenderSettings

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


class Canvas:
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


def _centre(rng, b, s: RenderSettings):
    j = s.centre_jitter
    return (rng.normal(0, j, b).astype(np.float32)[:, None, None],
            rng.normal(0, j, b).astype(np.float32)[:, None, None])


def elliptical(cv: Canvas, rng: np.random.Generator, s: RenderSettings) -> np.ndarray:
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


@dataclass
class _Disk:
    """One chunk's disks: geometry and light profiles, all (b, 1, 1) or (b, g, g) arrays.

    Coordinates: xr, yr along and across the projected major axis; xd, yd, rd, theta
    deprojected into the disk plane (yr stretched by the inclination's axis ratio qd)."""
    cx: np.ndarray
    cy: np.ndarray
    pa: np.ndarray
    cosi: np.ndarray
    qd: np.ndarray
    h: np.ndarray             # disk scale length
    i0: np.ndarray            # disk central surface brightness
    l_disk: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    xr: np.ndarray
    yr: np.ndarray
    xd: np.ndarray
    yd: np.ndarray
    rd: np.ndarray
    theta: np.ndarray
    soft: float
    disk: np.ndarray          # the smooth exponential disk's surface brightness


@dataclass
class _Arms:
    """The spiral pattern of a chunk of disks, and the bar (or inner oval) it starts from."""
    m: np.ndarray             # number of arms
    pitch: np.ndarray
    hand: np.ndarray          # winding sense, +-1
    r_start: np.ndarray
    phase0: np.ndarray
    bar_len: np.ndarray       # semi-length of the bar (barred) or of the inner oval
    bar_q: np.ndarray
    bar_ang: np.ndarray
    phi: np.ndarray           # arm phase at each pixel
    width_pow: np.ndarray
    ramp: np.ndarray
    fade: np.ndarray
    strength: np.ndarray
    light: np.ndarray         # the arms' surface brightness over the smooth disk (can be < 0)


def _disk(cv: Canvas, rng: np.random.Generator, s: RenderSettings, barred: bool) -> _Disk:
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
    dx, dy = cv.x - cx, cv.y - cy
    xr, yr = _rotate(dx, dy, pa)                          # major axis along xr
    soft = 0.35 * cv.scale
    xd, yd = xr, yr / qd
    rd = np.sqrt(xd * xd + yd * yd + soft * soft)
    disk = (l_disk / (2 * np.pi * h * h * qd)) * np.exp(-rd / h)
    return _Disk(cx, cy, pa, cosi, qd, h, i0, l_disk, dx, dy, xr, yr, xd, yd, rd, np.arctan2(yd, xd), soft, disk)


def _bulge(rng: np.random.Generator, d: _Disk, barred: bool) -> np.ndarray:
    """A Sersic bulge holding B/T of the light, its own axis ratio and a twist."""
    b = len(d.h)
    bt = _u(rng, 0.05, 0.35, b)
    if barred:
        bt = bt * 0.8
    l_bulge = bt / (1 - bt) * d.l_disk
    n_b = _u(rng, 1.0, 3.5, b)
    re_b = d.h * _u(rng, 0.21, 0.42, b)
    q_b = np.maximum(d.qd, _u(rng, 0.6, 1.0, b))
    pa_b = d.pa + _u(rng, -np.pi / 2, np.pi / 2, b) * np.sqrt(d.cosi)   # triaxial bulges twist
    xbu, ybu = _rotate(d.dx, d.dy, pa_b)
    r_b = np.sqrt(xbu * xbu + (ybu / q_b) ** 2 + d.soft * d.soft)
    return _sersic(r_b, re_b, n_b, q_b, l_bulge)


def _arms(rng: np.random.Generator, s: RenderSettings, d: _Disk, barred: bool) -> _Arms:
    """Logarithmic arms from the bar's ends (or an inner radius), plus flocculent structure."""
    b, h, rd, theta = len(d.h), d.h, d.rd, d.theta
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
    light = d.disk * np.clip(arm_rel, -1.0, None)
    return _Arms(m, pitch, hand, r_start, phase0, bar_len, bar_q, bar_ang, phi, width_pow, ramp, fade,
                 strength, light)


def _oval(rng: np.random.Generator, d: _Disk, a: _Arms, sed_disk: np.ndarray) -> np.ndarray:
    """The weak inner oval (lens) of 60 % of unbarred spirals, in the disk plane: (b, 3, g, g)."""
    b = len(d.h)
    xb, yb = _rotate(d.xd, d.yd, a.bar_ang)
    oval_on = (rng.random(b) < 0.6).astype(np.float32)[:, None, None]
    oval_sb = oval_on * _u(rng, 0.4, 1.2, b) * d.i0 * np.exp(-0.8 * a.bar_len / d.h + 0.8)
    oval = oval_sb * np.exp(-0.5 * ((xb / a.bar_len) ** 2 + (yb / (a.bar_q * a.bar_len)) ** 2) * 2.0)
    return oval[:, None] * sed_disk


def _bar_and_ring(rng: np.random.Generator, s: RenderSettings, d: _Disk, a: _Arms,
                  sed_arm: np.ndarray) -> np.ndarray:
    """A boxy bar and sometimes an inner ring at its ends, in the disk plane: (b, 3, g, g).

    The bar is flat along its length with squared-off ends, soft across (axis ratio bar_q
    at the half-light width) and fades slowly outwards; at 0.8 of its length it is 1.6-4
    times as bright as the disk there."""
    b = len(d.h)
    xb, yb = _rotate(d.xd, d.yd, a.bar_ang)
    bar_strength = np.exp(_u(rng, np.log(1.6), np.log(4.0), b))
    bar_sb = bar_strength * d.i0 * np.exp(-0.8 * a.bar_len / d.h + 0.8)
    along = np.sqrt(np.clip(1.0 - (np.abs(xb) / a.bar_len) ** 4, 0.0, None)) * np.exp(-np.abs(xb) / a.bar_len)
    across = np.exp(-0.5 * (yb / (0.6 * a.bar_q * a.bar_len)) ** 2)
    bar = bar_sb * (along * across)
    ring_on = (rng.random(b) < s.ring_probability).astype(np.float32)[:, None, None]
    ring_r = a.bar_len * _u(rng, 1.0, 1.12, b)
    ring_w = ring_r * _u(rng, 0.12, 0.22, b)
    ring_e = np.sqrt((xb / 1.0) ** 2 + (yb / _u(rng, 0.75, 0.95, b)) ** 2)
    ring = ring_on * _u(rng, 0.3, 0.8, b) * d.i0 * np.exp(-d.rd / d.h) * np.exp(-0.5 * ((ring_e - ring_r) / ring_w) ** 2)
    sed_bar = _sed(rng, (0.88, 1.0, 1.05), b, 0.04)
    return bar[:, None] * sed_bar + ring[:, None] * sed_arm


def _dust_depth(rng: np.random.Generator, s: RenderSettings, d: _Disk, a: _Arms) -> np.ndarray:
    """Optical depth (b, g, g) of lanes on the arms' inner edges and of a midplane lane when inclined."""
    b = len(d.h)
    lane = ((1.0 + np.cos(a.phi - a.hand * a.m * 0.35)) * 0.5) ** (2.0 * a.width_pow)
    tau = _u(rng, 0.1, 0.5, b) * s.arm_contrast * a.ramp * a.fade * lane
    sini = np.sqrt(1 - d.cosi * d.cosi)
    hz = 0.12 * d.h
    near = d.yr - 0.25 * hz * a.hand                        # lane offset to the near side
    return tau + _u(rng, 0.6, 1.6, b) * sini ** 3 * np.exp(-0.5 * (near / hz) ** 2) * np.exp(-d.rd / (3 * d.h))


def _add_knots(cv: Canvas, rng: np.random.Generator, s: RenderSettings, d: _Disk, a: _Arms) -> None:
    """Star-forming knots along the arms (unresolved, blue), queued in the blob layer."""
    b = cv.b
    n_knots = rng.poisson(np.clip(24 * a.strength.ravel() * s.arm_contrast, 0, None))
    total = int(n_knots.sum())
    if not total:
        return
    img = np.repeat(np.arange(b), n_knots)
    mm = a.m.ravel()[img]
    arm_i = np.floor(rng.random(total) * mm)
    hh, rs = d.h.ravel()[img], a.r_start.ravel()[img]
    rk = rs + rng.exponential(1.0, total) * hh * 1.1
    rk = np.minimum(rk, 4.0 * hh)
    th = (a.phase0.ravel()[img] + a.hand.ravel()[img] * np.log(rk / rs) / np.tan(a.pitch.ravel()[img])
          + 2 * np.pi * arm_i / mm + rng.normal(0, 0.12, total))
    kx, ky = rk * np.cos(th), rk * np.sin(th) * d.qd.ravel()[img]
    pa_i = d.pa.ravel()[img]
    sx = kx * np.cos(pa_i) - ky * np.sin(pa_i) + d.cx.ravel()[img]
    sy = kx * np.sin(pa_i) + ky * np.cos(pa_i) + d.cy.ravel()[img]
    kflux = (d.l_disk.ravel()[img] * 0.004 * rng.lognormal(0, 0.6, total)) * np.exp(-rk / (2.5 * hh))
    sed_k = np.asarray(SED_KNOT, np.float32)[None, :] * np.exp(rng.normal(0, 0.06, (total, 3)))
    cv.add_points(1, img, sx, sy, kflux[:, None] * sed_k)


def disk_galaxy(cv: Canvas, rng: np.random.Generator, s: RenderSettings, barred: bool) -> np.ndarray:
    """A spiral or barred spiral: disk, bulge, arms, bar or oval, dust and knots: (b, 3, g, g).
    The parts draw from rng in this order, so a seed renders the same galaxies."""
    d = _disk(cv, rng, s, barred)
    bulge = _bulge(rng, d, barred)
    a = _arms(rng, s, d, barred)
    b = cv.b
    sed_disk, sed_arm = _sed(rng, SED_DISK, b, 0.04), _sed(rng, SED_ARM, b, 0.05)
    sed_bulge = _sed(rng, SED_BULGE, b, 0.04)
    out = d.disk[:, None] * sed_disk + a.light[:, None] * sed_arm
    out += _bar_and_ring(rng, s, d, a, sed_arm) if barred else _oval(rng, d, a, sed_disk)
    k = np.asarray(DUST_K, np.float32)[None, :, None, None]
    tau = _dust_depth(rng, s, d, a)[:, None]
    out = out * np.exp(-tau * k) + bulge[:, None] * sed_bulge * np.exp(-0.5 * tau * k)
    _add_knots(cv, rng, s, d, a)
    return out

