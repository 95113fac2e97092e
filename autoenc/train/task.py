"""What every trainable model provides to the one training loop, the CLI, pretrain and the pages.

A Task owns its data, modules and optimisers and knows how to take one optimisation
step. The loop (loop.py) knows nothing about models: it calls update, validate and
snapshot, logs what they return, checks for NaN, checkpoints and obeys stop requests.
Every hook anything else calls is declared on `Task` below, with a default.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from autoenc.errors import CheckpointError, UserError
from autoenc.train.distributed import SINGLE, World, stream_seed
from autoenc.train.precision import autocast, mixed_precision


def setting(default: Any, help: str, *, choices: tuple | None = None,
            lo: float | None = None, hi: float | None = None, cli: bool = True):
    """A config field with what the CLI, the pages and validation need to know about it."""
    return field(default=default, metadata={"help": help, "choices": choices, "lo": lo, "hi": hi, "cli": cli})


@dataclass
class TrainSettings:
    """Fields every model's config has (model configs inherit from this)."""
    seed: int = setting(0, "random seed (data, initialisation, batches)", lo=0)
    steps: int = setting(2000, "optimisation steps to train for", lo=1, hi=10_000_000)
    batch_size: int = setting(64, "examples per step", lo=1, hi=4096)
    lr: float = setting(1e-3, "Adam learning rate", lo=1e-7, hi=1.0)
    eval_every: int = setting(100, "steps between validation passes", lo=1)
    checkpoint_every: int = setting(500, "steps between checkpoints", lo=1)
    checkpoint_seconds: float = setting(30.0, "seconds of training between checkpoints at most, whatever the "
                                              "step rate (longer where a checkpoint is slow to write)", lo=1.0)
    snapshot_seconds: float = setting(3.0, "seconds between live samples for the page", lo=0.1)
    world_size: int = setting(1, "processes that train the run together under torchrun; each takes "
                                 "batch_size / world_size examples a step", lo=1, cli=False)

    def check(self) -> None:
        """Checks across fields (e.g. a range's ends in order); raise UserError."""


def setting_meta(cls, name: str) -> dict:
    """What a config field declares: help, choices, lo, hi (for a widget's bounds)."""
    return dict(next(f for f in dataclasses.fields(cls) if f.name == name).metadata)


