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
../shared/data; tests/test_galaxies.py measures both); docs/checkpoints.md says how the
renderer's versions moved the classifier's accuracy on real galaxies.

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
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from autoenc import paths
from autoenc.data.galaxy_set import BARRED, CLASS_NAMES, ELLIPTICAL, GalaxySet
from autoenc.data.galaxy_shapes import FRAME, Canvas, disk_galaxy, elliptical
from autoenc.data.render_settings import SIZES, RenderSettings  # noqa: F401 - SIZES: part of the renderer's API
from autoenc.errors import UserError

MAX_RENDER = 200_000             # images in one call: bounds time and memory
RENDER_VERSION = 3               # bump when the renderer's output changes: keys the cache
CHUNK = 32                       # images of one class rendered at once

# Asinh stretch (Lupton et al. 2004): f(I) = asinh(alpha Q I) / Q, I = mean of the bands.
STRETCH_Q = 5.0
STRETCH_ALPHA = 0.0125           # display units per flux unit near zero
SKY_SIGMA = 1.0                  # sky noise of a 128 px thumbnail, flux units

# --------------------------------------------------------------------------- scene

def _scene(cv: Canvas, rng: np.random.Generator, s: RenderSettings):
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


def _psf_ft(cv: Canvas, fwhm: np.ndarray, blob_sigma: float | None, spikes: float = 0.0,
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
    cv = Canvas(b, size)
    if label == ELLIPTICAL:
        light = elliptical(cv, rng, s)
    else:
        light = disk_galaxy(cv, rng, s, barred=(label == BARRED))
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
