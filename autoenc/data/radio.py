"""Cosmic-ray radio traces: a vectorised simulator and a loader for the textbook's file.

A trace is 500 samples at 180 MHz (2.78 us) as recorded behind an AERA-like receiver
chain: a 30-80 MHz Butterworth band-pass, a low-noise amplifier and a cable. Traces are
in microvolts at the digitiser. The network sees them through one global affine map to
[0, 1] (`to_unit`), the same for noisy and clean traces, so the clean baseline stays at
0.5 and the signal-to-noise ratio survives the mapping.
"""
from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Sequence

import numpy as np

from autoenc import paths
from autoenc.errors import UserError
from autoenc.files import atomic_write_bytes

NOISE_TYPES = ("galactic", "uniform", "cosine")
# Training (and held-out) noise: one of the three, or a mix where each trace draws one of
# them at random, so a single model learns all three.
MIX = "mix"
TRAINING_NOISES = (*NOISE_TYPES, MIX)
N_SAMPLES = 500
FS_HZ = 180e6
BAND_HZ = (30e6, 80e6)

FILTER_ORDER = 5              # per edge: a band-pass of order 5 has 10 poles
LNA_GAIN_DB = 25.0
CABLE_LOSS_DB_AT_50MHZ = 2.0  # ~30 m of coax; the loss in dB grows like sqrt(f)
IMPEDANCE_OHM = 50.0
K_BOLTZMANN = 1.380649e-23
# Cane (1979) galactic background: ~17,800 / 4,800 / 1,450 K at 30 / 50 / 80 MHz.
SKY_T50_K = 4800.0
SKY_INDEX = -2.5
SIDEREAL_RANGE = (0.75, 1.25)
RECEIVER_T_RANGE_K = (150.0, 600.0)
BETA_RANGE_PER_MHZ = (-0.01, 0.06)

CHUNK = 4096  # traces simulated at once: bounds memory, keeps the arrays cache-friendly
MAX_FILE_BYTES = 200 * 1024**2


@dataclass
class RadioSet:
    """Traces in microvolts: noisy = clean + noise. snr is 0 for noise-only traces."""
    noisy: np.ndarray   # (N, 500) float32
    clean: np.ndarray   # (N, 500) float32
    snr: np.ndarray     # (N,) float32

    def __len__(self) -> int:
        return len(self.noisy)


def frequencies() -> np.ndarray:
    """The rfft grid of a trace in Hz (251 bins, 0 to 90 MHz)."""
    return np.fft.rfftfreq(N_SAMPLES, 1.0 / FS_HZ)


def receiver_response(freqs_hz: np.ndarray) -> np.ndarray:
    """Complex gain H(f) of band-pass x LNA x cable; the analog filter gives a causal phase."""
    from scipy import signal as sps     # 1-2 s to import: only when the response is not on disk yet
    w = 2 * np.pi * np.asarray(freqs_hz, dtype=float)
    # zpk form: the 10-pole polynomial coefficients of 'ba' form lose precision at 1e8 rad/s.
    z, p, k = sps.butter(FILTER_ORDER, [2 * np.pi * BAND_HZ[0], 2 * np.pi * BAND_HZ[1]],
                         btype="bandpass", analog=True, output="zpk")
    _, h = sps.freqs_zpk(z, p, k, worN=w)
    cable_db = CABLE_LOSS_DB_AT_50MHZ * np.sqrt(np.abs(freqs_hz) / 50e6)
    return h * 10 ** ((LNA_GAIN_DB - cable_db) / 20)


def sky_temperature(freqs_hz: np.ndarray) -> np.ndarray:
    """Cane's galactic background in K (floored at 1 MHz so the DC bin stays finite)."""
    f = np.maximum(np.asarray(freqs_hz, dtype=float), 1e6)
    return SKY_T50_K * (f / 50e6) ** SKY_INDEX


