"""Radio trace simulator and the textbook-file loader: physics of the noise, the SNR
definition, determinism, the global [0, 1] map, and every way a user's file can be unfit."""
import io

import numpy as np
import pytest

from autoenc.data import radio
from autoenc.errors import UserError
from autoenc.metrics.signal import power_spectrum


@pytest.fixture(scope="module")
def galactic_noise():
    return radio.simulate(600, "galactic", noise_only_fraction=1.0, seed=5).noisy


def test_galactic_noise_stays_in_the_band(galactic_noise):
    f, psd = power_spectrum(galactic_noise)
    inside = psd[(f >= 30) & (f <= 80)].sum()
    below = psd[f < 20].sum()
    above = psd[f > 88].sum()
    assert below < 0.01 * inside
    assert above < 0.01 * inside


def test_galactic_noise_follows_the_sky_temperature(galactic_noise):
    # PSD / (k_B R |H|^2) is the temperature: Cane's sky (~f^-2.5) plus a flat receiver term.
    f, psd = power_spectrum(galactic_noise)
    h2 = np.abs(radio.receiver_response(f * 1e6)) ** 2
    band = (f >= 30) & (f <= 80)
    t = psd[band] / (radio.K_BOLTZMANN * radio.IMPEDANCE_OHM * h2[band] * 1e12)
    slope = np.polyfit(np.log(f[band]), np.log(t), 1)[0]
    assert -2.5 < slope < -2.0          # -2.29 expected with a mean receiver of 375 K
    t50 = t[np.abs(f[band] - 50) < 5].mean()
    assert t50 == pytest.approx(4800 + 375, rel=0.1)


def test_receiver_is_a_causal_band_pass():
    f = radio.frequencies()
    gain = np.abs(radio.receiver_response(f))
    band = (f >= 30e6) & (f <= 80e6)
    assert gain[band].min() > 0.5 * gain.max()   # -3 dB edges, tilted by the cable's sqrt(f) loss
    assert gain[np.argmin(np.abs(f - 10e6))] < 1e-2 * gain.max()
    assert gain[np.argmin(np.abs(f - 20e6))] < 0.1 * gain.max()
    impulse = np.fft.irfft(radio.receiver_response(f), radio.N_SAMPLES)
    assert np.sum(impulse[:100] ** 2) > 0.99 * np.sum(impulse ** 2)  # rings after t=0, never before


@pytest.mark.parametrize("noise", radio.NOISE_TYPES)
def test_snr_definition_holds(noise):
    d = radio.simulate(300, noise, snr_range=(2, 8), seed=1)
    measured = np.abs(d.clean).max(1) / np.sqrt(np.mean((d.noisy - d.clean) ** 2, axis=1))
    np.testing.assert_allclose(measured, d.snr, rtol=1e-4)
    assert d.snr.min() >= 2 and d.snr.max() <= 8
    np.testing.assert_allclose(radio.measured_snr(d.noisy, d.clean), d.snr, rtol=1e-4)
    assert d.noisy.dtype == d.clean.dtype == np.float32 and d.noisy.shape == (300, 500)


def test_pulses_arrive_in_the_middle_half():
    peaks = np.abs(radio.simulate(500, "uniform", seed=2).clean).argmax(1)
    assert peaks.min() >= 125 and peaks.max() < 400  # the causal filter delays the peak a little


def test_noise_only_traces_and_rfi():
    d = radio.simulate(400, "galactic", noise_only_fraction=0.5, rfi=True, seed=3)
    empty = d.snr == 0
    assert 0.4 < empty.mean() < 0.6
    assert not d.clean[empty].any() and d.clean[~empty].any()
    measured = np.abs(d.clean[~empty]).max(1) / np.sqrt(np.mean((d.noisy - d.clean)[~empty] ** 2, axis=1))
    np.testing.assert_allclose(measured, d.snr[~empty], rtol=1e-4)


def test_same_seed_same_traces():
    a, b = radio.simulate(50, "cosine", seed=9), radio.simulate(50, "cosine", seed=9)
    np.testing.assert_array_equal(a.noisy, b.noisy)
    np.testing.assert_array_equal(a.clean, b.clean)
    assert not np.array_equal(a.noisy, radio.simulate(50, "cosine", seed=10).noisy)
    assert not np.array_equal(a.noisy, radio.simulate(50, "cosine", seed=(9, 1)).noisy)


