"""A trained model rebuilt from its checkpoint file alone: the config inside the file picks
the architecture, the weights fill it, and the networks come back in eval mode."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from autoenc.errors import CheckpointError
from autoenc.paths import shipped_path
from autoenc.registry import get_model
from autoenc.runs.checkpoint import load_checkpoint
from autoenc.train.task import config_from_dict, load_module


@dataclass
class Trained:
    config: object
    modules: dict[str, nn.Module]
    meta: dict
    extra: dict


def load_trained(path: str | Path, model: str) -> Trained:
    """Rebuild the networks from the config inside the file; weights only, no optimiser."""
    tensors, meta = load_checkpoint(Path(path), expect_model=model)
    cls = get_model(model).task_class()
    try:
        config = config_from_dict(cls.Config, meta["config"])
    except Exception as e:
        raise CheckpointError(f"{Path(path).name} has a config this version cannot read: {e}") from None
    modules = cls.build_modules(config)
    for name in cls.optional_modules:
        if name in modules and not any(k.startswith(f"model.{name}.") for k in tensors):
            del modules[name]
    for name, module in modules.items():
        load_module(module, tensors, f"model.{name}.")
        module.eval()
    extra = {k[6:]: v for k, v in tensors.items() if k.startswith("extra.")}
    return Trained(config, modules, meta, extra)


def shipped_checkpoint(model: str, file: str | None = None) -> Path:
    """A shipped file of the model (default its first), or CheckpointError saying how to make it."""
    files = get_model(model).task_class().shipped_files()
    if not files:
        raise CheckpointError(f"no checkpoint of {model} is shipped")
    path = shipped_path(file or files[0])
    if not path.exists():
        raise CheckpointError(f"the shipped checkpoint {path.name} is not in {path.parent}: make it with "
                              f"`python -m autoenc pretrain {model}`")
    return path


def load_checkpoint_or_shipped(model: str, path: str | Path | None = None, file: str | None = None) -> Trained:
    """The model in `path`; without one, its shipped checkpoint `file` (default its first)."""
    return load_trained(path if path is not None else shipped_checkpoint(model, file), model)