def _grid_response() -> np.ndarray:
    """receiver_response on the trace's rfft grid, computed once per machine and kept in the
    cache folder (designing the filter needs scipy.signal, whose import is most of a page's start)."""
    key = hashlib.sha256(repr((FILTER_ORDER, BAND_HZ, LNA_GAIN_DB, CABLE_LOSS_DB_AT_50MHZ, N_SAMPLES,
                               FS_HZ)).encode()).hexdigest()[:16]
    path = Path(paths.CACHE_DIR) / "radio" / f"receiver-{key}.npy"
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        h = receiver_response(frequencies())
        buf = io.BytesIO()
        np.save(buf, h, allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
        return h


@lru_cache(maxsize=1)
def _chain() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = frequencies()
    h = _grid_response()
    # E|X_k|^2 of an rfft coefficient per kelvin: N fs S/2 with one-sided S = k_B T R |H|^2,
    # times 1e12 for microvolts squared.
    per_kelvin = N_SAMPLES * FS_HZ * K_BOLTZMANN * IMPEDANCE_OHM * np.abs(h) ** 2 / 2 * 1e12
    return f, h.astype(np.complex64), per_kelvin


@lru_cache(maxsize=1)
def nominal_noise_rms() -> float:
    """RMS (uV) of galactic noise at the mid sidereal factor and receiver temperature.

    The teaching noises (uniform, cosine) use it too, so all traces share one scale.
    """
    f, _, per_kelvin = _chain()
    t = sky_temperature(f) + np.mean(RECEIVER_T_RANGE_K)
    power = per_kelvin * t
    power[1:-1] *= 2  # the negative frequencies the rfft leaves out
    return float(np.sqrt(power.sum()) / N_SAMPLES)


def _galactic(rng: np.random.Generator, n: int) -> np.ndarray:
    f, _, per_kelvin = _chain()
    sidereal = rng.uniform(*SIDEREAL_RANGE, size=(n, 1))
    t_receiver = rng.uniform(*RECEIVER_T_RANGE_K, size=(n, 1))
    sigma = np.sqrt((sky_temperature(f) * sidereal + t_receiver) * per_kelvin / 2).astype(np.float32)
    re = rng.standard_normal((n, len(f)), dtype=np.float32)
    im = rng.standard_normal((n, len(f)), dtype=np.float32)
    return np.fft.irfft((re + 1j * im) * sigma, n=N_SAMPLES, axis=1)


def _uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    half_width = np.sqrt(3.0) * nominal_noise_rms()  # uniform(-a, a) has RMS a / sqrt(3)
    return rng.uniform(-half_width, half_width, size=(n, N_SAMPLES)).astype(np.float32)


def _carriers(rng: np.random.Generator, n: int, count: int, rms: np.ndarray) -> np.ndarray:
    # In-band only: anything outside 30-80 MHz would be removed by the receiver's
    # band-pass before the digitiser, and an in-band carrier is one the filter cannot remove.
    freq = rng.uniform(*BAND_HZ, size=(n, count, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, count, 1))
    t = np.arange(N_SAMPLES) / FS_HZ
    waves = np.sqrt(2) * rms[..., None] * np.cos(2 * np.pi * freq * t + phase)
    return waves.sum(axis=1).astype(np.float32)


def _cosine(rng: np.random.Generator, n: int) -> np.ndarray:
    return _carriers(rng, n, 1, np.full((n, 1), nominal_noise_rms()))


def _rfi(rng: np.random.Generator, n: int, background_rms: np.ndarray) -> np.ndarray:
    # One to three narrow-band transmitters, each 0.3-1.5x the background's RMS.
    count = 3
    present = np.arange(count) < rng.integers(1, count + 1, size=(n, 1))
    rms = rng.uniform(0.3, 1.5, size=(n, count)) * background_rms[:, None] * present
    return _carriers(rng, n, count, rms)


NOISE_MAKERS = {"galactic": _galactic, "uniform": _uniform, "cosine": _cosine}


def _mixed(rng: np.random.Generator, n: int) -> np.ndarray:
    """Each trace's noise of one of the three kinds, drawn uniformly."""
    kind = rng.integers(len(NOISE_TYPES), size=n)
    out = np.empty((n, N_SAMPLES), np.float32)
    for i, name in enumerate(NOISE_TYPES):
        rows = np.flatnonzero(kind == i)
        if len(rows):
            out[rows] = NOISE_MAKERS[name](rng, len(rows))
    return out


def _pulses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Air-shower pulses through the receiver chain, each scaled to a peak |amplitude| of 1."""
    f, h, _ = _chain()
    f_mhz = (f / 1e6).astype(np.float32)
    beta = rng.uniform(*BETA_RANGE_PER_MHZ, size=(n, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1)).astype(np.float32)
    # Middle half of the trace, so the ringing (up to ~150 ns) never wraps around.
    arrival_us = (rng.uniform(0.25, 0.75, size=(n, 1)) * N_SAMPLES / FS_HZ * 1e6).astype(np.float32)
    angle = phase - np.float32(2 * np.pi) * f_mhz * arrival_us
    spectrum = np.exp(-beta * (f_mhz - 30)) * h * (np.cos(angle) + 1j * np.sin(angle))
    pulse = np.fft.irfft(spectrum, n=N_SAMPLES, axis=1)
    return pulse / np.abs(pulse).max(axis=1, keepdims=True)


def simulate(n: int, noise: str = "galactic", snr_range: tuple[float, float] = (1.5, 20.0),
             noise_only_fraction: float = 0.0, rfi: bool = False,
             seed: int | Sequence[int] = 0) -> RadioSet:
    """n traces; SNR = max|clean| / RMS(noise) of each trace, log-uniform over snr_range.

    The same seed gives the same traces; a sequence such as (seed, step) gives
    independent streams, e.g. fresh traces for every training step.
    """
    if noise not in TRAINING_NOISES:
        raise UserError(f"noise must be one of {', '.join(TRAINING_NOISES)}, not {noise!r}")
    lo, hi = snr_range
    if not 0 < lo <= hi:
        raise UserError(f"snr range must satisfy 0 < min <= max, not {lo}..{hi}")
    if not 0 <= noise_only_fraction <= 1:
        raise UserError(f"noise_only_fraction must lie in [0, 1], not {noise_only_fraction}")
    rng = np.random.default_rng(seed)
    make_noise = _mixed if noise == MIX else NOISE_MAKERS[noise]
    noisy = np.empty((n, N_SAMPLES), np.float32)
    clean = np.empty((n, N_SAMPLES), np.float32)
    snr = np.empty(n, np.float32)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        background = make_noise(rng, m)
        if rfi:
            background += _rfi(rng, m, np.sqrt(np.mean(background**2, axis=1)))
        rms = np.sqrt(np.mean(background**2, axis=1))
        s = np.exp(rng.uniform(np.log(lo), np.log(hi), size=m))
        s[rng.random(m) < noise_only_fraction] = 0.0
        c = _pulses(rng, m) * (s * rms)[:, None]
        noisy[start:start + m] = c + background
        clean[start:start + m] = c
        snr[start:start + m] = s
    return RadioSet(noisy, clean, snr)


# -- the global [0, 1] map -------------------------------------------------------------

def unit_scale(noisy: np.ndarray, percentile: float = 99.999) -> float:
    """A for to_unit: a high percentile of |noisy| over a training set.

    So high that only the very brightest pulses reach past the sigmoid's ends; a per-trace
    min-max instead would move the baseline and change the SNR trace by trace.
    """
    a = float(np.percentile(np.abs(noisy), percentile))
    if not np.isfinite(a) or a <= 0:
        raise UserError("cannot scale traces that are all zero or not finite")
    return a


def to_unit(x: np.ndarray, scale: float) -> np.ndarray:
    return 0.5 + 0.5 * x / scale


def from_unit(u: np.ndarray, scale: float) -> np.ndarray:
    return (u - 0.5) * (2 * scale)


# -- the textbook's file --------------------------------------------------------------

def load_radio_npz(path: str | os.PathLike | BinaryIO) -> RadioSet:
    """Read radio_data.npz (keys traces, signals, both (N, 500)); UserError if it is unfit."""
    name = getattr(path, "name", None) or str(path)
    name = Path(name).name
    try:
        if isinstance(path, (str, os.PathLike)):
            size = os.path.getsize(path)
        else:
            size = path.seek(0, io.SEEK_END)
            path.seek(0)
    except OSError as e:
        raise UserError(f"cannot read {name}: {e.strerror or e}") from None
    if size > MAX_FILE_BYTES:
        raise UserError(f"{name} is {size >> 20} MB; files over {MAX_FILE_BYTES >> 20} MB are refused")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{name} is not an .npz file, or it is truncated (expected a zip archive of arrays)")
    if not isinstance(path, (str, os.PathLike)):
        path.seek(0)
    try:
        # A small npz can inflate to gigabytes: check the unpacked size before reading.
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
        if unpacked > 4 * MAX_FILE_BYTES:
            raise UserError(f"{name} unpacks to {unpacked >> 20} MB, too big")
        if not isinstance(path, (str, os.PathLike)):
            path.seek(0)
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("traces", "signals") if k not in data.files]
            if missing:
                raise UserError(f"{name} lacks array(s) {', '.join(missing)}; it has: "
                                f"{', '.join(data.files) or 'nothing'}")
            traces, signals = data["traces"], data["signals"]
    except UserError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise UserError(f"{name} holds object arrays; only plain numeric arrays are accepted") from None
        raise UserError(f"{name} is not a readable .npz file: {e}") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as e:
        raise UserError(f"{name} is not a readable .npz file: {e}") from None

    for key, a in (("traces", traces), ("signals", signals)):
        if a.dtype.kind not in "iuf":
            raise UserError(f"{key} in {name} must be numeric, not {a.dtype}")
        if a.ndim != 2 or a.shape[1] != N_SAMPLES:
            raise UserError(f"{key} in {name} has shape {a.shape}; expected (N, {N_SAMPLES})")
    if len(traces) != len(signals):
        raise UserError(f"{name} has {len(traces)} traces but {len(signals)} signals")
    if len(traces) == 0:
        raise UserError(f"{name} holds no traces")
    traces, signals = traces.astype(np.float32), signals.astype(np.float32)
    if not (np.isfinite(traces).all() and np.isfinite(signals).all()):
        raise UserError(f"{name} contains NaN or infinite values")
    return RadioSet(traces, signals, measured_snr(traces, signals))


def measured_snr(noisy: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """max|clean| / RMS(noisy - clean) per trace; 0 for noise-only, inf where no noise."""
    peak = np.abs(clean).max(axis=1)
    rms = np.sqrt(np.mean((noisy - clean).astype(np.float64) ** 2, axis=1))
    out = np.full(len(peak), np.inf)
    np.divide(peak, rms, out=out, where=rms > 0)
    out[peak == 0] = 0.0
    return out.astype(np.float32)
