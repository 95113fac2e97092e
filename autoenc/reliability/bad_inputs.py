"""Bad input, case by case, through the same entry points the pages and the CLI use.

Each case builds its bad input in a scratch folder and feeds it in. It is *handled* when
  - the entry point refuses it with a UserError whose message is one clear paragraph
    (or, for a file name or a duplicate, accepts it safely, as the case says),
  - nothing is written outside the run-store home, no upload is left half-stored in
    the datasets folder, and data already there is unchanged,
  - and no pickle payload ever ran.
Any other exception is a defect: the page would show a traceback.
"""
from __future__ import annotations

import contextlib
import io
import os
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from autoenc.errors import UserError

CLASS_DIRS = ("barred spiral", "elliptical", "spiral")
PAYLOAD_MARK = "pickle_payload_ran"


@dataclass(frozen=True)
class Case:
    name: str
    area: str                                  # upload | radio | cli | settings | checkpoint | store | training
    run: Callable[[Path], str]                 # returns the message a user sees
    accepted: bool = False                     # True: the input is made safe rather than refused


CASES: list[Case] = []


def case(area: str, accepted: bool = False):
    def register(fn):
        CASES.append(Case(fn.__name__, area, fn, accepted))
        return fn
    return register


@dataclass
class Outcome:
    case: str
    area: str
    handled: bool
    message: str


# -- building bad files ----------------------------------------------------------------------

def png(w: int = 40, h: int = 40, mode: str = "RGB", seed: int = 0) -> bytes:
    from PIL import Image
    a = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a, "RGB").convert(mode).save(buf, "PNG")
    return buf.getvalue()


