"""Import a run bundle (bundle.py) into this store: its curves, samples and checkpoint.

A bundle comes from another machine, so nothing in it is trusted: it must be a zip whose
entries all sit in one folder with the names a bundle has (no path leaving the folder, no
pickles: arrays load with allow_pickle=False and weights are safetensors), each entry within
its size limit (read with a cap, so a lying header cannot fill the disk), of this bundle
version, of a model this app knows, with a checkpoint of that same model. Everything is
checked and unpacked into a scratch folder inside the store before the run is added; a
refused bundle leaves nothing behind.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from autoenc.errors import CheckpointError, UserError
from autoenc.registry import MODELS
from autoenc.runs.bundle import FORMAT, RUN_FIELDS, VERSION
from autoenc.runs.bundle_use import CHECKPOINT
from autoenc.runs.checkpoint import MAX_BYTES, load_checkpoint
from autoenc.runs.run import STATUSES
from autoenc.runs.store import RunStore

MAX_MEMBER = 256 * 1024**2          # any entry but a checkpoint
MAX_TOTAL = 3 * 1024**3
ALLOWED = re.compile(r"(bundle\.json|config\.json|metrics\.csv|README\.md|history\.gif|preview\.png|"
                     r"(checkpoint|best)\.safetensors|history/[\w.-]+\.npz|samples/[\w.-]+\.png)")
RUN_ID = re.compile(r"[\w.-]{1,80}")


def _refuse(why: str):
    raise UserError(f"this bundle was not imported: {why}")


def _members(z: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The entries by their name inside the bundle's one folder, every name checked."""
    out, folders, total = {}, set(), 0
    for info in z.infolist():
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith("/") or "\\" in name or ".." in parts or re.match(r"[A-Za-z]:", name):
            _refuse(f"its entry {name!r} would be written outside the bundle's folder")
        if info.is_dir():
            continue
        if len(parts) < 2:
            _refuse(f"its entry {name!r} is not inside the bundle's folder")
        folders.add(parts[0])
        inner = "/".join(parts[1:])
        if inner.endswith((".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt")):
            _refuse(f"it holds {inner!r}, a pickle: bundles carry weights only as safetensors")
        if not ALLOWED.fullmatch(inner):
            _refuse(f"it holds {inner!r}, which is not part of an autoenc bundle")
        limit = MAX_BYTES if inner.endswith(".safetensors") else MAX_MEMBER
        if info.file_size > limit:
            _refuse(f"its entry {inner!r} is {info.file_size / 1024**2:,.0f} MB, over the {limit / 1024**2:,.0f} MB "
                    "an entry may have")
        total += info.file_size
        out[inner] = info
    if len(folders) != 1:
        _refuse("a bundle holds exactly one folder" + (f", not {len(folders)}" if folders else ", and this one is empty"))
    if total > MAX_TOTAL:
        _refuse(f"it unpacks to {total / 1024**3:.1f} GB, over the {MAX_TOTAL / 1024**3:.0f} GB allowed")
    for need in ("bundle.json", CHECKPOINT):
        if need not in out:
            _refuse(f"it has no {need}")
    return out