def config_fields(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def check_config(cfg) -> None:
    """Raise UserError naming the first field out of range."""
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        meta = f.metadata
        if meta.get("choices") and v not in meta["choices"]:
            raise UserError(f"{f.name} must be one of {', '.join(map(str, meta['choices']))}, not {v!r}")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if not np.isfinite(v):
                raise UserError(f"{f.name} must be a finite number, not {v!r}")
            if meta.get("lo") is not None and v < meta["lo"]:
                raise UserError(f"{f.name} must be at least {meta['lo']}, not {v}")
            if meta.get("hi") is not None and v > meta["hi"]:
                raise UserError(f"{f.name} must be at most {meta['hi']}, not {v}")
    cfg.check()


def config_from_dict(cls, values: dict[str, Any]):
    """Build and check a config; unknown keys and wrong types become UserErrors."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise UserError(f"unknown setting(s) for this model: {', '.join(unknown)}")
    kwargs = {}
    for k, v in values.items():
        kind = type(names[k].default)
        try:
            if kind is bool:
                v = v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on")
            elif kind in (int, float, str):
                if kind is int and isinstance(v, float) and not v.is_integer():
                    raise ValueError
                v = kind(v)
            elif kind is tuple:
                v = tuple(float(x) for x in (v.split(",") if isinstance(v, str) else v))
        except (TypeError, ValueError):
            what = {int: "a whole number", float: "a number", str: "a text", bool: "yes or no",
                    tuple: "numbers separated by commas, like 0.5,0.999"}.get(kind, kind.__name__)
            raise UserError(f"{k} must be {what}, not {v!r}") from None
        kwargs[k] = v
    cfg = cls(**kwargs)
    check_config(cfg)
    return cfg


def config_to_dict(cfg) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


@dataclass(frozen=True)
class PretrainItem:
    """One shipped checkpoint and how `python -m autoenc pretrain MODEL` makes it."""
    file: str              # name among the shipped checkpoints (autoenc.paths.shipped_path)
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


class Task:
    """Base class: subclasses set `name` and `Config` and implement the hooks below."""

    name: ClassVar[str] = ""
    Config: ClassVar[type] = TrainSettings
    # The page's live chart: metric name -> legend label, in drawing order.
    chart_metrics: ClassVar[dict[str, str]] = {"loss": "loss"}
    # (validation metric, lower is better): the loop keeps the weights where it was best
    # over the last third of the run as best.safetensors, which `pretrain` ships. None: the last.
    best_metric: ClassVar[tuple[str, bool] | None] = None
    # Modules a checkpoint may lack (made before they existed): rebuilt without them.
    optional_modules: ClassVar[tuple[str, ...]] = ()
    # Other models whose shipped checkpoints this one uses (the GANs: the classifier, their judge).
    uses: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config, device: torch.device):
        self.config = config
        self.device = device
        # bfloat16 autocast on a GPU that has it (the GANs choose by their precision setting)
        self.amp_dtype = mixed_precision(device)

    def autocast(self):
        """The context a step's forward pass and loss run in: amp_dtype's autocast, or fp32."""
        return autocast(self.device, self.amp_dtype)

    # -- hooks -------------------------------------------------------------------
    @classmethod
    def build_modules(cls, config) -> dict[str, nn.Module]:
        """The networks, freshly initialised; also used to rebuild them for inference."""
        raise NotImplementedError

    @property
    def steps_per_epoch(self) -> int:
        return 1

    # Samples (snapshot's names) of which a run keeps another number than the store's history
    # budget (runs/history.py): name -> count.
    sample_history: ClassVar[dict[str, int]] = {}
    # The sample (a snapshot's name) a page's history slider and the Compare page walk.
    history_sample: ClassVar[str] = ""
    # About 10 lines that load a checkpoint of this model with the library and use it (a run
    # bundle's README: autoenc/runs/bundle_use.py holds the texts; {checkpoint}, {output} and
    # config fields are filled in).
    usage_snippet: ClassVar[str] = ""
    # Step mode (runs/step_mode.py): the single updates `unit_step` can make, () if none.
    step_units: ClassVar[tuple[str, ...]] = ()
    # Under torchrun (train/distributed.py): the modules update backpropagates through,
    # as attribute -> the method a step calls on it; update calls them through sync().
    synced_modules: ClassVar[dict[str, str]] = {}
    world: World = SINGLE
    _synced: dict[str, nn.Module] = {}

    @property
    def rank_batch(self) -> int:
        """Examples a step of this process takes: the batch, or its share under torchrun."""
        return self.config.batch_size // self.world.size

    def sync(self, name: str):
        """What a training step calls for module `name` (synced_modules): its method, or
        under torchrun the module seen through DDP, whose forward calls that method."""
        if name in self._synced:
            return self._synced[name]
        method = self.synced_modules[name]
        return getattr(self, name) if method == "forward" else getattr(getattr(self, name), method)

    def shard(self, rank: int, size: int, seed: int) -> None:
        """Keep this process's shard of the training data (every size-th example from
        rank) and seed its random streams with `seed`."""
        raise UserError(f"{self.name} cannot train across processes")

    def distribute(self, world: World, step: int) -> None:
        """Train as rank world.rank of world.size processes, from `step` on (after a
        checkpoint is loaded: the streams are this rank's, not the checkpoint's)."""
        if world.size == 1:
            return
        self.world = world
        seed = stream_seed(self.config.seed, world.rank, step)
        torch.manual_seed(seed)         # torch's own stream (a VAE's noise) is the rank's too
        self.shard(world.rank, world.size, seed)
        self._synced = {name: world.wrap(getattr(self, name), method) for name, method in self.synced_modules.items()}

    def unit_step(self, unit: str) -> dict[str, float]:
        """One update of one kind (step_units); returns its logged parts."""
        raise NotImplementedError(f"{self.name} has no step mode")

    def update(self, step: int) -> dict[str, torch.Tensor]:
        """One optimisation step; returns the losses to log as 0-dim tensors left where they
        were computed (or floats): the loop reads them back about once a second
        (train/loss_log.py), so a GPU step is not waited for. All must be finite."""
        raise NotImplementedError

    def train_step(self, step: int) -> dict[str, float]:
        """update(), its losses read back as floats (for code that times or checks one step)."""
        return {k: float(v) for k, v in self.update(step).items()}

    def validate(self, step: int) -> dict[str, float]:
        return {}

    def snapshot(self, step: int) -> dict[str, np.ndarray]:
        """Small arrays the page shows live (e.g. a reconstructed trace, a sample grid)."""
        return {}

    def modules(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}

    def extra_tensors(self) -> dict[str, torch.Tensor]:
        """Other state to checkpoint (fixed noise for sample grids, data scales...)."""
        return {}

    def load_extra_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        pass

    # -- shipped checkpoints and evaluation (pretrain, the CLI's eval, the pages) -------------
    @classmethod
    def pretrain_plan(cls) -> list[PretrainItem]:
        """The shipped checkpoints and how to make them; none by default."""
        return []

    @classmethod
    def shipped_files(cls) -> list[str]:
        return [item.file for item in cls.pretrain_plan()]

    @classmethod
    def add_eval_arguments(cls, parser) -> None:
        """Options of `python -m autoenc eval MODEL` beyond --checkpoint and --json."""

    @classmethod
    def evaluate_cli(cls, args) -> dict:
        """Figures of a checkpoint (args.checkpoint, default the shipped one) on a fixed held-out set."""
        raise UserError(f"{cls.name} has no evaluation yet")

    @classmethod
    def linear_probe(cls, trained) -> float:
        """Accuracy of a linear probe of the galaxy classes on what the trained model encodes
        (autoenc.metrics.probe), for the models whose representation pages compare."""
        raise UserError(f"{cls.name} has no representation to probe")

    # -- checkpoint state ------------------------------------------------------------
    def state_tensors(self, with_optimizer: bool = True) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for mname, module in self.modules().items():
            for k, v in module.state_dict().items():
                out[f"model.{mname}.{k}"] = v
        if with_optimizer:
            for oname, opt in self.optimizers().items():
                for idx, state in opt.state_dict()["state"].items():
                    for k, v in state.items():
                        out[f"optim.{oname}.{idx}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
        for k, v in self.extra_tensors().items():
            out[f"extra.{k}"] = v
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        for mname, module in self.modules().items():
            load_module(module, tensors, f"model.{mname}.")
        for oname, opt in self.optimizers().items():
            prefix = f"optim.{oname}."
            state: dict[int, dict[str, torch.Tensor]] = {}
            for k, v in tensors.items():
                if k.startswith(prefix):
                    idx, key = k[len(prefix):].split(".", 1)
                    state.setdefault(int(idx), {})[key] = v
            if state:
                sd = opt.state_dict()
                # Give moment tensors their parameter's memory layout (e.g. channels_last):
                # fused Adam walks the raw storage, so a contiguous moment would misalign.
                params = [p for group in opt.param_groups for p in group["params"]]
                for idx, entry in state.items():
                    for key, v in entry.items():
                        if idx < len(params) and v.shape == params[idx].shape:
                            entry[key] = torch.empty_like(params[idx]).copy_(v)
                opt.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
        extra = {k[6:]: v for k, v in tensors.items() if k.startswith("extra.")}
        if extra:
            self.load_extra_tensors(extra)


def load_module(module: nn.Module, tensors: dict[str, torch.Tensor], prefix: str) -> None:
    sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(sd)
    except RuntimeError as e:
        first = str(e).splitlines()[0:2]
        raise CheckpointError(f"checkpoint does not fit this architecture: {' '.join(first)}") from None