def zip_bytes(entries: dict[str, bytes], compress: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def good_zip(n: int = 2) -> dict[str, bytes]:
    return {f"{c}/g{i}.png": png(seed=k * 10 + i) for k, c in enumerate(CLASS_DIRS) for i in range(n)}


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def good_npz(**override) -> bytes:
    arrays = {"images": np.zeros((3, 20, 20, 3), np.uint8), "labels": np.array([0, 1, 2]),
              "class_names": np.array(["barred spiral", "elliptical", "spiral"])}
    arrays.update(override)
    return npz_bytes(**{k: v for k, v in arrays.items() if v is not None})


class _Payload:
    """Unpickling this writes a marker file: the proof that a pickle ran."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def payload(folder: Path) -> bytes:
    return pickle.dumps(_Payload(str(folder / PAYLOAD_MARK)))


def home_of(tmp: Path) -> Path:
    h = tmp / "home"
    h.mkdir(exist_ok=True)
    return h


# -- uploads of galaxy sets (the Datasets page calls import_upload) ---------------------------

def upload(tmp: Path, filename: str, data: bytes) -> str:
    from autoenc.data.datasets import import_upload
    name, gs = import_upload(home_of(tmp), filename, data)
    return f"stored as {name!r} ({len(gs)} images)"


@case("upload")
def corrupt_png_in_zip(tmp):
    e = good_zip()
    e["spiral/g0.png"] = b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def truncated_png_in_zip(tmp):
    e = good_zip()
    e["spiral/g0.png"] = e["spiral/g0.png"][: len(e["spiral/g0.png"]) // 2]
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def truncated_jpeg_in_zip(tmp):
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(buf, "JPEG")
    e = good_zip()
    e["elliptical/cut.jpg"] = buf.getvalue()[:300]
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def truncated_zip(tmp):
    data = zip_bytes(good_zip())
    return upload(tmp, "set.zip", data[: len(data) // 2])


@case("upload")
def truncated_npz(tmp):
    data = good_npz()
    return upload(tmp, "set.npz", data[: len(data) // 2])


@case("upload")
def random_bytes_named_npz(tmp):
    return upload(tmp, "set.npz", os.urandom(4000))


@case("upload")
def empty_file(tmp):
    return upload(tmp, "set.npz", b"")


@case("upload")
def zip_bomb_by_ratio(tmp):
    e = good_zip()
    e["spiral/bomb.png"] = b"\0" * (50 * 1024**2)          # 50 MB of zeros deflate to ~50 kB
    return upload(tmp, "bomb.zip", zip_bytes(e))


@case("upload")
def npz_bomb(tmp):
    images = np.zeros((1000, 128, 128, 3), np.uint8)        # 49 MB of zeros deflate to ~50 kB
    buf = io.BytesIO()
    np.savez_compressed(buf, images=images, labels=np.zeros(1000, np.int64))
    return upload(tmp, "bomb.npz", buf.getvalue())


@case("upload")
def zip_entry_climbing_out(tmp):
    e = good_zip()
    e["../../outside.png"] = png()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def zip_entry_absolute_path(tmp):
    e = good_zip()
    e["/tmp/outside.png"] = png()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def zip_entry_windows_path(tmp):
    e = good_zip()
    e["..\\..\\outside.png"] = png()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def zip_symlink_entry(tmp):
    buf = io.BytesIO(zip_bytes(good_zip()))
    with zipfile.ZipFile(buf, "a") as z:
        info = zipfile.ZipInfo("spiral/link.png")
        info.external_attr = (0o120777 << 16)                # a symbolic link to /etc/passwd
        z.writestr(info, "/etc/passwd")
    return upload(tmp, "set.zip", buf.getvalue())


@case("upload")
def image_too_small(tmp):
    e = good_zip()
    e["spiral/tiny.png"] = png(4, 4)
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def image_too_many_pixels(tmp):
    from PIL import Image
    buf = io.BytesIO()
    Image.new("L", (9000, 9000)).save(buf, "PNG")            # 81 M pixels, ~80 kB compressed
    e = good_zip()
    e["spiral/huge.png"] = buf.getvalue()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def empty_class_folder(tmp):
    e = {k: v for k, v in good_zip().items() if not k.startswith("elliptical/")}
    e["elliptical/"] = b""
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def zip_without_class_folders(tmp):
    return upload(tmp, "set.zip", zip_bytes({"a.png": png(), "b.png": png(seed=1)}))


@case("upload")
def unknown_class_folder(tmp):
    e = good_zip()
    e["irregular/g0.png"] = png()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def two_folders_for_one_class(tmp):
    e = good_zip()
    e["barred/g9.png"] = png()
    return upload(tmp, "set.zip", zip_bytes(e))


@case("upload")
def zip_of_text_files(tmp):
    return upload(tmp, "set.zip", zip_bytes({f"{c}/readme.txt": b"hello" for c in CLASS_DIRS}))


@case("upload")
def npz_without_images(tmp):
    return upload(tmp, "set.npz", good_npz(images=None))


@case("upload")
def npz_five_channels(tmp):
    return upload(tmp, "set.npz", good_npz(images=np.zeros((3, 20, 20, 5), np.uint8)))


@case("upload")
def npz_flat_images(tmp):
    return upload(tmp, "set.npz", good_npz(images=np.zeros((3, 400), np.uint8)))


@case("upload")
def npz_nan_images(tmp):
    return upload(tmp, "set.npz", good_npz(images=np.full((3, 20, 20, 3), np.nan, np.float32)))


@case("upload")
def npz_string_images(tmp):
    return upload(tmp, "set.npz", good_npz(images=np.full((3, 20, 20, 3), "x")))


@case("upload")
def npz_labels_wrong_length(tmp):
    return upload(tmp, "set.npz", good_npz(labels=np.array([0, 1])))


@case("upload")
def npz_label_out_of_range(tmp):
    return upload(tmp, "set.npz", good_npz(labels=np.array([0, 1, 7])))


@case("upload")
def npz_unknown_class_name(tmp):
    return upload(tmp, "set.npz", good_npz(class_names=np.array(["barred spiral", "merger", "spiral"])))


@case("upload")
def npz_with_pickled_objects(tmp):
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = _Payload(str(tmp / PAYLOAD_MARK)), "x"
    return upload(tmp, "set.npz", npz_bytes(images=obj, labels=np.array([0, 1])))


@case("upload")
def npz_raw_pickle(tmp):
    return upload(tmp, "set.npz", payload(tmp))


@case("upload")
def unsupported_file_type(tmp):
    return upload(tmp, "set.exe", b"MZ" + os.urandom(100))


@case("upload")
def over_the_size_limit(tmp):
    from autoenc.data.galaxy_loaders import MAX_FILE_BYTES
    return upload(tmp, "big.npz", bytes(MAX_FILE_BYTES + 1))


@case("upload")
def corrupt_h5(tmp):
    return upload(tmp, "Galaxy10.h5", b"\x89HDF\r\n\x1a\n" + os.urandom(2000))


@case("upload")
def h5_without_galaxy10_arrays(tmp):
    import h5py
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["pictures"] = np.zeros((2, 20, 20, 3), np.uint8)
    return upload(tmp, "Galaxy10.h5", buf.getvalue())


@case("upload", accepted=True)
def file_name_climbing_out(tmp):
    msg = upload(tmp, "../../../../etc/evil.npz", good_npz())
    from autoenc.data.datasets import list_sets
    assert "evil" in list_sets(home_of(tmp)), "the set should be stored under its sanitised name"
    return msg


@case("upload", accepted=True)
def same_name_uploaded_twice(tmp):
    from autoenc.data.datasets import list_sets, load_set
    upload(tmp, "mine.npz", good_npz())
    second = upload(tmp, "mine.npz", good_npz(labels=np.array([2, 2, 2])))
    sets = list_sets(home_of(tmp))
    assert "mine" in sets and "mine-2" in sets, f"the second upload replaced the first: {sets}"
    assert load_set(home_of(tmp), "mine", 32).labels.tolist() == [0, 1, 2], "the first upload changed"
    return second


# -- the Denoiser page's radio_data.npz upload ------------------------------------------------

def radio_upload(data: bytes, name: str = "radio_data.npz") -> str:
    from autoenc.data.radio import load_radio_npz
    f = io.BytesIO(data)
    f.name = name
    rs = load_radio_npz(f)
    return f"read {len(rs.traces)} traces"


@case("radio")
def radio_not_npz(tmp):
    return radio_upload(b"traces,signals\n1,2\n")


@case("radio")
def radio_missing_signals(tmp):
    return radio_upload(npz_bytes(traces=np.zeros((4, 500), np.float32)))


@case("radio")
def radio_wrong_trace_length(tmp):
    return radio_upload(npz_bytes(traces=np.zeros((4, 400)), signals=np.zeros((4, 400))))


@case("radio")
def radio_nan_values(tmp):
    t = np.zeros((4, 500))
    t[1, 7] = np.nan
    return radio_upload(npz_bytes(traces=t, signals=np.zeros((4, 500))))


@case("radio")
def radio_counts_differ(tmp):
    return radio_upload(npz_bytes(traces=np.zeros((4, 500)), signals=np.zeros((3, 500))))


@case("radio")
def radio_pickled_objects(tmp):
    obj = np.empty(1, dtype=object)
    obj[0] = _Payload(str(tmp / PAYLOAD_MARK))
    return radio_upload(npz_bytes(traces=obj, signals=np.zeros((1, 500))))


@case("radio")
def radio_truncated(tmp):
    data = npz_bytes(traces=np.ones((50, 500)), signals=np.ones((50, 500)))
    return radio_upload(data[: len(data) - 300])


# -- the command line -----------------------------------------------------------------------

def cli(tmp: Path, *argv: str) -> str:
    """Run `python -m autoenc ARGV` in-process; a refusal is exit code 2 and one line."""
    from autoenc.cli import main
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main([*argv, *(["--home", str(home_of(tmp))] if _takes_home(argv) else [])])
    lines = err.getvalue().strip().splitlines()
    if code == 2 and len(lines) == 1 and lines[0].startswith("autoenc: error: "):
        raise UserError(lines[0][len("autoenc: error: "):])
    raise AssertionError(f"exit {code}, stderr {err.getvalue()[-300:]!r}")


def _takes_home(argv) -> bool:
    return bool(argv) and (argv[0] == "train" or (argv[0] == "runs" and len(argv) > 1))


for _name, _argv in {
    "cli_unknown_model": ("train", "nosuchmodel"),
    "cli_lr_not_a_number": ("train", "denoiser", "--lr", "abc"),
    "cli_lr_negative": ("train", "denoiser", "--lr", "-1"),
    "cli_lr_nan": ("train", "denoiser", "--lr", "nan"),
    "cli_steps_zero": ("train", "denoiser", "--steps", "0"),
    "cli_steps_fractional": ("train", "denoiser", "--steps", "2.5"),
    "cli_batch_too_large": ("train", "denoiser", "--batch-size", "100000"),
    "cli_unknown_noise": ("train", "denoiser", "--noise", "pink"),
    "cli_max_seconds_negative": ("train", "denoiser", "--max-seconds", "-5"),
    "cli_epochs_negative": ("train", "denoiser", "--epochs", "-1"),
    "cli_resume_without_run_id": ("train", "denoiser", "--resume"),
    "cli_gan_image_size_not_offered": ("train", "gan", "--image-size", "48"),
    "cli_wgan_with_batchnorm": ("train", "wgan-gp", "--critic-norm", "batch"),
    "cli_betas_not_numbers": ("train", "gan", "--betas", "a,b"),
    "cli_betas_out_of_range": ("train", "gan", "--betas", "1.5,0.9"),
    "cli_vae_unknown_arch": ("train", "vae", "--arch", "transformer"),
    "cli_stop_unknown_run": ("runs", "stop", "nope"),
    "cli_resume_unknown_run": ("runs", "resume", "nope"),
    "cli_delete_unknown_run": ("runs", "delete", "nope"),
    "cli_limit_zero": ("runs", "limit", "0"),
    "cli_unknown_command": ("frobnicate",),
    "cli_eval_missing_checkpoint": ("eval", "denoiser", "--checkpoint", "/nonexistent/x.safetensors"),
}.items():
    CASES.append(Case(_name, "cli", (lambda argv: lambda tmp: cli(tmp, *argv))(_argv)))


# -- settings, as the pages pass them -------------------------------------------------------

def settings(model: str, values: dict) -> str:
    from autoenc.registry import get_model
    from autoenc.train.task import config_from_dict
    config_from_dict(get_model(model).task_class().Config, values)
    return "accepted"


for _name, (_model, _values) in {
    "setting_unknown_name": ("denoiser", {"learning_rate": 0.1}),
    "setting_text_for_number": ("denoiser", {"lr": "fast"}),
    "setting_infinite_lr": ("vae", {"lr": float("inf")}),
    "setting_none_for_steps": ("gan", {"steps": None}),
    "setting_snr_range_reversed": ("denoiser", {"snr_min": 20.0, "snr_max": 2.0}),
    "setting_vae_image_size": ("vae", {"image_size": 100}),
    "setting_beta_negative": ("vae", {"beta": -1.0}),
    "setting_gp_lambda_huge": ("wgan-gp", {"gp_lambda": 1e9}),
    "setting_div_power_zero": ("wgan-div", {"div_p": 0.0}),
    "setting_n_critic_zero": ("wgan-gp", {"n_critic": 0}),
}.items():
    CASES.append(Case(_name, "settings", (lambda m, v: lambda tmp: settings(m, v))(_model, _values)))


# -- checkpoints and the run store ----------------------------------------------------------

def _write(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def load(path: Path, model: str) -> str:
    from autoenc.train.pretrain import load_trained
    load_trained(path, model)
    return "loaded"


@case("checkpoint")
def checkpoint_pickle_payload(tmp):
    return load(_write(tmp, "evil.safetensors", payload(tmp)), "denoiser")


@case("checkpoint")
def checkpoint_torch_save_zip(tmp):
    # what torch.save writes: a zip holding a pickle; torch.load would run it
    return load(_write(tmp, "model.pt", zip_bytes({"archive/data.pkl": payload(tmp)})), "denoiser")


@case("checkpoint")
def checkpoint_of_another_model(tmp):
    from autoenc.paths import PRETRAINED_DIR
    return load(PRETRAINED_DIR / "denoiser-galactic.safetensors", "vae")


@case("checkpoint")
def checkpoint_truncated(tmp):
    from autoenc.paths import PRETRAINED_DIR
    data = (PRETRAINED_DIR / "denoiser-galactic.safetensors").read_bytes()
    return load(_write(tmp, "cut.safetensors", data[: len(data) // 2]), "denoiser")


@case("checkpoint")
def checkpoint_header_lies_about_size(tmp):
    return load(_write(tmp, "lie.safetensors", struct.pack("<Q", 10**12) + b"{}"), "denoiser")


@case("checkpoint")
def checkpoint_missing_file(tmp):
    return load(tmp / "nope.safetensors", "denoiser")


@case("checkpoint")
def cli_eval_checkpoint_of_another_model(tmp):
    from autoenc.paths import PRETRAINED_DIR
    return cli(tmp, "eval", "vae", "--checkpoint", str(PRETRAINED_DIR / "denoiser-galactic.safetensors"))


@case("checkpoint")
def cli_eval_pickle_checkpoint(tmp):
    return cli(tmp, "eval", "denoiser", "--checkpoint", str(_write(tmp, "evil.safetensors", payload(tmp))))


@case("store")
def store_not_sqlite(tmp):
    from autoenc.runs.store import RunStore
    (home_of(tmp) / "runs").mkdir(exist_ok=True)
    (home_of(tmp) / "runs" / "runs.sqlite").write_text("not a database " * 200)
    RunStore(home_of(tmp)).list()
    return "opened"


@case("store")
def store_is_a_folder(tmp):
    from autoenc.runs.store import RunStore
    (home_of(tmp) / "runs" / "runs.sqlite").mkdir(parents=True)
    RunStore(home_of(tmp)).list()
    return "opened"


@case("store")
def resume_without_checkpoint(tmp):
    from autoenc.runs import launcher
    from autoenc.runs.store import RunStore
    store = RunStore(home_of(tmp))
    rid = store.create_run("denoiser", {}, total_steps=10)
    store.update(rid, status="interrupted")
    launcher.resume_run(store, rid)
    return "resumed"


# -- training that diverges ------------------------------------------------------------------

@case("training")
def learning_rate_making_the_loss_nan(tmp):
    """A real VAE run at lr 1: the loss becomes NaN within a few steps."""
    from autoenc.runs.store import RunStore
    from autoenc.runs.worker import execute
    store = RunStore(home_of(tmp))
    rid, outcome = execute(store, "vae", {"image_size": 32, "n_images": 64, "batch_size": 8, "eval_every": 20,
                                          "checkpoint_every": 1, "lr": 1.0, "steps": 200}, threads=1)
    run = store.get(rid)
    values = store.metric_series(rid, "loss")[1]
    assert np.isfinite(values).all(), "a NaN reached the stored curve"
    if outcome.status == "failed" and run.status == "failed" and "diverged" in (run.error or ""):
        raise UserError(run.error)
    raise AssertionError(f"the run ended {outcome.status}: {outcome.message}")


# -- running the cases -----------------------------------------------------------------------

def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def try_case(c: Case, tmp: Path) -> Outcome:
    """Run one case in an empty folder `tmp` and judge it."""
    tmp.mkdir(parents=True, exist_ok=True)
    home = home_of(tmp)
    keep = home / "datasets" / "kept.npz"                       # data a user already had
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_bytes(good_npz())
    before = _files(home)
    problems = []
    try:
        message = c.run(tmp)
        refused = False
    except UserError as e:
        message, refused = str(e), True
    except Exception as e:  # noqa: BLE001 - anything else would be a traceback on a page
        return Outcome(c.name, c.area, False, f"{type(e).__name__}: {e}"[:300])
    if refused == c.accepted:
        problems.append("accepted a bad input" if not refused else "refused an input it should make safe")
    if not message.strip() or "Traceback" in message:
        problems.append("no clear message")
    if (tmp / PAYLOAD_MARK).exists() or Path("/tmp", PAYLOAD_MARK).exists():
        problems.append("a pickle payload ran")
    after = _files(home)
    if any(before[k] != after.get(k) for k in before):
        problems.append("data that was there before changed or vanished")
    incoming = home / "datasets" / "incoming"
    if incoming.exists() and any(incoming.iterdir()):
        problems.append("an upload was left in the incoming folder")
    if refused and c.area == "upload" and set(after) - set(before):
        problems.append(f"a refused upload wrote {sorted(set(after) - set(before))}")
    outside = [str(p) for p in tmp.parent.glob("outside*")] + [str(p) for p in Path("/tmp").glob("outside.png")]
    if outside:
        problems.append(f"wrote outside the data folder: {outside}")
    return Outcome(c.name, c.area, not problems, message if not problems else "; ".join(problems) + f" ({message[:200]})")


def try_all(root: Path, echo=None) -> list[Outcome]:
    outcomes = []
    for i, c in enumerate(CASES):
        o = try_case(c, Path(root) / f"{i:03d}-{c.name}")
        outcomes.append(o)
        if echo and not o.handled:
            echo(f"bad input {c.name}: NOT HANDLED: {o.message}")
    return outcomes
