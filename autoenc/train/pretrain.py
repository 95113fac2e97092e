"""`python -m autoenc pretrain MODEL`: remake the model's shipped checkpoints from its plan
(Task.pretrain_plan), each in a scratch run store, and keep their weights (no optimiser)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from autoenc.errors import CheckpointError, UserError
from autoenc.paths import shipped_dir
from autoenc.registry import get_model
from autoenc.runs.checkpoint import load_checkpoint, save_checkpoint
from autoenc.runs.store import RunStore
from autoenc.runs.worker import execute
from autoenc.train.task import stage_settings


def pretrain(model: str, only: str | None = None, out_dir: Path | None = None):
    """Train each planned file (or those whose name contains `only`); yields (path, outcome)."""
    out_dir = Path(out_dir or shipped_dir())
    plan = get_model(model).task_class().pretrain_plan()
    if not plan:
        raise UserError(f"{model} ships no checkpoint, so there is nothing to pretrain")
    for item in plan:
        if only and only not in item.file:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            store = RunStore(Path(tmp))
            run_id, outcome = execute(store, model, item.settings, max_seconds=item.max_seconds, progress=True)
            for stage in item.then:
                if outcome.status != "finished":
                    break
                run = store.get(run_id)
                changed = {k: v for k, v in stage_settings(stage).items() if k != "steps"}
                store.update(run_id, config={**run.config, **changed})
                best = store.best_checkpoint_path(run_id)
                if stage.get("from_best") and best.exists():
                    best.replace(store.checkpoint_path(run_id))     # resume reads the run's checkpoint
                # what is shipped is the best of the last stage's last third, not of an earlier one
                best.unlink(missing_ok=True)
                _, outcome = execute(store, model, {"steps": stage["steps"]}, run_id=run_id, resume=True,
                                     max_seconds=item.max_seconds, progress=True)
            if outcome.status != "finished":   # failed, or stopped (Ctrl-C, SIGTERM): keep the shipped file
                raise CheckpointError(f"pretraining {item.file} {outcome.status} at step {outcome.step}"
                                      f"{': ' + outcome.message if outcome.status == 'failed' else ''}; "
                                      f"{out_dir / item.file} is unchanged")
            # the weights at the best validation where the task keeps them, else the last
            best = store.best_checkpoint_path(run_id)
            path = best if best.exists() else store.checkpoint_path(run_id)
            tensors, meta = load_checkpoint(path, expect_model=model)
        weights = {k: v for k, v in tensors.items() if not k.startswith("optim.")}
        meta = {**meta, "run_id": None, "pretrained": True}
        save_checkpoint(out_dir / item.file, weights, meta)
        yield out_dir / item.file, outcome
