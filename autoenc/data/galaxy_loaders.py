"""Galaxy images that users bring, turned into a `GalaxySet` at a chosen size.

Accepted (see `load_galaxy_file`, which dispatches on content, then suffix):
  * `.npz` with `images` (N, H, W, 3) uint8, `labels` (N,) integers and `class_names`;
  * a folder with one sub-folder per class, holding images;
  * a `.zip` with one sub-folder per class (read in memory; nothing is extracted);
  * Galaxy10 DECaLS `.h5` (`images` N x 256 x 256 x 3 uint8, `ans`): barred spiral = 5,
    elliptical = 2 and 3, spiral = 6 and 7, other classes dropped;
  * Galaxy10 SDSS `.h5` (69 x 69 px): elliptical = 1 and 2, spiral = 7, 8 and 9; it has
    no barred class, which the result's warnings say.
Every image is centre-cropped to a square and resized with PIL to size x size RGB.
Class names are matched to ours through synonyms ("barred", "smooth", ...). Problems a
user can fix raise `UserError` with one clear line; things worth knowing but not fatal
(grey images converted, alpha dropped, a class missing) go to `GalaxySet.warnings`.
Nothing is unpickled: arrays are read with allow_pickle=False.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path, PurePosixPath

import h5py
import numpy as np

from autoenc.data.archives import check_zip_members, read_member
from autoenc.data.galaxy_images import (IMAGE_SUFFIXES, as_uint8_images, check_size,
                                        class_index, galaxy_set, notes_to_warnings, open_image, resize_array)
from autoenc.data.galaxy_set import CLASS_NAMES, GalaxySet
from autoenc.errors import UserError

MAX_FILE_BYTES = 200 * 1024**2          # npz, zip and single images
MAX_H5_BYTES = 4 * 1024**3              # Galaxy10 files are read in slices (DECaLS is 2.7 GB)
MAX_IMAGES = 50_000                     # images in one data set
H5_SLICE = 256                          # Galaxy10 images decoded per read

SUPPORTED = ".npz, .zip (one sub-folder per class), .h5 (Galaxy10 DECaLS or SDSS) or a folder with one sub-folder per class"

# Galaxy10 answers -> our class index (0 barred spiral, 1 elliptical, 2 spiral)
GALAXY10_DECALS = {5: 0, 2: 1, 3: 1, 6: 2, 7: 2}
GALAXY10_SDSS = {1: 1, 2: 1, 7: 2, 8: 2, 9: 2}

# --------------------------------------------------------------------------- loaders

def load_npz(path: str | os.PathLike, size: int = 64, max_images: int | None = None) -> GalaxySet:
    """`.npz` with `images`, `labels` and `class_names` (names matched through synonyms)."""
    size = check_size(size)
    path = _existing_file(path, MAX_FILE_BYTES)
    what = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip_members(zf, what)
        with np.load(path, allow_pickle=False) as d:
            keys = set(d.files)
            if "images" not in keys or "labels" not in keys:
                raise UserError(f"{what}: needs arrays 'images' and 'labels' (and 'class_names'); found {sorted(keys)}")
            images = d["images"]
            labels = d["labels"]
            names = d["class_names"] if "class_names" in keys else None
    except UserError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise UserError(f"{what}: holds Python objects, which are never loaded; save plain arrays "
                            "(images uint8, labels int, class_names str)") from None
        raise UserError(f"{what}: corrupt or truncated npz ({e})") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise UserError(f"{what}: corrupt or truncated npz ({e})") from None
    notes: dict = {}
    warnings: list[str] = []
    images = as_uint8_images(images, what, notes)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and labels.ndim == 1 and np.all(np.isfinite(labels)) \
                and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise UserError(f"{what}: labels must be a 1-D array of whole numbers, got dtype {labels.dtype}, "
                            f"shape {labels.shape}")
    if len(labels) != len(images):
        raise UserError(f"{what}: {len(images)} images but {len(labels)} labels")
    if names is None:
        names_list = list(CLASS_NAMES)
        warnings.append("no class_names in the file: labels read as 0 barred spiral, 1 elliptical, 2 spiral")
    else:
        if names.dtype.kind not in "US" or names.ndim != 1:
            raise UserError(f"{what}: class_names must be a 1-D array of strings, got dtype {names.dtype}")
        names_list = [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in names.tolist()]
    labels = labels.astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= len(names_list)):
        raise UserError(f"{what}: labels must lie in 0-{len(names_list) - 1} (one per class name), "
                        f"found {labels.min()} to {labels.max()}")
    mapping = np.array([class_index(n) for n in names_list], dtype=np.int64)
    labels = mapping[labels] if len(labels) else labels
    images, labels = _limit(images, labels, max_images, what, warnings)
    images = resize_array(images, size, notes)
    return galaxy_set(images, labels, f"{what} ({len(labels)} images)", notes_to_warnings(notes) + warnings)


def load_image_folder(folder: str | os.PathLike, size: int = 64, max_images: int | None = None) -> GalaxySet:
    """A folder with one sub-folder per class (names matched through synonyms)."""
    size = check_size(size)
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"{folder}: no such folder")
    root = _descend_single(root)
    entries: dict[str, list[Path]] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p.name)):
        files = [p for p in sorted(sub.rglob("*")) if p.is_file() and not any(_hidden(x) for x in p.relative_to(sub).parts)]
        entries[sub.name] = files
    what = root.name or str(root)
    items = _plan(entries, what, max_images)

    def read(p: Path) -> bytes:
        if p.is_symlink():
            raise UserError(f"{p.name}: symbolic links are not followed")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise UserError(f"{p.name}: {p.stat().st_size / 1024**2:,.0f} MB is over the limit of "
                            f"{MAX_FILE_BYTES // 1024**2} MB per file")
        return p.read_bytes()
    return _decode_items(items, read, size, what)


def load_zip(path: str | os.PathLike, size: int = 64, max_images: int | None = None) -> GalaxySet:
    """A zip with one sub-folder per class, read in memory (nothing is extracted)."""
    size = check_size(size)
    path = _existing_file(path, MAX_FILE_BYTES)
    what = path.name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise UserError(f"{what}: not a readable zip archive (corrupt or truncated: {e})") from None
    with zf:
        infos = check_zip_members(zf, what)
        files = [i for i in infos if not i.is_dir()]
        parts = {i.filename: PurePosixPath(i.filename.replace("\\", "/")).parts for i in files}
        files = [i for i in files if not any(_hidden(x) for x in parts[i.filename])]
        # a single top-level folder around the class folders is allowed
        prefix: tuple = ()
        tops = {parts[i.filename][0] for i in files if len(parts[i.filename]) > 1}
        if len(tops) == 1 and all(len(parts[i.filename]) > 2 for i in files):
            top = next(iter(tops))
            try:
                class_index(top)
            except UserError:
                prefix = (top,)
        entries: dict[str, list[zipfile.ZipInfo]] = {}
        loose = 0
        for i in files:
            rel = parts[i.filename][len(prefix):]
            if len(rel) < 2:
                loose += 1
                continue
            entries.setdefault(rel[0], []).append(i)
        for i in infos:                                   # empty class folders are directory entries
            if i.is_dir():
                rel = PurePosixPath(i.filename.replace("\\", "/")).parts[len(prefix):]
                if len(rel) == 1 and not _hidden(rel[0]):
                    entries.setdefault(rel[0], [])
        if not entries:
            raise UserError(f"{what}: expected one sub-folder per class (e.g. barred_spiral/, elliptical/, spiral/)")
        items = _plan(entries, what, max_images)
        gs = _decode_items(items, lambda info: read_member(zf, info, what), size, what,
                           name_of=lambda info: info.filename)
    if loose:
        gs.warnings.append(f"{loose} file(s) outside the class folders were ignored")
    return gs


def load_galaxy10_h5(path: str | os.PathLike, size: int = 64, max_images: int | None = None) -> GalaxySet:
    """Galaxy10 DECaLS (256 px) or SDSS (69 px) `.h5` with `images` and `ans`."""
    size = check_size(size)
    path = _existing_file(path, MAX_H5_BYTES)
    what = path.name
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as e:
        raise UserError(f"{what}: not a readable HDF5 file (corrupt or truncated: {e})") from None
    with f:
        for key in ("images", "ans"):
            if key not in f or not isinstance(f[key], h5py.Dataset):
                raise UserError(f"{what}: a Galaxy10 file needs datasets 'images' and 'ans'; found {sorted(f.keys())}")
        ds, ans_ds = f["images"], f["ans"]
        if ds.dtype.kind not in "uif" or ans_ds.dtype.kind not in "iuf":
            raise UserError(f"{what}: Galaxy10 'images' and 'ans' must be numeric, got {ds.dtype} and {ans_ds.dtype}")
        if ds.ndim != 4 or ds.shape[-1] != 3 or ans_ds.ndim != 1 or ans_ds.shape[0] != ds.shape[0]:
            raise UserError(f"{what}: expected images (N, H, W, 3) and ans (N,), got {ds.shape} and {ans_ds.shape}")
        side = int(ds.shape[1])
        if side >= 128:
            mapping, survey = GALAXY10_DECALS, "Galaxy10 DECaLS"
        else:
            mapping, survey = GALAXY10_SDSS, "Galaxy10 SDSS"
        warnings: list[str] = []
        if side not in (69, 256):
            warnings.append(f"images of {side} px: read with the {survey} class numbering")
        try:
            ans = np.asarray(ans_ds[()])
        except (OSError, ValueError) as e:
            raise UserError(f"{what}: 'ans' cannot be read (corrupt or truncated: {e})") from None
        if ans.dtype.kind == "f" and not np.all(np.isfinite(ans)):
            raise UserError(f"{what}: 'ans' contains NaN or infinite values")
        ans = ans.astype(np.int64)
        keep = np.flatnonzero(np.isin(ans, list(mapping)))
        labels = np.array([mapping[a] for a in ans[keep]], dtype=np.int64)
        if survey == "Galaxy10 SDSS":
            warnings.append("Galaxy10 SDSS has no barred spiral class: the set holds ellipticals and spirals only")
        dropped = len(ans) - len(keep)
        if dropped:
            warnings.append(f"{dropped:,} images of other Galaxy10 classes (mergers, edge-on, cigar-shaped, ...) were dropped")
        keep, labels = _limit(keep, labels, max_images, what, warnings)
        notes: dict = {}
        out = np.empty((len(keep), size, size, 3), np.uint8)
        for start in range(0, len(keep), H5_SLICE):
            idx = keep[start:start + H5_SLICE]
            try:
                lo, hi = int(idx[0]), int(idx[-1]) + 1
                if hi - lo <= 2 * len(idx):
                    block = np.asarray(ds[lo:hi])[idx - lo]     # one contiguous read, then pick
                else:
                    block = np.asarray(ds[idx.tolist()])        # sparse: read just these rows
            except (OSError, ValueError, RuntimeError) as e:
                raise UserError(f"{what}: images cannot be read (corrupt or truncated: {e})") from None
            block = as_uint8_images(block, what, notes)
            out[start:start + len(idx)] = resize_array(block, size, notes)
    return galaxy_set(out, labels, f"{what} ({survey}, {len(labels)} images)", notes_to_warnings(notes) + warnings)


def load_galaxy_file(path: str | os.PathLike, size: int = 64, max_images: int | None = None) -> GalaxySet:
    """Load any supported galaxy data set, dispatching on content (then suffix).

    max_images: take an evenly spaced subset of at most this many images (with a warning);
    without it, a data set of more than MAX_IMAGES images is refused.
    """
    p = Path(path)
    if p.is_dir():
        return load_image_folder(p, size, max_images)
    if not p.exists():
        raise UserError(f"{path}: no such file or folder")
    if not p.is_file():
        raise UserError(f"{path}: not a regular file")
    with open(p, "rb") as fh:
        head = fh.read(8)
    suffix = p.suffix.lower()
    if head.startswith(b"\x89HDF\r\n\x1a\n") or suffix in (".h5", ".hdf5", ".hdf"):
        return load_galaxy10_h5(p, size, max_images)
    if head.startswith(b"\x93NUMPY"):
        raise UserError(f"{p.name}: a .npy holds one array; save images, labels and class_names together "
                        "with numpy.savez into a .npz")
    if head.startswith(b"PK") or suffix in (".npz", ".zip"):
        if _is_npz(p):
            return load_npz(p, size, max_images)
        return load_zip(p, size, max_images)
    if suffix in IMAGE_SUFFIXES:
        raise UserError(f"{p.name}: a single image has no class; put images in one sub-folder per class and zip them")
    raise UserError(f"{p.name}: unsupported file; use {SUPPORTED}")


# --------------------------------------------------------------------------- plumbing

def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX" or name == "Thumbs.db" or name == "desktop.ini"


def _descend_single(root: Path) -> Path:
    """A folder holding just one non-class folder (as unzipped archives often do): go in."""
    subs = [p for p in root.iterdir() if not _hidden(p.name)]
    if len(subs) == 1 and subs[0].is_dir() and any(p.is_dir() for p in subs[0].iterdir()):
        try:
            class_index(subs[0].name)
        except UserError:
            return subs[0]
    return root


def _is_npz(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        if path.suffix.lower() == ".npz":
            return True                                   # let load_npz name the damage
        raise UserError(f"{path.name}: not a readable zip archive (corrupt or truncated)") from None
    return bool(names) and all(n.endswith(".npy") for n in names)


def _existing_file(path, limit: int) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{path}: no such file")
    n = p.stat().st_size
    if n > limit:
        raise UserError(f"{p.name}: {n / 1024**2:,.0f} MB is over the limit of {limit // 1024**2:,} MB")
    if n == 0:
        raise UserError(f"{p.name}: the file is empty")
    return p


def _limit(a, labels, max_images, what, warnings):
    """Enforce MAX_IMAGES, or subsample evenly to max_images when asked."""
    n = len(labels)
    if max_images is not None:
        if not isinstance(max_images, (int, np.integer)) or max_images < 1:
            raise UserError(f"max_images must be a positive whole number, got {max_images!r}")
        cap = min(int(max_images), MAX_IMAGES)
        if n > cap:
            pick = np.linspace(0, n - 1, cap).round().astype(np.int64)
            warnings.append(f"{what}: took {cap:,} of {n:,} images (evenly spaced)")
            return a[pick], labels[pick]
        return a, labels
    if n > MAX_IMAGES:
        raise UserError(f"{what}: {n:,} images is over the limit of {MAX_IMAGES:,}; pass max_images to take a subset")
    return a, labels


def _plan(entries: dict, what: str, max_images):
    """(item, class index) for every image file, after checking class folders."""
    if not entries:
        raise UserError(f"{what}: expected one sub-folder per class (e.g. barred_spiral/, elliptical/, spiral/)")
    items, labels = [], []
    seen: dict[int, str] = {}
    ignored = 0
    for folder, files in entries.items():
        try:
            idx = class_index(folder)
        except UserError as e:
            raise UserError(f"{what}: class folder {folder!r}: {e}") from None
        if idx in seen:
            raise UserError(f"{what}: folders {seen[idx]!r} and {folder!r} both mean {CLASS_NAMES[idx]}; merge them")
        seen[idx] = folder
        imgs = [f for f in files if _suffix(f) in IMAGE_SUFFIXES]
        ignored += len(files) - len(imgs)
        if not imgs:
            raise UserError(f"{what}: class folder {folder!r} holds no images (.png, .jpg, ...)")
        items.extend(imgs)
        labels.extend([idx] * len(imgs))
    items_arr = np.empty(len(items), dtype=object)
    items_arr[:] = items
    warnings: list[str] = []
    if ignored:
        warnings.append(f"{ignored} file(s) that are not images (.png, .jpg, ...) were ignored")
    items_arr, labels_arr = _limit(items_arr, np.asarray(labels, np.int64), max_images, what, warnings)
    return list(items_arr), labels_arr, warnings


def _suffix(f) -> str:
    name = f.filename if isinstance(f, zipfile.ZipInfo) else f.name
    return PurePosixPath(name.replace("\\", "/")).suffix.lower()


def _decode_items(plan, read, size: int, what: str, name_of=lambda p: str(p.name)) -> GalaxySet:
    items, labels, warnings = plan
    notes: dict = {}
    out = np.empty((len(items), size, size, 3), np.uint8)
    for k, item in enumerate(items):
        out[k] = open_image(read(item), name_of(item), size, notes)
    return galaxy_set(out, labels, f"{what} ({len(labels)} images)", notes_to_warnings(notes) + warnings)
