"""Loaders for galaxy data users bring: good files, and every bad case refused clearly."""
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autoenc.data import galaxy_loaders as L
from autoenc.data.galaxies import CLASS_NAMES, GalaxySet
from autoenc.errors import UserError

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "galaxy_zoo_examples_128.npz"
RNG = np.random.default_rng(0)


def _img(w=40, h=30, mode="RGB", seed=0):
    r = np.random.default_rng(seed)
    if mode in ("L",):
        return Image.fromarray(r.integers(0, 255, (h, w), dtype=np.uint8), "L")
    a = r.integers(0, 255, (h, w, 4 if mode == "RGBA" else 3), dtype=np.uint8)
    return Image.fromarray(a, mode)


def _png_bytes(im, fmt="PNG"):
    b = io.BytesIO()
    im.save(b, fmt)
    return b.getvalue()


def _folder(root: Path, classes=("barred", "smooth", "spiral"), n=2, fmt="PNG", mode="RGB"):
    for k, c in enumerate(classes):
        d = root / c
        d.mkdir(parents=True)
        for i in range(n):
            (d / f"g{i}.{fmt.lower()}").write_bytes(_png_bytes(_img(40 + i, 30, mode, seed=k * 10 + i), fmt))
    return root


def _snapshot(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --------------------------------------------------------------------------- good input

def test_npz_round_trip_and_resize(tmp_path):
    images = RNG.integers(0, 255, (6, 40, 50, 3), dtype=np.uint8)
    labels = np.array([0, 1, 2, 2, 1, 0])
    p = tmp_path / "set.npz"
    np.savez(p, images=images, labels=labels, class_names=np.array(["Barred_Spiral", "elliptical", "spiral"]))
    gs = L.load_galaxy_file(p, 32)
    assert isinstance(gs, GalaxySet)
    assert gs.images.shape == (6, 32, 32, 3) and gs.images.dtype == np.uint8
    assert gs.labels.tolist() == labels.tolist()
    assert gs.class_names == CLASS_NAMES
    assert gs.warnings == []


def test_npz_class_names_are_mapped_to_ours(tmp_path):
    images = RNG.integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    p = tmp_path / "set.npz"
    # their order differs from ours
    np.savez(p, images=images, labels=np.array([0, 1, 2]), class_names=np.array(["spiral", "smooth", "barred"]))
    gs = L.load_galaxy_file(p, 32)
    assert gs.labels.tolist() == [2, 1, 0]
    np.testing.assert_array_equal(gs.images, images)          # same size: untouched


def test_npz_float_grey_rgba_and_missing_class(tmp_path):
    p = tmp_path / "f.npz"
    np.savez(p, images=RNG.random((4, 20, 20)).astype(np.float32), labels=np.array([0, 0, 1, 1]),
             class_names=np.array(["elliptical", "spiral"]))
    gs = L.load_galaxy_file(p, 16)
    assert gs.images.shape == (4, 16, 16, 3)
    assert np.all(gs.images[..., 0] == gs.images[..., 1])
    assert any("grey" in w for w in gs.warnings)
    assert any("no barred spiral" in w for w in gs.warnings)
    p2 = tmp_path / "rgba.npz"
    np.savez(p2, images=RNG.integers(0, 255, (2, 20, 20, 4), dtype=np.uint8), labels=np.array([0, 1]),
             class_names=np.array(["barred", "elliptical"]))
    gs2 = L.load_galaxy_file(p2, 20)
    assert gs2.images.shape == (2, 20, 20, 3) and any("alpha" in w for w in gs2.warnings)


def test_image_folder_with_synonyms(tmp_path):
    root = _folder(tmp_path / "data", classes=("barred_spiral", "Smooth", "spirals"), n=2)
    (root / "spirals" / "notes.txt").write_text("not an image")
    before = _snapshot(tmp_path)
    gs = L.load_galaxy_file(root, 24)
    assert gs.images.shape == (6, 24, 24, 3)
    assert sorted(gs.labels.tolist()) == [0, 0, 1, 1, 2, 2]
    assert any("not images" in w for w in gs.warnings)
    assert _snapshot(tmp_path) == before


def test_image_folder_grey_and_rgba_convert_with_warnings(tmp_path):
    root = tmp_path / "d"
    (root / "elliptical").mkdir(parents=True)
    (root / "spiral").mkdir()
    (root / "elliptical" / "a.png").write_bytes(_png_bytes(_img(30, 30, "L")))
    (root / "spiral" / "b.png").write_bytes(_png_bytes(_img(30, 30, "RGBA")))
    gs = L.load_galaxy_file(root, 16)
    text = " ".join(gs.warnings)
    assert "grey" in text and "alpha" in text and "no barred spiral" in text
    assert gs.images.shape == (2, 16, 16, 3)


def test_image_folder_inside_a_wrapper_folder(tmp_path):
    _folder(tmp_path / "outer" / "my_galaxies", n=1)
    gs = L.load_galaxy_file(tmp_path / "outer", 16)
    assert len(gs) == 3


def test_zip_read_in_memory(tmp_path):
    p = tmp_path / "g.zip"
    with zipfile.ZipFile(p, "w") as zf:
        for k, c in enumerate(["barred", "elliptical", "spiral"]):
            for i in range(2):
                zf.writestr(f"galaxies/{c}/{i}.jpg", _png_bytes(_img(50, 40, seed=k + i), "JPEG"))
        zf.writestr("galaxies/.DS_Store", b"junk")
        zf.writestr("__MACOSX/galaxies/._x.jpg", b"junk")
    before = _snapshot(tmp_path)
    gs = L.load_galaxy_file(p, 32)
    assert gs.images.shape == (6, 32, 32, 3)
    assert np.bincount(gs.labels).tolist() == [2, 2, 2]
    assert _snapshot(tmp_path) == before                     # nothing extracted


def _galaxy10(path, side, ans):
    h5py = pytest.importorskip("h5py")
    n = len(ans)
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=RNG.integers(0, 255, (n, side, side, 3), dtype=np.uint8))
        f.create_dataset("ans", data=np.asarray(ans, dtype=np.uint8))


