"""Denoiser: its config and its Task for the training loop.

Traces come from the simulator in microvolts (autoenc.data.radio); the network sees them
through the global [0, 1] map whose A is a buffer of the model, so a model rebuilt from a
checkpoint denoises physical traces without any other state (autoenc.inference.denoiser).

Recipe: fresh simulated traces every step (a batch costs ~1 ms to generate, and the
model never sees a trace twice), batch 32, Adam 2e-3, training SNR 1.5-20, plain MSE.
On 1 CPU thread the held-out targets (the article's 69 / 95 / 98 %) are reached after
~100 / ~200 / ~300 steps (~35 ms each) for galactic / uniform / cosine noise.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from autoenc.data.heldout import RADIO_SEED
from autoenc.data.radio import TRAINING_NOISES, from_unit, simulate, to_unit
from autoenc.errors import UserError
from autoenc.inference.denoiser import evaluate, example_indices, predict_unit
from autoenc.metrics.signal import peak_accuracy, snr_gain_db
from autoenc.models.denoiser import Denoiser
from autoenc.runs import bundle_use
from autoenc.train.precision import to_device
from autoenc.train.task import PretrainItem, Task, TrainSettings, setting
from autoenc.trained import load_checkpoint_or_shipped

PRETRAIN_STEPS = 3000
# Purposes of the data streams drawn from (seed, purpose, ...).
_TRAIN, _VAL, _BATCH = 1, 2, 3


@dataclass
class DenoiserConfig(TrainSettings):
    steps: int = setting(1500, "optimisation steps to train for", lo=1, hi=10_000_000)
    batch_size: int = setting(32, "traces per step", lo=1, hi=4096)
    lr: float = setting(2e-3, "Adam learning rate", lo=1e-7, hi=1.0)
    noise: str = setting("galactic", "noise: galactic (realistic sky + receiver), uniform, cosine, or a mix "
                                     "of the three (each trace one of them)", choices=TRAINING_NOISES)
    snr_min: float = setting(1.5, "lowest training SNR (max |signal| / RMS noise)", lo=0.1, hi=1000.0)
    snr_max: float = setting(20.0, "highest training SNR (drawn log-uniform in between)", lo=0.1, hi=1000.0)
    noise_only_fraction: float = setting(0.0, "share of training traces with no pulse", lo=0.0, hi=0.9)
    rfi: bool = setting(False, "add 1-3 narrow-band transmitters inside the 30-80 MHz band")
    fresh_data: bool = setting(True, "draw new traces every step (cheap); off: cycle through n_train fixed traces")
    n_train: int = setting(10_000, "fixed training traces; with fresh_data on, only the [0, 1] scale "
                                   "is taken from them", lo=64, hi=1_000_000)
    n_val: int = setting(500, "validation traces, checked every eval_every steps", lo=10, hi=100_000)
    width: int = setting(32, "channels of the inner conv layers (the bottleneck stays 16 x 31)", lo=2, hi=256)
    kernel: int = setting(5, "conv kernel size (odd)", lo=1, hi=31)

    def check(self) -> None:
        if self.snr_min > self.snr_max:
            raise UserError(f"snr_min ({self.snr_min}) must not exceed snr_max ({self.snr_max})")
        if self.kernel % 2 == 0:
            raise UserError(f"kernel must be odd (so the trace keeps its length), not {self.kernel}")
        if self.seed == RADIO_SEED:
            raise UserError(f"seed {RADIO_SEED} is reserved for the held-out evaluation set")

    def data_settings(self) -> dict:
        return {"noise": self.noise, "snr_range": (self.snr_min, self.snr_max),
                "noise_only_fraction": self.noise_only_fraction, "rfi": self.rfi}


class DenoiserTask(Task):
    name = "denoiser"
    Config = DenoiserConfig
    chart_metrics = {"loss": "train", "val_loss": "validation"}
    history_sample = "val_traces"
    usage_snippet = bundle_use.DENOISER
    synced_modules = {"model": "forward"}
    stream: tuple[int, ...] = ()        # a process's own trace stream under torchrun: (rank,)

    def __init__(self, config: DenoiserConfig, device: torch.device):
        super().__init__(config, device)
        c = config
        train = simulate(c.n_train, **c.data_settings(), seed=(c.seed, _TRAIN))
        self.val = simulate(c.n_val, **c.data_settings(), seed=(c.seed, _VAL))
        self.model = self.build_modules(c)["denoiser"].to(device)
        self.model.calibrate(train.noisy)
        self.train_set = None if c.fresh_data else train
        self.val_x, self.val_y = self._unit(self.val.noisy), self._unit(self.val.clean)
        self.example_index = example_indices(self.val)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=c.lr)

    @classmethod
    def build_modules(cls, config: DenoiserConfig) -> dict[str, torch.nn.Module]:
        return {"denoiser": Denoiser(width=config.width, kernel=config.kernel)}

    @property
    def scale(self) -> float:
        return float(self.model.scale)

    def _unit(self, traces: np.ndarray) -> torch.Tensor:
        return to_device(torch.from_numpy(to_unit(traces, self.scale).astype(np.float32)), self.device)

    def _batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Seeded by (seed, step), so a resumed run sees the traces it would have seen.
        c = self.config
        seed = (c.seed, _BATCH, step, *self.stream)
        if self.train_set is None:
            d = simulate(self.rank_batch, **c.data_settings(), seed=seed)
            noisy, clean = d.noisy, d.clean
        else:
            idx = np.random.default_rng(seed).integers(0, len(self.train_set.noisy), self.rank_batch)
            noisy, clean = self.train_set.noisy[idx], self.train_set.clean[idx]
        return self._unit(noisy), self._unit(clean)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.config.n_train / self.config.batch_size)

    def shard(self, rank: int, size: int, seed: int) -> None:
        """Traces are seeded by (seed, step), so a rank's stream adds its rank."""
        self.stream = (rank,)
        if self.train_set is not None:
            s = self.train_set
            self.train_set = dataclasses.replace(s, noisy=s.noisy[rank::size], clean=s.clean[rank::size])

    def update(self, step: int) -> dict[str, torch.Tensor]:
        x, y = self._batch(step)
        with self.autocast():
            loss = F.mse_loss(self.sync("model")(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach()}

    def validate(self, step: int) -> dict[str, float]:
        out = predict_unit(self.model, self.val_x)
        recovered = from_unit(out.cpu().numpy(), self.scale)
        metrics = {
            "val_loss": F.mse_loss(out, self.val_y).item(),
            "val_peak_accuracy": peak_accuracy(recovered, self.val.clean),
            "val_snr_gain_db": snr_gain_db(self.val.noisy, recovered, self.val.clean),
        }
        # Without pulses in the validation set (noise_only_fraction near 1) there is no accuracy.
        return {k: v for k, v in metrics.items() if math.isfinite(v)}

    def snapshot(self, step: int) -> dict[str, np.ndarray]:
        """val_traces: (3 traces, [noisy, clean, recovered], 500) in microvolts."""
        i = list(self.example_index)
        x, y = self.val_x[i], self.val_y[i]
        stacked = torch.stack([x, y, predict_unit(self.model, x)], dim=1)
        return {"val_traces": from_unit(stacked.cpu().numpy(), self.scale).astype(np.float32)}

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"denoiser": self.model}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"adam": self.opt}

    def extra_tensors(self) -> dict[str, torch.Tensor]:
        # Also buffers of the model (so inference needs only its weights); kept here too so
        # the checkpoint names the data scale explicitly.
        return {"scale": self.model.scale.detach().clone(), "input_gain": self.model.input_gain.detach().clone()}

    def load_extra_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        for name in ("scale", "input_gain"):
            if name in tensors:
                getattr(self.model, name).fill_(float(tensors[name]))

    # -- shipped checkpoints and evaluation -------------------------------------------
    @classmethod
    def pretrain_plan(cls) -> list[PretrainItem]:
        return [PretrainItem(shipped_file(noise), {"noise": noise, "steps": PRETRAIN_STEPS}) for noise in TRAINING_NOISES]

    @classmethod
    def add_eval_arguments(cls, parser) -> None:
        parser.add_argument("--noise", choices=TRAINING_NOISES,
                            help="held-out noise type (default: the checkpoint's; galactic for the shipped one)")

    @classmethod
    def evaluate_cli(cls, args) -> dict:
        trained = load_checkpoint_or_shipped(cls.name, args.checkpoint, shipped_file(args.noise or "galactic"))
        return evaluate(trained.modules["denoiser"], args.noise or trained.config.noise)


def shipped_file(noise: str) -> str:
    """The shipped checkpoint trained on a noise type (or on the mix of all three)."""
    return f"denoiser-{noise}.safetensors"
