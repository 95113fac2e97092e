"""A run bundle: one zip that carries a run (or a shipped model) to another machine.

Inside one folder named after the run:
  bundle.json             what it is: format, version, model, the run's record, sample names
  checkpoint.safetensors  the weights (the run's last checkpoint; best.safetensors too if kept)
  config.json             the config the run trained with
  metrics.csv             a row per logged value: step, name, value, time (unix seconds)
  history/NAME.npz        the kept snapshots of a sample: steps, and arrays a0, a1, ... (no pickles)
  samples/NAME.png        the latest snapshot of each image-like sample
  history.gif             every kept snapshot of the page's history sample, animated
  preview.png             what the README's snippet draws from the checkpoint
  README.md               the command that reproduces the run, and the snippet

Importing one back (bundle_import.py) checks all of it before anything is written.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoenc.animation import history_gif, trace_frame
from autoenc.errors import UserError
from autoenc.images import to_png
from autoenc.paths import shipped_path
from autoenc.registry import MODELS, get_model
from autoenc.runs import launcher
from autoenc.runs.bundle_use import CHECKPOINT, run_snippet, snippet
from autoenc.runs.checkpoint import read_meta
from autoenc.runs.store import RunStore

FORMAT = "autoenc-bundle"
VERSION = 1
RUN_FIELDS = ("status", "created", "started", "ended", "step", "total_steps", "checkpoint_step", "max_seconds",
              "end_reason", "critic_steps", "note")


@dataclass(frozen=True)
class Bundle:
    name: str            # the zip's file name
    data: bytes


def is_image(a: np.ndarray) -> bool:
    return a.ndim == 3 and a.shape[-1] == 3 and a.dtype == np.uint8


def is_traces(a: np.ndarray) -> bool:
    """Denoiser examples: (n traces, [noisy, truth, output], samples)."""
    return a.ndim == 3 and a.shape[1] == 3 and not is_image(a)


def sample_png(array: np.ndarray) -> bytes | None:
    """A snapshot as a PNG: an image as it is, traces drawn as lines, anything else not."""
    a = np.asarray(array)
    return to_png(a) if is_image(a) else to_png(trace_frame(a)) if is_traces(a) else None


def readme(title: str, model: str, config: dict, command: str, made_by: str, contents: list[str]) -> str:
    return "\n".join([
        f"# {title}", "", made_by, "",
        "## Reproduce it", "", "```bash", command, "```", "",
        *use_section(model, config),
        "## What is in this bundle", "", *[f"- `{c}`" for c in contents], "",
        f"Import it into another autoenc store with `python -m autoenc runs import {title}.zip` "
        "or on the Runs page.", ""])


def use_section(model: str, config: dict) -> list[str]:
    code = snippet(model, config).rstrip()
    if not code:
        return []
    return ["## Use the checkpoint", "",
            "With the autoenc library installed (`pip install -r requirements.txt` in its repository), "
            "run this next to `checkpoint.safetensors`:", "", "```python", code, "```", ""]


def _zip(folder: str, files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, data in files.items():
            # the checkpoint's weights hardly compress: store them
            kind = zipfile.ZIP_STORED if name.endswith(".safetensors") else zipfile.ZIP_DEFLATED
            z.writestr(f"{folder}/{name}", data, compress_type=kind)
    return buf.getvalue()


def _npz(kept: list[tuple[int, np.ndarray]]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, steps=np.array([s for s, _ in kept], dtype=np.int64),
                        **{f"a{i}": np.asarray(a) for i, (_, a) in enumerate(kept)})
    return buf.getvalue()


def _preview(model: str, config: dict, checkpoint: Path) -> dict[str, bytes]:
    """preview.png: what the README's snippet draws (nothing for a model without one)."""
    if not snippet(model, config).strip():
        return {}
    with contextlib.redirect_stdout(io.StringIO()):     # the snippet prints what it drew
        return {"preview.png": run_snippet(model, config, checkpoint)}