def _read(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, at most its declared size (a zip bomb's header cannot lie past it)."""
    with z.open(info) as f:
        data = f.read(info.file_size + 1)
    if len(data) != info.file_size:
        _refuse(f"its entry {info.filename!r} is not the size its header says")
    return data


def _json(data: bytes, what: str) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        _refuse(f"its {what} is not valid JSON")
    if not isinstance(value, dict):
        _refuse(f"its {what} is not a JSON object")
    return value


def _history(data: bytes, name: str) -> list[tuple[int, np.ndarray]]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            steps = npz["steps"]
            return [(int(s), npz[f"a{i}"]) for i, s in enumerate(steps)]
    except ValueError as e:
        if "pickle" in str(e).lower():
            _refuse(f"its history of {name!r} holds pickled objects")
        _refuse(f"its history of {name!r} is not a readable array file ({e})")
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        _refuse(f"its history of {name!r} is not a readable array file ({e})")


def _metrics(data: bytes) -> list[tuple[int, str, float | None, float]]:
    try:
        rows = list(csv.reader(io.StringIO(data.decode())))
        if not rows or rows[0] != ["step", "name", "value", "time"]:
            _refuse("its metrics.csv does not start with the header step,name,value,time")
        return [(int(s), n, float(v) if v not in ("", "None") else None, float(t)) for s, n, v, t in rows[1:]]
    except (ValueError, UnicodeDecodeError):
        _refuse("its metrics.csv has a row that is not step,name,value,time")


def read_bundle(source) -> tuple[dict, dict[str, bytes]]:
    """(bundle.json, {entry name: bytes}) of a checked bundle (a path, bytes or a file)."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        with zipfile.ZipFile(source) as z:
            members = _members(z)
            files = {name: _read(z, info) for name, info in members.items()}
    except zipfile.BadZipFile as e:
        _refuse(f"it is not a readable zip file ({e})")
    except (OSError, EOFError, RuntimeError, zlib.error) as e:     # truncated, encrypted, unreadable
        _refuse(f"it could not be read ({type(e).__name__}: {e})")
    info = _json(files["bundle.json"], "bundle.json")
    if info.get("format") != FORMAT:
        _refuse("its bundle.json does not say it is an autoenc bundle")
    if info.get("version") != VERSION:
        _refuse(f"it is a bundle of version {info.get('version')!r}; this autoenc reads version {VERSION}")
    if info.get("model") not in MODELS:
        _refuse(f"it is of the model {info.get('model')!r}, which this autoenc does not have "
                f"(it knows {', '.join(MODELS)})")
    return info, files


def import_bundle(store: RunStore, source) -> str:
    """Add the bundle's run to the store; returns its id here (its own, unless that is taken)."""
    if store.read_only:
        raise UserError(store.read_only)
    info, files = read_bundle(source)
    model = info["model"]
    run = info.get("run") if isinstance(info.get("run"), dict) else {}
    config = _json(files["config.json"], "config.json") if "config.json" in files else {}
    metrics = _metrics(files["metrics.csv"]) if "metrics.csv" in files else []
    samples = [(step, name, a) for name in info.get("samples", [])
               if f"history/{name}.npz" in files for step, a in _history(files[f"history/{name}.npz"], name)]
    wanted = str(info.get("id", ""))
    with tempfile.TemporaryDirectory(dir=store.dir, prefix=".import-") as tmp:
        metas = {}
        for name in (CHECKPOINT, "best.safetensors"):
            if name in files:
                (Path(tmp) / name).write_bytes(files[name])
                try:
                    metas[name] = load_checkpoint(Path(tmp) / name, expect_model=model)[1]
                except CheckpointError as e:
                    _refuse(f"its {name}: {e}")
        meta = metas[CHECKPOINT]
        step = int(meta.get("step", run.get("step") or 0))
        fields = {k: run[k] for k in RUN_FIELDS if run.get(k) is not None}
        if fields.get("status") not in STATUSES or fields["status"] in ("queued", "running"):
            fields["status"] = "stopped"        # it trains nowhere here; Resume goes on from its checkpoint
            fields.setdefault("end_reason", "request")
        fields["checkpoint_step"] = step
        fields["note"] = f"imported from a bundle of {wanted or 'a run'}" + (f": {run['note']}" if run.get("note") else "")
        run_id = store.create_run(model, config or meta.get("config", {}),
                                  wanted if RUN_ID.fullmatch(wanted) and not _taken(store, wanted) else None,
                                  total_steps=fields.pop("total_steps", None))
        store.update(run_id, **fields)
        try:
            store.add_history(run_id, metrics, samples)
            store.run_dir(run_id).mkdir(parents=True, exist_ok=True)
            for name in (CHECKPOINT, "best.safetensors"):
                if (Path(tmp) / name).exists():
                    target = store.checkpoint_path(run_id) if name == CHECKPOINT else store.best_checkpoint_path(run_id)
                    shutil.move(Path(tmp) / name, target)
        except BaseException:
            store.delete(run_id)
            shutil.rmtree(store.run_dir(run_id), ignore_errors=True)
            raise
    return run_id


def _taken(store: RunStore, run_id: str) -> bool:
    try:
        store.get(run_id)
        return True
    except UserError:
        return False