def test_galaxy10_decals(tmp_path):
    p = tmp_path / "Galaxy10_DECals.h5"
    _galaxy10(p, 256, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 2])
    gs = L.load_galaxy_file(p, 64)
    assert gs.images.shape == (7, 64, 64, 3)
    assert gs.labels.tolist() == [1, 1, 0, 2, 2, 0, 1]
    assert any("dropped" in w for w in gs.warnings)
    assert "DECaLS" in gs.source


def test_galaxy10_sdss_says_no_barred_class(tmp_path):
    p = tmp_path / "Galaxy10.h5"
    _galaxy10(p, 69, [0, 1, 2, 7, 8, 9, 3])
    gs = L.load_galaxy_file(p, 32)
    assert gs.images.shape == (5, 32, 32, 3)
    assert gs.labels.tolist() == [1, 1, 2, 2, 2]
    assert any("no barred" in w.lower() for w in gs.warnings)


def test_max_images_subsamples_with_warning(tmp_path):
    p = tmp_path / "Galaxy10_DECals.h5"
    _galaxy10(p, 256, [5, 2, 6] * 10)
    gs = L.load_galaxy_file(p, 16, max_images=9)
    assert len(gs) == 9 and any("took 9" in w for w in gs.warnings)


@pytest.mark.skipif(not REAL.exists(), reason="shared real galaxy examples not present")
def test_real_galaxy_zoo_examples():
    gs = L.load_galaxy_file(REAL, 64)
    assert gs.images.shape == (132, 64, 64, 3)
    assert np.bincount(gs.labels).tolist() == [17, 29, 86]
    assert gs.class_names == CLASS_NAMES
    same = L.load_galaxy_file(REAL, 128)
    with np.load(REAL, allow_pickle=False) as d:
        np.testing.assert_array_equal(same.images, d["images"])


# --------------------------------------------------------------------------- bad input

def test_unknown_class_folder_lists_accepted_names(tmp_path):
    root = _folder(tmp_path / "d", classes=("barred", "irregular"), n=1)
    with pytest.raises(UserError, match="irregular.*barred spiral.*elliptical.*spiral"):
        L.load_galaxy_file(root, 32)


def test_unknown_class_name_in_npz(tmp_path):
    p = tmp_path / "s.npz"
    np.savez(p, images=np.zeros((2, 20, 20, 3), np.uint8), labels=np.array([0, 1]),
             class_names=np.array(["spiral", "merger"]))
    with pytest.raises(UserError, match="merger"):
        L.load_galaxy_file(p, 32)