def export_run(store: RunStore, run_id: str) -> Bundle:
    run = store.get(run_id)
    checkpoint = store.checkpoint_path(run_id)
    if not checkpoint.exists():
        raise UserError(f"run {run_id} has no checkpoint yet: let it train until it saves one (at least "
                        "every 30 s, and when it stops), then export it")
    task = get_model(run.model).task_class()
    files: dict[str, bytes] = {CHECKPOINT: checkpoint.read_bytes()}
    if store.best_checkpoint_path(run_id).exists():
        files["best.safetensors"] = store.best_checkpoint_path(run_id).read_bytes()
    files["config.json"] = json.dumps(run.config, indent=1).encode()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(("step", "name", "value", "time"))
    writer.writerows(store.metric_rows(run_id))
    files["metrics.csv"] = text.getvalue().encode()
    names = store.sample_names(run_id)
    for name in names:
        kept = store.sample_history(run_id, name)
        files[f"history/{name}.npz"] = _npz(kept)
        png = sample_png(kept[-1][1])
        if png is not None:
            files[f"samples/{name}.png"] = png
        if name == task.history_sample:
            files["history.gif"] = history_gif([s for s, _ in kept], [a for _, a in kept],
                                               traces=is_traces(kept[-1][1]))
    files.update(_preview(run.model, run.config, checkpoint))
    record = {k: getattr(run, k) for k in RUN_FIELDS}
    files["bundle.json"] = json.dumps({"format": FORMAT, "version": VERSION, "model": run.model, "id": run.id,
                                       "run": record, "samples": names}, indent=1).encode()
    command = launcher.user_command(run.model, {**run.config, "steps": run.total_steps or run.config.get("steps")},
                                    run.max_seconds)
    made = (f"Run `{run.id}` of the {get_model(run.model).title}: {run.status} at step {run.step:,}"
            f"{' of ' + format(run.total_steps, ',') if run.total_steps else ''}, checkpoint at step "
            f"{run.checkpoint_step or 0:,}.")
    files["README.md"] = readme(run.id, run.model, run.config, command, made, sorted([*files, "README.md"])).encode()
    return Bundle(f"{run.id}.zip", _zip(run.id, files))


def export_shipped(model: str, file: str) -> Bundle:
    """A shipped checkpoint as a bundle: no curves or history (it was made offline), the
    command that remakes it, and the snippet's samples."""
    path = shipped_path(file)
    if not path.exists():
        raise UserError(f"the shipped checkpoint {file} is not in {path.parent}: make it with "
                        f"`python -m autoenc pretrain {model}`")
    meta = read_meta(path)
    config = meta.get("config", {})
    name = f"{model}-shipped-{Path(file).stem}"
    files = {CHECKPOINT: path.read_bytes(), "config.json": json.dumps(config, indent=1).encode(),
             **_preview(model, config, path)}
    files["bundle.json"] = json.dumps({"format": FORMAT, "version": VERSION, "model": model, "id": name,
                                       "run": {"status": "finished", "step": int(meta.get("step", 0)),
                                               "checkpoint_step": int(meta.get("step", 0)),
                                               "note": f"the shipped checkpoint {file}"},
                                       "samples": []}, indent=1).encode()
    made = f"The shipped {get_model(model).title} checkpoint `{file}`, trained for {int(meta.get('step', 0)):,} steps."
    command = f"python -m autoenc pretrain {model} --only {Path(file).stem}"
    files["README.md"] = readme(name, model, config, command, made, sorted([*files, "README.md"])).encode()
    return Bundle(f"{name}.zip", _zip(name, files))


def export_any(store: RunStore, name: str) -> Bundle:
    """A run by its id, or a shipped checkpoint by its file name (with or without .safetensors)."""
    file = name if name.endswith(".safetensors") else name + ".safetensors"
    for spec in MODELS.values():
        if file in spec.task_class().shipped_files():
            return export_shipped(spec.name, file)
    return export_run(store, name)
