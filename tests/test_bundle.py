"""Run bundles (issue 24): export a run, import it into another home with the same curves,
samples and a checkpoint its page can use; refuse bad bundles without writing anything;
the README's snippet runs out of an unpacked bundle; TensorBoard reads the exported events."""
import io
import json
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from autoenc.errors import UserError
from autoenc.registry import get_model
from autoenc.runs import bundle
from autoenc.runs.bundle_import import import_bundle
from autoenc.runs.store import RunStore
from autoenc.trained import load_trained
from tests.conftest import ROOT, run_cli

TINY = {"steps": 6, "eval_every": 2, "n_train": 64, "n_val": 20, "snapshot_seconds": 0.1, "batch_size": 8}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A short denoiser run with curves, snapshots and a checkpoint: (store, run id)."""
    from autoenc.runs.worker import execute
    store = RunStore(tmp_path_factory.mktemp("source-home"))
    run_id, outcome = execute(store, "denoiser", {**TINY, "noise": "uniform", "lr": 5e-4}, threads=1)
    assert outcome.status == "finished"
    return store, run_id


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}


def rezip(files: dict[str, bytes], folder: str = "b") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(f"{folder}/{name}", data)
    return buf.getvalue()


def test_a_run_bundle_holds_everything_the_issue_lists(trained_run):
    store, run_id = trained_run
    made = bundle.export_run(store, run_id)
    files = entries(made.data)
    assert made.name == f"{run_id}.zip"
    assert {"checkpoint.safetensors", "config.json", "metrics.csv", "history.gif", "preview.png", "README.md",
            "bundle.json", "samples/val_traces.png", "history/val_traces.npz"} <= set(files)
    assert json.loads(files["config.json"])["noise"] == "uniform"
    rows = files["metrics.csv"].decode().splitlines()
    assert rows[0] == "step,name,value,time" and len(rows) - 1 == len(store.metric_rows(run_id))
    assert files["history.gif"][:6] == b"GIF89a" and files["preview.png"][:4] == b"\x89PNG"
    readme = files["README.md"].decode()
    # the command that reproduces it names what differs from the defaults
    assert "python -m autoenc train denoiser" in readme and "--noise uniform" in readme and "--lr 0.0005" in readme
    assert "--steps 6" in readme


def test_the_round_trip_gives_the_same_curves_samples_and_a_usable_checkpoint(trained_run, tmp_path):
    store, run_id = trained_run
    here = RunStore(tmp_path / "other-home")
    new_id = import_bundle(here, bundle.export_run(store, run_id).data)
    assert new_id == run_id
    a, b = store.get(run_id), here.get(new_id)
    assert (b.model, b.status, b.step, b.checkpoint_step, b.config) == (a.model, a.status, a.step,
                                                                         a.checkpoint_step, a.config)
    assert here.metric_rows(new_id) == store.metric_rows(run_id)       # the times too: wall-time curves match
    assert here.sample_names(new_id) == store.sample_names(run_id)
    for name in store.sample_names(run_id):
        mine, theirs = store.sample_history(run_id, name), here.sample_history(new_id, name)
        assert [s for s, _ in mine] == [s for s, _ in theirs]
        assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(mine, theirs))
    model = load_trained(here.checkpoint_path(new_id), "denoiser")
    assert model.meta["step"] == a.checkpoint_step
    # imported twice: the second gets an id of its own, the first is untouched
    again = import_bundle(here, bundle.export_run(store, run_id).data)
    assert again != new_id and len(here.list()) == 2


def test_a_shipped_model_downloads_as_a_bundle_and_imports(tmp_path):
    made = bundle.export_shipped("denoiser", "denoiser-galactic.safetensors")
    files = entries(made.data)
    assert "pretrain denoiser --only denoiser-galactic" in files["README.md"].decode()
    assert "metrics.csv" not in files       # made offline: no curves, and the README does not pretend
    store = RunStore(tmp_path / "home")
    run = store.get(import_bundle(store, made.data))
    assert run.model == "denoiser" and run.status == "finished" and run.checkpoint_step > 0
    assert "denoiser-galactic.safetensors" in run.note


def test_a_gan_runs_image_samples_become_pngs_and_a_gif(tmp_path):
    import shutil

    from autoenc.paths import shipped_path
    store = RunStore(tmp_path / "home")
    run_id = store.create_run("gan", {"image_size": 64}, total_steps=10)
    store.run_dir(run_id).mkdir(parents=True)
    shutil.copy(shipped_path("gan-64.safetensors"), store.checkpoint_path(run_id))
    grids = [np.full((20, 30, 3), v, np.uint8) for v in (10, 200)]
    for step, grid in zip((4, 9), grids):
        store.put_sample(run_id, step, "grid", grid)
    store.update(run_id, status="stopped", step=9, checkpoint_step=9)
    files = entries(bundle.export_run(store, run_id).data)
    assert files["samples/grid.png"][:4] == b"\x89PNG" and files["history.gif"][:6] == b"GIF89a"
    from PIL import Image
    assert Image.open(io.BytesIO(files["history.gif"])).n_frames == 2
    assert np.asarray(Image.open(io.BytesIO(files["samples/grid.png"]))).mean() == pytest.approx(200, abs=1)


SNIPPET_MODELS = ("denoiser", "vae", "mae", "gan", "acgan", "classifier")
RUN_EACH = """
import os, runpy, sys
for folder in sys.argv[1:]:
    os.chdir(folder)
    runpy.run_path("use.py", run_name="__main__")
