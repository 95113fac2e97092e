"""Shipped checkpoints: how they are made (`python -m autoenc pretrain MODEL`) and loaded."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from autoenc.errors import CheckpointError
from autoenc.paths import PRETRAINED_DIR
from autoenc.registry import get_model
from autoenc.runs.checkpoint import load_checkpoint, save_checkpoint
from autoenc.train.task import config_from_dict, load_module


@dataclass(frozen=True)
class PretrainItem:
    file: str              # name in checkpoints/
    settings: dict         # config values that differ from the defaults
    max_seconds: float | None = None   # per stage
    # Later stages: the same run resumed with these settings changed, each up to its "steps"
    # (a total, not a count), as a schedule that no single setting expresses would. A stage
    # with "from_best": True goes on from the previous stage's best validation instead of its
    # last step (the kept weights have no optimiser state, so Adam's moments start afresh).
    then: tuple[dict, ...] = ()

    @property
    def final_settings(self) -> dict:
        """The settings the run ends with: what the shipped file's config says."""
        merged = dict(self.settings)
        for stage in self.then:
            merged.update(stage_settings(stage))
        return merged


def stage_settings(stage: dict) -> dict:
    """A stage's config values: all but how the stage starts (from_best)."""
    return {k: v for k, v in stage.items() if k != "from_best"}


@dataclass
class Trained:
    """A model rebuilt from a checkpoint file alone, ready for inference."""
    config: object
    modules: dict[str, nn.Module]
    meta: dict
    extra: dict


def load_trained(path: Path, model: str) -> Trained:
    """Rebuild the networks from the config inside the file; weights only, no optimiser."""
    tensors, meta = load_checkpoint(path, expect_model=model)
    cls = get_model(model).task_class()
    try:
        config = config_from_dict(cls.Config, meta["config"])
    except Exception as e:
        raise CheckpointError(f"{Path(path).name} has a config this version cannot read: {e}") from None
    modules = cls.build_modules(config)
    for name in getattr(cls, "optional_modules", ()):
        if name in modules and not any(k.startswith(f"model.{name}.") for k in tensors):
            del modules[name]
    for name, module in modules.items():
        load_module(module, tensors, f"model.{name}.")
        module.eval()
    extra = {k[6:]: v for k, v in tensors.items() if k.startswith("extra.")}
    return Trained(config, modules, meta, extra)


def pretrained_path(file: str) -> Path:
    return PRETRAINED_DIR / file


def pretrain(model: str, only: str | None = None, out_dir: Path | None = None):
    """Train each planned variant in a scratch run store and keep its weights (no optimiser)."""
    from autoenc.runs.store import RunStore
    from autoenc.runs.worker import execute
    out_dir = Path(out_dir or PRETRAINED_DIR)
    plan = get_model(model).task_class().pretrain_plan()
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
