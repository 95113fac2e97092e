"""The Datasets page (AppTest) and the import of user galaxy sets."""
import io
import zipfile

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from autoenc.data import datasets
from autoenc.errors import UserError


def small_zip(n_per_class=3, size=40) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buf, "w") as zf:
        for cls in ("barred spiral", "elliptical", "spiral"):
            for i in range(n_per_class):
                im = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
                b = io.BytesIO()
                im.save(b, format="PNG")
                zf.writestr(f"{cls}/{i}.png", b.getvalue())
    return buf.getvalue()


def test_import_upload_stores_a_named_set(home):
    name, gs = datasets.import_upload(home, "../../evil name!.zip", small_zip())
    assert name == "evil-name" and len(gs) == 9
    assert (home / "datasets" / "evil-name.npz").exists()
    assert not any((home / "datasets" / "incoming").iterdir()), "the uploaded bytes are not kept"
    loaded = datasets.load_set(home, "evil-name", size=32)
    assert loaded.images.shape == (9, 32, 32, 3) and sorted(np.bincount(loaded.labels)) == [3, 3, 3]
    assert datasets.list_sets(home) == ["rendered", "evil-name"]


@pytest.mark.parametrize("filename, data, says", [
    ("x.exe", b"MZ", "unsupported file type"),
    ("x.zip", b"PK\x03\x04 truncated", "x.zip: not a readable zip"),
    ("x.npz", b"not a zip at all", "x.npz: corrupt or truncated"),
])
def test_bad_uploads_are_refused_and_leave_nothing(home, filename, data, says):
    with pytest.raises(UserError, match=says):
        datasets.import_upload(home, filename, data)
    assert datasets.list_sets(home) == ["rendered"]
    incoming = home / "datasets" / "incoming"
    assert not incoming.exists() or not any(incoming.iterdir())


def test_datasets_page_renders_and_switches_class(home):
    at = AppTest.from_file("../pages/datasets.py", default_timeout=180).run()
    assert not at.exception
    assert "rendered" in at.caption[0].value or any("rendered" in c.value for c in at.caption)
    captions = [i.proto.imgs[0].caption for i in at.get("image")]
    assert "40 of 200 barred spiral images" in captions
    at.segmented_control(key="galaxy_class").set_value("elliptical").run()
    assert not at.exception
    assert "40 of 200 elliptical images" in [i.proto.imgs[0].caption for i in at.get("image")]


def test_datasets_page_lists_imported_set_and_activates_it(home):
    datasets.import_upload(home, "mine.zip", small_zip())
    at = AppTest.from_file("../pages/datasets.py", default_timeout=180).run()
    at.selectbox(key="galaxy_set").select("mine").run()
    assert not at.exception
    at.button(key="activate").click().run()
    assert at.session_state["_training_set"] == "mine"              # this session's choice