def test_bad_simulator_settings():
    for kwargs in ({"noise": "pink"}, {"snr_range": (5, 2)}, {"noise_only_fraction": 1.5}):
        with pytest.raises(UserError):
            radio.simulate(5, **kwargs)


def test_unit_map_keeps_baseline_and_snr():
    d = radio.simulate(200, "galactic", seed=4)
    a = radio.unit_scale(d.noisy)
    clean_u, noisy_u = radio.to_unit(d.clean, a), radio.to_unit(d.noisy, a)
    assert np.median(clean_u) == pytest.approx(0.5)
    assert radio.to_unit(np.zeros(3), a) == pytest.approx(0.5)
    snr_u = np.abs(clean_u - 0.5).max(1) / np.sqrt(np.mean((noisy_u - clean_u) ** 2, axis=1))
    np.testing.assert_allclose(snr_u, d.snr, rtol=1e-3)
    np.testing.assert_allclose(radio.from_unit(noisy_u, a), d.noisy, rtol=1e-4, atol=1e-2)
    assert np.mean((noisy_u < 0) | (noisy_u > 1)) < 1e-4  # a high percentile: almost all inside


# -- the loader --------------------------------------------------------------------

def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_loads_the_textbook_layout(tmp_path):
    d = radio.simulate(20, "galactic", noise_only_fraction=0.3, seed=6)
    path = write_npz(tmp_path / "radio_data.npz", traces=d.noisy.astype(np.float64), signals=d.clean)
    got = radio.load_radio_npz(path)
    np.testing.assert_array_equal(got.noisy, d.noisy)
    np.testing.assert_allclose(got.snr, d.snr, rtol=1e-4)
    assert got.snr.dtype == np.float32 and (got.snr == 0).sum() == (d.snr == 0).sum()
    # Uploads arrive as file-like objects.
    got = radio.load_radio_npz(io.BytesIO(path.read_bytes()))
    assert len(got) == 20


@pytest.mark.parametrize("case, message", [
    ("not_zip", "not an .npz"),
    ("missing", "lacks array(s) signals"),
    ("shape", "expected (N, 500)"),
    ("one_d", "expected (N, 500)"),
    ("count", "3 traces but 4 signals"),
    ("nan", "NaN"),
    ("objects", "object arrays"),
    ("text", "must be numeric"),
    ("empty", "no traces"),
])
def test_bad_files_are_user_errors(tmp_path, case, message):
    ok = np.zeros((3, 500), np.float32)
    path = tmp_path / "bad.npz"
    if case == "not_zip":
        path.write_text("traces,signals\n1,2\n")
    elif case == "missing":
        write_npz(path, traces=ok)
    elif case == "shape":
        write_npz(path, traces=np.zeros((3, 400)), signals=np.zeros((3, 400)))
    elif case == "one_d":
        write_npz(path, traces=np.zeros(500), signals=np.zeros(500))
    elif case == "count":
        write_npz(path, traces=ok, signals=np.zeros((4, 500)))
    elif case == "nan":
        bad = ok.copy()
        bad[1, 7] = np.nan
        write_npz(path, traces=bad, signals=ok)
    elif case == "objects":
        write_npz(path, traces=np.array([[None] * 500] * 3, dtype=object), signals=ok)
    elif case == "text":
        write_npz(path, traces=np.full((3, 500), "x"), signals=ok)
    elif case == "empty":
        write_npz(path, traces=np.zeros((0, 500)), signals=np.zeros((0, 500)))
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        radio.load_radio_npz(path)


def test_big_and_missing_files_are_refused(tmp_path, monkeypatch):
    path = write_npz(tmp_path / "big.npz", traces=np.zeros((3, 500)), signals=np.zeros((3, 500)))
    monkeypatch.setattr(radio, "MAX_FILE_BYTES", 1000)
    with pytest.raises(UserError, match="refused"):
        radio.load_radio_npz(path)
    with pytest.raises(UserError, match="cannot read"):
        radio.load_radio_npz(tmp_path / "nowhere.npz")


def test_the_receiver_response_on_the_grid_is_kept_on_disk_and_read_back(tmp_path, monkeypatch):
    from autoenc import paths
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path)
    first = radio._grid_response()
    (kept,) = (tmp_path / "radio").glob("receiver-*.npy")
    np.testing.assert_array_equal(first, radio.receiver_response(radio.frequencies()))
    np.save(kept, first * 2)                                  # what is read is the file
    np.testing.assert_array_equal(radio._grid_response(), first * 2)