def test_empty_class_folder(tmp_path):
    root = _folder(tmp_path / "d", classes=("barred", "spiral"), n=1)
    (root / "elliptical").mkdir()
    with pytest.raises(UserError, match="elliptical.*no images"):
        L.load_galaxy_file(root, 32)


def test_no_class_folders(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.png").write_bytes(_png_bytes(_img()))
    (root / "b.png").write_bytes(_png_bytes(_img()))
    with pytest.raises(UserError, match="sub-folder per class"):
        L.load_galaxy_file(root, 32)


def test_duplicate_classes(tmp_path):
    root = _folder(tmp_path / "d", classes=("barred", "barred_spiral"), n=1)
    with pytest.raises(UserError, match="both mean barred spiral"):
        L.load_galaxy_file(root, 32)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_or_truncated_image(tmp_path, damage):
    root = _folder(tmp_path / "d", n=1)
    good = _png_bytes(_img(64, 64))
    bad = b"this is not a png" if damage == "garbage" else good[: len(good) // 2]
    (root / "spiral" / "bad.png").write_bytes(bad)
    with pytest.raises(UserError, match="bad.png.*(corrupt|truncated)"):
        L.load_galaxy_file(root, 32)


def test_truncated_jpeg(tmp_path):
    root = _folder(tmp_path / "d", n=1)
    good = _png_bytes(_img(64, 64), "JPEG")
    (root / "spiral" / "cut.jpg").write_bytes(good[: len(good) * 2 // 3])
    with pytest.raises(UserError, match="cut.jpg"):
        L.load_galaxy_file(root, 32)


def test_too_small_image(tmp_path):
    root = _folder(tmp_path / "d", n=1)
    (root / "spiral" / "tiny.png").write_bytes(_png_bytes(_img(12, 40)))
    with pytest.raises(UserError, match="too small"):
        L.load_galaxy_file(root, 32)
    p = tmp_path / "tiny.npz"
    np.savez(p, images=np.zeros((2, 10, 10, 3), np.uint8), labels=np.array([0, 1]),
             class_names=np.array(list(CLASS_NAMES)))
    with pytest.raises(UserError, match="too small"):
        L.load_galaxy_file(p, 32)


@pytest.mark.parametrize("make", ["nan", "complex", "strings", "int_range", "shape", "labels_len", "labels_float",
                                  "labels_range", "missing_key", "object"])
def test_bad_npz_arrays(tmp_path, make):
    p = tmp_path / "bad.npz"
    imgs = np.zeros((2, 20, 20, 3), np.uint8)
    labels = np.array([0, 1])
    names = np.array(list(CLASS_NAMES))
    if make == "nan":
        imgs = np.full((2, 20, 20, 3), np.nan, np.float32)
    elif make == "complex":
        imgs = imgs.astype(np.complex64)
    elif make == "strings":
        imgs = np.full((2, 20, 20, 3), "x")
    elif make == "int_range":
        imgs = np.full((2, 20, 20, 3), 1000, np.int32)
    elif make == "shape":
        imgs = np.zeros((2, 20, 20, 7), np.uint8)
    elif make == "labels_len":
        labels = np.array([0, 1, 2])
    elif make == "labels_float":
        labels = np.array([0.5, 1.0])
    elif make == "labels_range":
        labels = np.array([0, 7])
    if make == "missing_key":
        np.savez(p, pictures=imgs, labels=labels)
    elif make == "object":
        np.savez(p, images=np.array([imgs[0], "x"], dtype=object), labels=labels, class_names=names)
    else:
        np.savez(p, images=imgs, labels=labels, class_names=names)
    with pytest.raises(UserError):
        L.load_galaxy_file(p, 32)


def test_truncated_npz_and_zip(tmp_path):
    p = tmp_path / "s.npz"
    np.savez(p, images=np.zeros((4, 20, 20, 3), np.uint8), labels=np.array([0, 1, 2, 0]),
             class_names=np.array(list(CLASS_NAMES)))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupt or truncated"):
        L.load_galaxy_file(p, 32)
    z = tmp_path / "g.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("spiral/a.png", _png_bytes(_img()))
    data = z.read_bytes()
    z.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupt or truncated"):
        L.load_galaxy_file(z, 32)


def test_corrupt_h5(tmp_path):
    p = tmp_path / "Galaxy10.h5"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(UserError, match="HDF5"):
        L.load_galaxy_file(p, 32)


def test_h5_without_galaxy10_keys(tmp_path):
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(UserError, match="'images' and 'ans'"):
        L.load_galaxy_file(p, 32)


def test_file_over_size_limit(tmp_path, monkeypatch):
    p = tmp_path / "s.npz"
    np.savez(p, images=np.zeros((4, 20, 20, 3), np.uint8), labels=np.array([0, 1, 2, 0]),
             class_names=np.array(list(CLASS_NAMES)))
    monkeypatch.setattr(L, "MAX_FILE_BYTES", 100)
    with pytest.raises(UserError, match="over the limit"):
        L.load_galaxy_file(p, 32)


def test_too_many_images(tmp_path, monkeypatch):
    root = _folder(tmp_path / "d", n=2)
    monkeypatch.setattr(L, "MAX_IMAGES", 5)
    with pytest.raises(UserError, match="over the limit of 5"):
        L.load_galaxy_file(root, 32)
    assert len(L.load_galaxy_file(root, 32, max_images=3)) == 3


@pytest.mark.parametrize("name", ["../evil.png", "spiral/../../evil.png", "/tmp/evil.png", "C:/evil.png",
                                  "..\\evil.png"])
def test_zip_slip_is_refused(tmp_path, name):
    p = tmp_path / "up" / "g.zip"
    p.parent.mkdir()
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("spiral/a.png", _png_bytes(_img()))
        zf.writestr(name, _png_bytes(_img()))
    before = _snapshot(tmp_path)
    with pytest.raises(UserError, match="outside"):
        L.load_galaxy_file(p, 32)
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "evil.png").exists()


def test_zip_symlink_entry_is_refused(tmp_path):
    p = tmp_path / "g.zip"
    with zipfile.ZipFile(p, "w") as zf:
        info = zipfile.ZipInfo("spiral/link.png")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UserError, match="link"):
        L.load_galaxy_file(p, 32)


def test_zip_bomb_ratio_is_refused(tmp_path):
    p = tmp_path / "bomb.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("spiral/a.png", b"\x00" * (8 * 1024**2))     # 8 MB of zeros -> ~8 kB
    before = _snapshot(tmp_path)
    with pytest.raises(UserError, match="zip bomb"):
        L.load_galaxy_file(p, 32)
    assert _snapshot(tmp_path) == before


def test_zip_bomb_total_size_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "big.zip"
    with zipfile.ZipFile(p, "w") as zf:
        for i in range(3):
            zf.writestr(f"spiral/{i}.png", _png_bytes(_img(64, 64, seed=i)))
    monkeypatch.setattr("autoenc.data.archives.MAX_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(UserError, match="zip bomb"):
        L.load_galaxy_file(p, 32)


def test_unsupported_inputs(tmp_path):
    with pytest.raises(UserError, match="no such"):
        L.load_galaxy_file(tmp_path / "missing.npz", 32)
    t = tmp_path / "notes.txt"
    t.write_text("hello")
    with pytest.raises(UserError, match="unsupported"):
        L.load_galaxy_file(t, 32)
    one = tmp_path / "one.png"
    one.write_bytes(_png_bytes(_img()))
    with pytest.raises(UserError, match="sub-folder per class"):
        L.load_galaxy_file(one, 32)
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros((2, 20, 20, 3), np.uint8))
    with pytest.raises(UserError, match="npz"):
        L.load_galaxy_file(npy, 32)
    empty = tmp_path / "e.npz"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="empty"):
        L.load_galaxy_file(empty, 32)
    with pytest.raises(UserError, match="size"):
        L.load_galaxy_file(tmp_path, 8)


def test_class_index_synonyms():
    assert L.class_index("Barred Spiral") == 0
    assert L.class_index("0_barred") == 0
    assert L.class_index("SMOOTH") == 1
    assert L.class_index("ellipticals") == 1
    assert L.class_index("spiral-galaxy") == 2
    with pytest.raises(UserError, match="accepted|use one of"):
        L.class_index("lenticular")
