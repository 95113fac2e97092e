"""Checkpoints a user points at, run stores that are damaged, and a run that diverges."""
from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import numpy as np

from autoenc.errors import UserError
from autoenc.paths import shipped_path
from autoenc.reliability.bad_inputs import case
from autoenc.reliability.bad_inputs.cli import cli
from autoenc.reliability.bad_inputs.files import home_of, payload, zip_bytes
from autoenc.runs import launcher
from autoenc.runs.schema import SCHEMA_VERSION
from autoenc.runs.store import RunStore
from autoenc.runs.worker import execute
from autoenc.trained import load_trained


def _write(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def load(path: Path, model: str) -> str:
    load_trained(path, model)
    return "loaded"


@case("checkpoint", "is not a checkpoint")
def checkpoint_pickle_payload(tmp):
    return load(_write(tmp, "evil.safetensors", payload(tmp)), "denoiser")


@case("checkpoint", "is not a checkpoint")
def checkpoint_torch_save_zip(tmp):
    # what torch.save writes: a zip holding a pickle; torch.load would run it
    return load(_write(tmp, "model.pt", zip_bytes({"archive/data.pkl": payload(tmp)})), "denoiser")


@case("checkpoint", "is a checkpoint of 'denoiser', not of 'vae'")
def checkpoint_of_another_model(tmp):
    return load(shipped_path("denoiser-galactic.safetensors"), "vae")


@case("checkpoint", "is corrupt")
def checkpoint_truncated(tmp):
    data = (shipped_path("denoiser-galactic.safetensors")).read_bytes()
    return load(_write(tmp, "cut.safetensors", data[: len(data) // 2]), "denoiser")


@case("checkpoint", "is not a checkpoint")
def checkpoint_header_lies_about_size(tmp):
    return load(_write(tmp, "lie.safetensors", struct.pack("<Q", 10**12) + b"{}"), "denoiser")


@case("checkpoint", "checkpoint not found")
def checkpoint_missing_file(tmp):
    return load(tmp / "nope.safetensors", "denoiser")


@case("checkpoint", "is a checkpoint of 'denoiser', not of 'vae'")
def cli_eval_checkpoint_of_another_model(tmp):
    return cli(tmp, "eval", "vae", "--checkpoint", str(shipped_path("denoiser-galactic.safetensors")))


@case("checkpoint", "is not a checkpoint")
def cli_eval_pickle_checkpoint(tmp):
    return cli(tmp, "eval", "denoiser", "--checkpoint", str(_write(tmp, "evil.safetensors", payload(tmp))))


@case("store", "not a readable SQLite database")
def store_not_sqlite(tmp):
    (home_of(tmp) / "runs").mkdir(exist_ok=True)
    (home_of(tmp) / "runs" / "runs.sqlite").write_text("not a database " * 200)
    RunStore(home_of(tmp)).list()
    return "opened"


@case("store", "not a readable SQLite database")
def store_is_a_folder(tmp):
    (home_of(tmp) / "runs" / "runs.sqlite").mkdir(parents=True)
    RunStore(home_of(tmp)).list()
    return "opened"


@case("store", "written by a newer autoenc")
def store_from_a_newer_schema(tmp):
    (home_of(tmp) / "runs").mkdir(exist_ok=True)
    with sqlite3.connect(home_of(tmp) / "runs" / "runs.sqlite") as db:
        db.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, shape BLOB)")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    RunStore(home_of(tmp)).list()
    return "opened"


@case("store", "started again from step 0", accepted=True)
def resume_without_checkpoint(tmp):
    """A run killed before its first checkpoint is queued again from step 0, not refused."""
    store = RunStore(home_of(tmp))
    rid = store.create_run("denoiser", {"steps": 10}, total_steps=10)
    store.update(rid, status="interrupted", step=7)
    launcher.prepare_resume(store, rid)
    run = store.get(rid)
    assert run.status == "queued" and run.checkpoint_step is None, run
    return run.note


# -- training that diverges ------------------------------------------------------------------

@case("training", "training diverged")
def learning_rate_making_the_loss_nan(tmp):
    """A real VAE run at lr 1: the loss becomes NaN within a few steps."""
    store = RunStore(home_of(tmp))
    rid, outcome = execute(store, "vae", {"image_size": 32, "n_images": 64, "batch_size": 8, "eval_every": 20,
                                          "checkpoint_every": 1, "lr": 1.0, "steps": 200}, threads=1)
    run = store.get(rid)
    values = store.metric_series(rid, "loss")[1]
    assert np.isfinite(values).all(), "a NaN reached the stored curve"
    if outcome.status == "failed" and run.status == "failed" and "diverged" in (run.error or ""):
        raise UserError(run.error)
    raise AssertionError(f"the run ended {outcome.status}: {outcome.message}")
