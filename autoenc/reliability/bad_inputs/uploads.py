"""Galaxy sets uploaded on the Datasets page (it calls import_upload)."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from autoenc.data.datasets import import_upload, list_sets, load_set
from autoenc.data.galaxy_loaders import MAX_FILE_BYTES
from autoenc.reliability.bad_inputs import case
from autoenc.reliability.bad_inputs.files import (
    CLASS_DIRS,
    PAYLOAD_MARK,
    Payload,
    good_npz,
    good_zip,
    home_of,
    npz_bytes,
    payload,
    png,
    zip_bytes,
)


def upload(tmp: Path, filename: str, data: bytes) -> str:
    name, gs = import_upload(home_of(tmp), filename, data)
    return f"stored as {name!r} ({len(gs)} images)"


@case("upload", "not a readable image")
def corrupt_png_in_zip(tmp):
    e = good_zip()
    e["spiral/g0.png"] = b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "not a readable image")
def truncated_png_in_zip(tmp):
    e = good_zip()
    e["spiral/g0.png"] = e["spiral/g0.png"][: len(e["spiral/g0.png"]) // 2]
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "not a readable image")
def truncated_jpeg_in_zip(tmp):
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(buf, "JPEG")
    e = good_zip()
    e["elliptical/cut.jpg"] = buf.getvalue()[:300]
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "not a readable zip archive")
def truncated_zip(tmp):
    data = zip_bytes(good_zip())
    return upload(tmp, "set.zip", data[: len(data) // 2])


@case("upload", "corrupt or truncated npz")
def truncated_npz(tmp):
    data = good_npz()
    return upload(tmp, "set.npz", data[: len(data) // 2])


@case("upload", "corrupt or truncated npz")
def random_bytes_named_npz(tmp):
    return upload(tmp, "set.npz", os.urandom(4000))


@case("upload", "the file is empty")
def empty_file(tmp):
    return upload(tmp, "set.npz", b"")


@case("upload", "possible zip bomb")
def zip_bomb_by_ratio(tmp):
    e = good_zip()
    e["spiral/bomb.png"] = b"\0" * (50 * 1024**2)          # 50 MB of zeros deflate to ~50 kB
    return upload(tmp, "bomb.zip", zip_bytes(e))


@case("upload", "possible zip bomb")
def npz_bomb(tmp):
    images = np.zeros((1000, 128, 128, 3), np.uint8)        # 49 MB of zeros deflate to ~50 kB
    buf = io.BytesIO()
    np.savez_compressed(buf, images=images, labels=np.zeros(1000, np.int64))
    return upload(tmp, "bomb.npz", buf.getvalue())


@case("upload", "points outside the archive")
def zip_entry_climbing_out(tmp):
    e = good_zip()
    e["../../outside.png"] = png()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "points outside the archive")
def zip_entry_absolute_path(tmp):
    e = good_zip()
    e[str(tmp.parent.resolve() / "outside.png")] = png()   # an absolute path beside the case
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "points outside the archive")
def zip_entry_windows_path(tmp):
    e = good_zip()
    e["..\\..\\outside.png"] = png()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "symbolic link")
def zip_symlink_entry(tmp):
    buf = io.BytesIO(zip_bytes(good_zip()))
    with zipfile.ZipFile(buf, "a") as z:
        info = zipfile.ZipInfo("spiral/link.png")
        info.external_attr = (0o120777 << 16)                # a symbolic link to /etc/passwd
        z.writestr(info, "/etc/passwd")
    return upload(tmp, "set.zip", buf.getvalue())


@case("upload", "too small")
def image_too_small(tmp):
    e = good_zip()
    e["spiral/tiny.png"] = png(4, 4)
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "too large")
def image_too_many_pixels(tmp):
    buf = io.BytesIO()
    Image.new("L", (9000, 9000)).save(buf, "PNG")            # 81 M pixels, ~80 kB compressed
    e = good_zip()
    e["spiral/huge.png"] = buf.getvalue()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "holds no images")
def empty_class_folder(tmp):
    e = {k: v for k, v in good_zip().items() if not k.startswith("elliptical/")}
    e["elliptical/"] = b""
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "one sub-folder per class")
def zip_without_class_folders(tmp):
    return upload(tmp, "set.zip", zip_bytes({"a.png": png(), "b.png": png(seed=1)}))


@case("upload", "unknown galaxy class 'irregular'")
def unknown_class_folder(tmp):
    e = good_zip()
    e["irregular/g0.png"] = png()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "both mean barred spiral")
def two_folders_for_one_class(tmp):
    e = good_zip()
    e["barred/g9.png"] = png()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload", "holds no images")
def zip_of_text_files(tmp):
    return upload(tmp, "set.zip", zip_bytes({f"{c}/readme.txt": b"hello" for c in CLASS_DIRS}))


@case("upload", "needs arrays 'images' and 'labels'")
def npz_without_images(tmp):
    return upload(tmp, "set.npz", good_npz(images=None))


@case("upload", "1, 3 or 4 channels")
def npz_five_channels(tmp):
    return upload(tmp, "set.npz", good_npz(images=np.zeros((3, 20, 20, 5), np.uint8)))


@case("upload", "must have shape (N, H, W, 3)")
def npz_flat_images(tmp):
    return upload(tmp, "set.npz", good_npz(images=np.zeros((3, 400), np.uint8)))


@case("upload", "NaN or infinite")
def npz_nan_images(tmp):
    return upload(tmp, "set.npz", good_npz(images=np.full((3, 20, 20, 3), np.nan, np.float32)))


@case("upload", "must be numbers")
def npz_string_images(tmp):
    return upload(tmp, "set.npz", good_npz(images=np.full((3, 20, 20, 3), "x")))


@case("upload", "3 images but 2 labels")
def npz_labels_wrong_length(tmp):
    return upload(tmp, "set.npz", good_npz(labels=np.array([0, 1])))


@case("upload", "labels must lie in 0-2")
def npz_label_out_of_range(tmp):
    return upload(tmp, "set.npz", good_npz(labels=np.array([0, 1, 7])))


@case("upload", "unknown galaxy class 'merger'")
def npz_unknown_class_name(tmp):
    return upload(tmp, "set.npz", good_npz(class_names=np.array(["barred spiral", "merger", "spiral"])))


@case("upload", "Python objects, which are never loaded")
def npz_with_pickled_objects(tmp):
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = Payload(str(tmp / PAYLOAD_MARK)), "x"
    return upload(tmp, "set.npz", npz_bytes(images=obj, labels=np.array([0, 1])))


@case("upload", "corrupt or truncated npz")
def npz_raw_pickle(tmp):
    return upload(tmp, "set.npz", payload(tmp))


@case("upload", "unsupported file type")
def unsupported_file_type(tmp):
    return upload(tmp, "set.exe", b"MZ" + os.urandom(100))


@case("upload", "over the limit")
def over_the_size_limit(tmp):
    return upload(tmp, "big.npz", bytes(MAX_FILE_BYTES + 1))


@case("upload", "not a readable HDF5 file")
def corrupt_h5(tmp):
    return upload(tmp, "Galaxy10.h5", b"\x89HDF\r\n\x1a\n" + os.urandom(2000))


@case("upload", "needs datasets 'images' and 'ans'")
def h5_without_galaxy10_arrays(tmp):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["pictures"] = np.zeros((2, 20, 20, 3), np.uint8)
    return upload(tmp, "Galaxy10.h5", buf.getvalue())


@case("upload", "stored as 'evil'", accepted=True)
def file_name_climbing_out(tmp):
    msg = upload(tmp, "../../../../etc/evil.npz", good_npz())
    assert "evil" in list_sets(home_of(tmp)), "the set should be stored under its sanitised name"
    return msg


@case("upload", "stored as 'mine-2'", accepted=True)
def same_name_uploaded_twice(tmp):
    upload(tmp, "mine.npz", good_npz())
    second = upload(tmp, "mine.npz", good_npz(labels=np.array([2, 2, 2])))
    sets = list_sets(home_of(tmp))
    assert "mine" in sets and "mine-2" in sets, f"the second upload replaced the first: {sets}"
    assert load_set(home_of(tmp), "mine", 32).labels.tolist() == [0, 1, 2], "the first upload changed"
    return second
