"""The galaxy renderer: shapes, value range, determinism, class balance, the disk cache."""
from pathlib import Path

import numpy as np
import pytest

from autoenc import paths
from autoenc.data import galaxies as G
from autoenc.errors import UserError

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "galaxy_zoo_examples_128.npz"


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_dtype_and_range(size):
    gs = G.render(6, size, seed=1)
    assert gs.images.shape == (6, size, size, 3)
    assert gs.images.dtype == np.uint8
    assert gs.labels.shape == (6,) and gs.labels.dtype == np.int64
    assert gs.class_names == G.CLASS_NAMES == ("barred spiral", "elliptical", "spiral")
    assert set(gs.labels.tolist()) <= {0, 1, 2}
    # a dark sky with a bright galaxy near the centre, not a blank or saturated frame
    lum = gs.images.astype(float).mean(-1)
    c = size // 2
    centre = lum[:, c - size // 16:c + size // 16, c - size // 16:c + size // 16].mean((1, 2))
    corner = np.median(lum[:, :size // 8, :size // 8].reshape(6, -1), axis=1)
    assert np.all(centre > corner + 60)
    assert np.all(corner < 45)
    assert gs.images.max() > 150


def test_deterministic_for_a_seed():
    a = G.render(9, 32, seed=5)
    b = G.render(9, 32, seed=5)
    c = G.render(9, 32, seed=6)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_balanced_by_default_and_shuffled():
    gs = G.render(30, 32, seed=2)
    assert np.bincount(gs.labels, minlength=3).tolist() == [10, 10, 10]
    assert not np.array_equal(gs.labels, np.sort(gs.labels))
    odd = G.render(7, 32, seed=2)
    assert sorted(np.bincount(odd.labels, minlength=3).tolist()) == [2, 2, 3]


def test_class_weights():
    s = G.RenderSettings(class_weights=(0.0, 1.0, 3.0))
    gs = G.render(12, 32, seed=0, settings=s)
    assert np.bincount(gs.labels, minlength=3).tolist() == [0, 3, 9]
    assert gs.counts() == {"barred spiral": 0, "elliptical": 3, "spiral": 9}


def test_settings_size_and_explicit_size():
    s = G.RenderSettings(size=32)
    assert G.render(3, settings=s).images.shape[1] == 32
    assert G.render(3, 64, settings=s).images.shape[1] == 64      # the argument wins
    assert G.render(3).images.shape[1] == 64                      # default


def test_difficulty_knob_changes_the_images():
    easy = G.render(6, 32, seed=3, settings=G.RenderSettings.with_difficulty(0.0))
    hard = G.render(6, 32, seed=3, settings=G.RenderSettings.with_difficulty(1.0))
    assert easy.images.shape == hard.images.shape
    assert not np.array_equal(easy.images, hard.images)
    # more sky noise when harder: the corners scatter more
    def sky_scatter(x):
        corner = x.images[:, :6, :6].astype(float).mean(-1).reshape(len(x), -1)
        return np.median(corner.std(1))
    assert sky_scatter(hard) > sky_scatter(easy)


def test_noise_free_sky_is_flat():
    s = G.RenderSettings(noise_level=0.0, star_density=0.0, background_density=0.0)
    gs = G.render(3, 32, seed=1, settings=s)
    corner = gs.images[:, :3, :3].astype(int)
    assert corner.std(axis=(1, 2)).max() < 2.0


@pytest.mark.parametrize("bad", [
    dict(class_weights=(0, 0, 0)), dict(class_weights=(1, -1, 1)), dict(class_weights=(1, 1)),
    dict(max_inclination_deg=120), dict(noise_level=-1), dict(size=8), dict(psf_fwhm=(3, 1)),
])
def test_bad_settings_are_user_errors(bad):
    with pytest.raises(UserError):
        G.render(3, settings=G.RenderSettings(**bad))


def test_bad_counts_are_user_errors():
    with pytest.raises(UserError):
        G.render(-1, 32)
    with pytest.raises(UserError):
        G.render(G.MAX_RENDER + 1, 32)
    with pytest.raises(UserError):
        G.RenderSettings.with_difficulty(2.0)


def test_zero_images():
    gs = G.render(0, 32)
    assert gs.images.shape == (0, 32, 32, 3) and len(gs) == 0


def test_cache_hit_returns_identical_arrays(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "cache")
    first = G.rendered_set(6, 32, seed=4)
    files = list((tmp_path / "cache").rglob("*.npz"))
    assert len(files) == 1
    assert not list((tmp_path / "cache").rglob("*.tmp"))          # written atomically
    mtime = files[0].stat().st_mtime_ns
    second = G.rendered_set(6, 32, seed=4)
    assert "cached" in second.source
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert files[0].stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(first.images, G.render(6, 32, seed=4).images)
    # other parameters -> another file
    G.rendered_set(6, 32, seed=4, settings=G.RenderSettings(noise_level=2.0))
    G.rendered_set(6, 32, seed=5)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 3


def test_cache_key_covers_every_parameter():
    base = G.cache_key(10, 64, 0, G.RenderSettings())
    assert base == G.cache_key(10, 64, 0, None)
    assert base != G.cache_key(11, 64, 0)
    assert base != G.cache_key(10, 32, 0)
    assert base != G.cache_key(10, 64, 1)
    assert base != G.cache_key(10, 64, 0, G.RenderSettings(arm_contrast=0.5))


def test_damaged_cache_file_is_rerendered(tmp_path):
    gs = G.rendered_set(3, 32, seed=1, cache_dir=tmp_path)
    (f,) = tmp_path.glob("*.npz")
    f.write_bytes(b"not an npz")
    again = G.rendered_set(3, 32, seed=1, cache_dir=tmp_path)
    np.testing.assert_array_equal(gs.images, again.images)
    with np.load(f, allow_pickle=False) as d:
        assert d["images"].shape == (3, 32, 32, 3)


def test_render_rate_is_images_per_second_of_the_timed_render(monkeypatch):
    clock = iter([10.0, 12.5])                       # the timed render takes 2.5 s
    monkeypatch.setattr(G.time, "perf_counter", lambda: next(clock))
    assert G.render_rate(32, n=6) == pytest.approx(6 / 2.5)


@pytest.mark.skipif(not REAL.exists(), reason="shared real galaxy examples not present")
def test_renders_resemble_real_thumbnails_in_brightness():
    """Coarse realism: sky level and galaxy brightness in the range of the real examples."""
    with np.load(REAL, allow_pickle=False) as d:
        real = d["images"].astype(float)
    fake = G.render(30, 128, seed=0).images.astype(float)

    def sky(x):
        return np.median(x.mean(-1).reshape(len(x), -1), axis=1)

    def centre(x):
        return x[:, 60:68, 60:68].mean(axis=(1, 2, 3))
    assert abs(np.median(sky(fake)) - np.median(sky(real))) < 8
    assert abs(np.median(centre(fake)) - np.median(centre(real))) < 40


def _light_profile(images: np.ndarray) -> np.ndarray:
    """Per image (128 px): half-light radius and the mean grey level of the central 3 px,
    of the sky-subtracted light within 40 px of the centre."""
    yy, xx = np.mgrid[:128, :128] - 63.5
    rr = np.hypot(xx, yy)
    out = []
    for im in images.astype(float):
        lum = im.mean(-1)
        sky = np.median(lum[rr > 56])
        light = np.clip(lum - sky, 0, None) * (rr < 40)
        total = light.sum()
        cy, cx = (light * yy).sum() / total, (light * xx).sum() / total
        r = np.hypot(xx - cx, yy - cy).ravel()
        order = np.argsort(r)
        r50 = r[order][np.searchsorted(np.cumsum(light.ravel()[order]) / total, 0.5)]
        out.append((r50, lum.ravel()[r < 3].mean()))
    return np.asarray(out)


@pytest.mark.skipif(not REAL.exists(), reason="shared real galaxy examples not present")
def test_each_class_matches_the_real_examples_in_size_and_central_brightness():
    """The renderer's sizes and surface brightnesses were set from these two measures of the
    real examples: per class, the renders' medians lie within the real ones' middle half."""
    with np.load(REAL, allow_pickle=False) as d:
        real, real_labels = d["images"], d["labels"]
    fake = G.render(150, 128, seed=3)
    for c, name in enumerate(G.CLASS_NAMES):
        r, f = _light_profile(real[real_labels == c]), _light_profile(fake.images[fake.labels == c])
        lo, hi = np.percentile(r, 25, axis=0), np.percentile(r, 75, axis=0)
        med = np.median(f, axis=0)
        assert np.all((lo <= med) & (med <= hi)), (name, lo, med, hi)
