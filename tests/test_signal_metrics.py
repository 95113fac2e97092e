"""Signal metrics on hand-made traces whose answers are known exactly."""
import math

import numpy as np
import pytest

from autoenc.metrics.signal import (
    has_signal,
    peak_accuracy,
    peak_index,
    per_snr_bin,
    power_spectrum,
    snr_gain_db,
    snr_gains_db,
)


def spikes(positions, n=500, height=1.0, baseline=0.0):
    x = np.full((len(positions), n), baseline)
    for row, p in enumerate(positions):
        if p is not None:
            x[row, p] = baseline + height
    return x


def test_peak_index_takes_the_largest_deviation_either_sign():
    x = np.zeros(500)
    x[100], x[200] = -5.0, 3.0
    assert peak_index(x)[0] == 100
    # Around a baseline of 0.5 (the [0, 1] map), a dip counts as much as a bump.
    y = np.full(500, 0.5)
    y[300], y[50] = 0.1, 0.8
    assert peak_index(y)[0] == 300
    assert peak_index(y, baseline=0.0)[0] == 50


def test_peak_accuracy_counts_within_ten_samples_and_skips_noise_only():
    truth = spikes([100, 200, 300, 400, None])
    recovered = spikes([105, 211, 290, 0, 250])
    # hits: 105 (5 off), 290 (exactly 10 off); misses: 211 (11 off), 0; the flat truth row is left out.
    assert peak_accuracy(recovered, truth) == 0.5
    assert peak_accuracy(recovered, truth, tolerance=11) == 0.75
    assert has_signal(truth).tolist() == [True] * 4 + [False]
    assert math.isnan(peak_accuracy(recovered[4:], truth[4:]))


def test_snr_gain_is_the_noise_rms_ratio_in_db_median_over_traces():
    rng = np.random.default_rng(0)
    clean = spikes([100, 200, 300], height=4.0)
    noise = rng.standard_normal(clean.shape)
    noisy = clean + noise
    recovered = clean + noise * np.array([[0.1], [0.5], [0.01]])
    np.testing.assert_allclose(snr_gains_db(noisy, recovered, clean), [20, 20 * np.log10(2), 40])
    assert snr_gain_db(noisy, recovered, clean) == pytest.approx(20)
    # Units do not matter: the same traces through the affine [0, 1] map give the same gain.
    unit = lambda x: 0.5 + 0.5 * x / 7.0  # noqa: E731
    assert snr_gain_db(unit(noisy), unit(recovered), unit(clean)) == pytest.approx(20)


def test_power_spectrum_of_a_tone_and_parseval():
    fs, n = 180e6, 500
    t = np.arange(n) / fs
    f0 = 36 * fs / n                                  # exactly on bin 36: 12.96 MHz
    x = 3.0 * np.cos(2 * np.pi * f0 * t)
    freqs, psd = power_spectrum(np.stack([x, x]), fs)
    assert freqs[np.argmax(psd)] == pytest.approx(f0 / 1e6)
    assert np.sum(psd) * fs / n == pytest.approx(np.mean(x**2))  # one-sided PSD integrates to the power


def test_per_snr_bin_splits_and_scores():
    clean = spikes([100, 100, 100, 100])
    noisy = clean + 0.5
    recovered = np.stack([clean[0], clean[1], spikes([300])[0], clean[3] + 0.05])
    snr = np.array([2.5, 4.0, 5.0, 20.0])
    rows = per_snr_bin(noisy, recovered, clean, snr, bins=((2, 3), (3, 6), (6, 20)))
    assert [r["n"] for r in rows] == [1, 2, 1]
    assert [r["peak_accuracy"] for r in rows] == [1.0, 0.5, 1.0]
    assert rows[2]["snr_gain_db"] == pytest.approx(20)  # residual 0.05 vs 0.5; 20 is inside the last bin
