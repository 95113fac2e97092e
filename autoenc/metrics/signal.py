"""How well a denoiser recovers radio pulses: peak position, SNR gain, spectra.

All functions take traces shaped (N, 500) (or one trace (500,)) in any units, as long as
the traces compared are in the same units: the global [0, 1] map is affine, so results
are the same before and after it.
"""
from __future__ import annotations

import numpy as np

from autoenc.data.radio import FS_HZ

PEAK_TOLERANCE = 10  # samples: 2 % of a 500-sample trace, the seed's "within 2 %"
SNR_BINS = ((2, 3), (3, 6), (6, 20))


def _2d(traces) -> np.ndarray:
    return np.atleast_2d(np.asarray(traces, dtype=np.float64))


def peak_index(traces, baseline=None) -> np.ndarray:
    """Sample of the largest |deviation| from the baseline (the pulse is bipolar).

    baseline: a number or one per trace; default each trace's median, which is the
    noise level for a pulse that fills only a few of the 500 samples.
    """
    x = _2d(traces)
    b = np.median(x, axis=1) if baseline is None else np.broadcast_to(baseline, (len(x),))
    return np.argmax(np.abs(x - np.asarray(b, dtype=np.float64)[:, None]), axis=1)


def has_signal(clean) -> np.ndarray:
    """False for noise-only traces (a flat clean trace)."""
    c = _2d(clean)
    return np.ptp(c, axis=1) > 0


def peak_accuracy(recovered, truth, tolerance: int = PEAK_TOLERANCE) -> float:
    """Share of traces whose recovered peak lies within `tolerance` samples of the true one.

    Noise-only traces have no true peak and are left out; NaN if none is left.
    """
    rec, tru = _2d(recovered), _2d(truth)
    keep = has_signal(tru)
    if not keep.any():
        return float("nan")
    hit = np.abs(peak_index(rec[keep]) - peak_index(tru[keep])) <= tolerance
    return float(hit.mean())


def snr_gains_db(noisy, recovered, clean) -> np.ndarray:
    """Per trace 20 log10(SNR_out / SNR_in), with SNR = max|clean - baseline| / RMS(x - clean).

    The peak cancels in the ratio, so this is RMS(noise in) / RMS(noise left), in dB.
    """
    n, r, c = _2d(noisy), _2d(recovered), _2d(clean)
    rms_in = np.sqrt(np.mean((n - c) ** 2, axis=1))
    rms_out = np.sqrt(np.mean((r - c) ** 2, axis=1))
    with np.errstate(divide="ignore"):
        return 20 * np.log10(rms_in / rms_out)


def snr_gain_db(noisy, recovered, clean) -> float:
    """The median over signal traces of snr_gains_db (the median: a few near-perfect
    recoveries would otherwise dominate a mean of logarithms)."""
    keep = has_signal(clean)
    if not keep.any():
        return float("nan")
    return float(np.median(snr_gains_db(_2d(noisy)[keep], _2d(recovered)[keep], _2d(clean)[keep])))


def power_spectrum(traces, fs: float = FS_HZ) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in MHz, mean one-sided power spectral density in units^2 / Hz)."""
    x = _2d(traces)
    n = x.shape[1]
    psd = np.abs(np.fft.rfft(x, axis=1)) ** 2 / (n * fs)
    psd[:, 1:(n + 1) // 2] *= 2  # fold in the negative frequencies; not DC, not Nyquist
    return np.fft.rfftfreq(n, 1 / fs) / 1e6, psd.mean(axis=0)


def per_snr_bin(noisy, recovered, clean, snr, bins=SNR_BINS,
                tolerance: int = PEAK_TOLERANCE) -> list[dict]:
    """Peak accuracy and median SNR gain for the traces with lo <= snr < hi in each bin
    (the last bin includes its upper edge)."""
    snr = np.asarray(snr)
    n, r, c = _2d(noisy), _2d(recovered), _2d(clean)
    rows = []
    for i, (lo, hi) in enumerate(bins):
        upper = snr <= hi if i == len(bins) - 1 else snr < hi
        sel = (snr >= lo) & upper & has_signal(c)
        rows.append({
            "snr_lo": lo, "snr_hi": hi, "n": int(sel.sum()),
            "peak_accuracy": peak_accuracy(r[sel], c[sel], tolerance) if sel.any() else float("nan"),
            "snr_gain_db": snr_gain_db(n[sel], r[sel], c[sel]) if sel.any() else float("nan"),
        })
    return rows