"""


def test_the_readme_snippet_runs_out_of_an_unpacked_bundle(tmp_path):
    """Each model's snippet, copied out of its bundle's README, runs in the bundle's folder in a
    fresh Python that has only the library (one process for all of them: one torch import)."""
    folders = []
    for model in SNIPPET_MODELS:
        made = bundle.export_shipped(model, get_model(model).task_class().shipped_files()[0])
        with zipfile.ZipFile(io.BytesIO(made.data)) as z:
            z.extractall(tmp_path / model)
        folder = next((tmp_path / model).iterdir())
        code = re.search(r"```python\n(.*?)```", (folder / "README.md").read_text(), re.S).group(1)
        assert 6 <= len(code.strip().splitlines()) <= 14, model
        (folder / "use.py").write_text(code)
        folders.append(folder)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", RUN_EACH, *map(str, folders)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    for folder in folders:
        assert (folder / "snippet-output.png").read_bytes()[:4] == b"\x89PNG"
    assert done.stdout.count("snippet-output.png") == len(SNIPPET_MODELS)


def bad(files: dict[str, bytes], **meta) -> bytes:
    info = {"format": bundle.FORMAT, "version": bundle.VERSION, "model": "denoiser", "id": "x", "run": {},
            "samples": [], **meta}
    return rezip({"bundle.json": json.dumps(info).encode(), **files})


@pytest.fixture(scope="module")
def good_files(trained_run):
    store, run_id = trained_run
    return entries(bundle.export_run(store, run_id).data)


def refused(store: RunStore, data: bytes, why: str) -> None:
    before = sorted(p.name for p in store.dir.iterdir())
    with pytest.raises(UserError, match=why):
        import_bundle(store, data)
    assert store.list() == [] and sorted(p.name for p in store.dir.iterdir()) == before   # nothing written


def test_bad_bundles_are_refused_with_a_reason_and_leave_nothing(good_files, tmp_path):
    store = RunStore(tmp_path / "home")
    ckpt = {"checkpoint.safetensors": good_files["checkpoint.safetensors"]}
    refused(store, b"not a zip at all", "not a readable zip")
    refused(store, good_files["README.md"], "not a readable zip")
    refused(store, bad(ckpt, model="gan"), "gan")                      # says gan, holds a denoiser
    refused(store, bad(ckpt, model="transformer"), "does not have")
    refused(store, bad(ckpt, version=99), "version 99")
    refused(store, bad(ckpt, format="something"), "not say it is an autoenc bundle")
    refused(store, bad({"checkpoint.safetensors": b"\x00" * 100}), "checkpoint")
    refused(store, bad({**ckpt, "weights.pkl": b"\x80\x04K\x01."}), "pickle")
    refused(store, bad({**ckpt, "notes.txt": b"hi"}), "not part of an autoenc bundle")
    refused(store, bad({}), "no checkpoint.safetensors")
    # a pickled object array in a history file
    buf = io.BytesIO()
    np.savez(buf, steps=np.array([1]), a0=np.array([{"x": 1}], dtype=object))
    refused(store, bad({**ckpt, "history/grid.npz": buf.getvalue()}, samples=["grid"]), "pickled")
    # entries leaving the folder
    for evil in ("../evil.json", "/etc/evil.json", "b/../../evil.json", "b\\..\\evil.json"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("b/bundle.json", json.dumps({"format": bundle.FORMAT, "version": 1, "model": "denoiser"}))
            z.writestr("b/checkpoint.safetensors", ckpt["checkpoint.safetensors"])
            z.writestr(evil, b"{}")
        refused(store, buf.getvalue(), "outside the bundle's folder")
    assert not (tmp_path / "evil.json").exists()
    # two folders
    refused(store, _two_folders(ckpt), "exactly one folder")


def _two_folders(ckpt) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a/bundle.json", b"{}")
        z.writestr("b/checkpoint.safetensors", ckpt["checkpoint.safetensors"])
    return buf.getvalue()


def test_an_oversized_or_corrupt_entry_is_refused(good_files, tmp_path, monkeypatch):
    from autoenc.runs import bundle_import
    store = RunStore(tmp_path / "home")
    monkeypatch.setattr(bundle_import, "MAX_MEMBER", 1000)
    refused(store, bad({**good_files, "metrics.csv": b"step,name,value,time\n" + b"1,a,1,1\n" * 500}), "over the")
    # bytes changed in transit: the entry's CRC no longer matches
    data = bad({"checkpoint.safetensors": good_files["checkpoint.safetensors"]})
    corrupt = data.replace(good_files["checkpoint.safetensors"][200:260], b"\x00" * 60)
    assert corrupt != data
    refused(store, corrupt, "not a readable zip")


def test_the_cli_exports_and_imports(trained_run, tmp_path, capsys):
    from autoenc.cli import main
    store, run_id = trained_run
    out = tmp_path / "b.zip"
    done = run_cli("runs", "export", run_id, "--out", out, home=store.home)     # as a user types it
    assert done.returncode == 0, done.stderr
    elsewhere = ["--home", str(tmp_path / "elsewhere")]
    assert main(["runs", "import", str(out), *elsewhere]) == 0
    assert f"run {run_id}: imported" in capsys.readouterr().out
    assert main(["runs", "import", str(tmp_path / "missing.zip"), *elsewhere]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "junk.zip").write_bytes(b"PK junk")
    assert main(["runs", "import", str(tmp_path / "junk.zip"), *elsewhere]) == 2
    err = capsys.readouterr().err
    assert "not imported" in err and "Traceback" not in err
    assert main(["runs", "export", "gan-64", "--out", str(tmp_path / "g.zip"), *elsewhere]) == 0     # a shipped file
    assert zipfile.is_zipfile(tmp_path / "g.zip")


def test_the_tensorboard_export_reads_back_with_tensorboards_reader(trained_run, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from autoenc.runs.tensorboard_export import export_tensorboard
    store, run_id = trained_run
    folder = export_tensorboard(store, run_id, tmp_path / "tb")
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    rows = store.metric_rows(run_id)
    for name in {n for _, n, _, _ in rows}:
        mine = [(s, v) for s, n, v, _ in rows if n == name]
        theirs = [(e.step, e.value) for e in events.Scalars(name)]
        assert [s for s, _ in theirs] == [s for s, _ in mine]
        assert np.allclose([v for _, v in theirs], [v for _, v in mine], rtol=1e-6)
    images = events.Images("samples/val_traces")
    assert [i.step for i in images] == [s for s, _ in store.sample_history(run_id, "val_traces")]
    assert images[0].width > 0 and images[0].encoded_image_string[:4] == b"\x89PNG"
