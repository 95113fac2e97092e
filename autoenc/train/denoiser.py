"""Denoiser: config, Task for the training loop, inference, and the fixed held-out evaluation.

Traces cross this module's boundary in microvolts (autoenc.data.radio); inside, the network
sees them through the global [0, 1] map whose A is a buffer of the model, so a model
rebuilt from a checkpoint denoises physical traces without any other state.

Recipe: fresh simulated traces every step (a batch costs ~1 ms to generate, and the
model never sees a trace twice), batch 32, Adam 2e-3, training SNR 1.5-20, plain MSE.
On 1 CPU thread the held-out targets (the seed's 69 / 95 / 98 %) are reached after
~100 / ~200 / ~300 steps (~35 ms each) for galactic / uniform / cosine noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from autoenc.data.radio import NOISE_TYPES, RadioSet, from_unit, simulate, to_unit, unit_scale
from autoenc.errors import UserError
from autoenc.metrics.signal import has_signal, peak_accuracy, per_snr_bin, power_spectrum, snr_gain_db
from autoenc.models.denoiser import Denoiser
from autoenc.paths import PRETRAINED_DIR
from autoenc.train.task import Task, TrainSettings, setting

# The seed's figures: peak within 2 % of the true one, per noise type.
SEED_ACCURACY = {"galactic": 0.69, "uniform": 0.95, "cosine": 0.98}
EVAL_SEED = 424_242          # refused as a training seed, so no training stream repeats it
HELDOUT_SIZE = 2000
HELDOUT_SNR = (2.0, 20.0)
PRETRAIN_STEPS = 3000
INFERENCE_CHUNK = 1024
EXAMPLE_SNRS = (3.0, 6.0, 12.0)   # the traces shown live and on the page: hard, middling, easy
# Purposes of the data streams drawn from (seed, purpose, ...).
_TRAIN, _VAL, _BATCH = 1, 2, 3


@dataclass
class DenoiserConfig(TrainSettings):
    steps: int = setting(1500, "optimisation steps to train for", lo=1, hi=10_000_000)
    batch_size: int = setting(32, "traces per step", lo=1, hi=4096)
    lr: float = setting(2e-3, "Adam learning rate", lo=1e-7, hi=1.0)
    noise: str = setting("galactic", "noise: galactic (realistic sky + receiver), uniform or cosine",
                         choices=NOISE_TYPES)
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
        if self.seed == EVAL_SEED:
            raise UserError(f"seed {EVAL_SEED} is reserved for the held-out evaluation set")

    def data_settings(self) -> dict:
        return {"noise": self.noise, "snr_range": (self.snr_min, self.snr_max),
                "noise_only_fraction": self.noise_only_fraction, "rfi": self.rfi}


class DenoiserTask(Task):
    name = "denoiser"
    Config = DenoiserConfig
    chart_metrics = ("loss", "val_loss")

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
        return torch.from_numpy(to_unit(traces, self.scale).astype(np.float32)).to(self.device)

    def _batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Seeded by (seed, step), so a resumed run sees the traces it would have seen.
        c = self.config
        if self.train_set is None:
            d = simulate(c.batch_size, **c.data_settings(), seed=(c.seed, _BATCH, step))
            noisy, clean = d.noisy, d.clean
        else:
            idx = np.random.default_rng((c.seed, _BATCH, step)).integers(0, c.n_train, c.batch_size)
            noisy, clean = self.train_set.noisy[idx], self.train_set.clean[idx]
        return self._unit(noisy), self._unit(clean)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.config.n_train / self.config.batch_size)

    def train_step(self, step: int) -> dict[str, float]:
        x, y = self._batch(step)
        loss = F.mse_loss(self.model(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.item()}

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
        """val_traces: (3 traces, [noisy, clean, recovered], 500) in [0, 1] units."""
        i = list(self.example_index)
        x, y = self.val_x[i], self.val_y[i]
        stacked = torch.stack([x, y, predict_unit(self.model, x)], dim=1)
        return {"val_traces": stacked.cpu().numpy().astype(np.float32)}

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
    def pretrain_plan(cls) -> list:
        from autoenc.train.pretrain import PretrainItem
        return [PretrainItem(pretrained_file(noise).name, {"noise": noise, "steps": PRETRAIN_STEPS})
                for noise in NOISE_TYPES]

    @classmethod
    def add_eval_arguments(cls, parser) -> None:
        parser.add_argument("--noise", choices=NOISE_TYPES,
                            help="held-out noise type (default: the checkpoint's; galactic for the shipped one)")

    @classmethod
    def evaluate_cli(cls, args) -> dict:
        from autoenc.train.pretrain import load_trained
        noise = args.noise or "galactic"
        path = Path(args.checkpoint) if args.checkpoint else pretrained_file(noise)
        trained = load_trained(path, cls.name)
        noise = args.noise or trained.config.noise
        model = trained.modules["denoiser"]
        return evaluate(model, noise)


# -- inference ----------------------------------------------------------------------------

def predict_unit(model: Denoiser, x: torch.Tensor) -> torch.Tensor:
    """The model on [0, 1]-unit traces (N, 500), in chunks, without gradients."""
    with torch.no_grad():
        return torch.cat([model(x[i:i + INFERENCE_CHUNK]) for i in range(0, len(x), INFERENCE_CHUNK)])


def denoise(model: Denoiser, noisy: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Recovered pulses in microvolts for noisy traces (N, 500) or (500,) in microvolts.

    scale: A of the [0, 1] map; default the one the model was trained with.
    """
    noisy = np.asarray(noisy, dtype=np.float32)
    a = float(model.scale) if scale is None else scale
    x = torch.from_numpy(to_unit(noisy, a).reshape(-1, noisy.shape[-1])).to(model.scale.device)
    out = predict_unit(model, x).cpu().numpy()
    return from_unit(out, a).reshape(noisy.shape).astype(np.float32)


def pretrained_file(noise: str) -> Path:
    return PRETRAINED_DIR / f"denoiser-{noise}.safetensors"


def load_denoiser(path: str | Path) -> Denoiser:
    """A model rebuilt from a checkpoint file (its config and weights), ready for denoise()."""
    from autoenc.train.pretrain import load_trained
    return load_trained(Path(path), DenoiserTask.name).modules["denoiser"]


# -- the fixed held-out evaluation -------------------------------------------------------

@lru_cache(maxsize=len(NOISE_TYPES))
def heldout_set(noise: str) -> RadioSet:
    """2000 traces, SNR log-uniform 2-20, no noise-only ones; a fixed seed per noise type."""
    if noise not in NOISE_TYPES:
        raise UserError(f"noise must be one of {', '.join(NOISE_TYPES)}, not {noise!r}")
    data = simulate(HELDOUT_SIZE, noise, HELDOUT_SNR, seed=(EVAL_SEED, NOISE_TYPES.index(noise)))
    for a in (data.noisy, data.clean, data.snr):
        a.setflags(write=False)  # shared by every caller through the cache
    return data


def evaluate(model: Denoiser, noise: str) -> dict:
    data = heldout_set(noise)
    recovered = denoise(model, data.noisy)
    return {"peak_accuracy": peak_accuracy(recovered, data.clean),
            "snr_gain_db": snr_gain_db(data.noisy, recovered, data.clean), "n": len(data)}


def evaluate_bins(model: Denoiser, noise: str) -> list[dict]:
    """Peak accuracy and SNR gain per SNR bin (2-3, 3-6, 6-20) on the held-out set."""
    data = heldout_set(noise)
    return per_snr_bin(data.noisy, denoise(model, data.noisy), data.clean, data.snr)


def example_indices(data: RadioSet, snrs=EXAMPLE_SNRS) -> tuple[int, ...]:
    """Traces with a pulse whose SNR is nearest each of snrs (the first traces if none has one)."""
    with_pulse = np.flatnonzero(has_signal(data.clean))
    if len(with_pulse) == 0:
        return tuple(range(min(len(snrs), len(data))))
    return tuple(int(with_pulse[np.argmin(np.abs(data.snr[with_pulse] - s))]) for s in snrs)


def report(model: Denoiser, data: RadioSet, rescale: bool = False) -> dict:
    """Everything the page shows about a model on a set of traces.

    rescale: map the traces with their own A (for files in other units than the simulator's).
    Only a few example traces are kept, not the whole set: the page caches this per
    checkpoint, and Streamlit copies a cached value on every read.
    """
    scale = unit_scale(data.noisy) if rescale else None
    recovered = denoise(model, data.noisy, scale)
    return {
        "n": len(data),
        "examples": [{"noisy": data.noisy[i].copy(), "truth": data.clean[i].copy(), "output": recovered[i],
                      "snr": float(data.snr[i])} for i in example_indices(data)],
        "peak_accuracy": peak_accuracy(recovered, data.clean),
        "snr_gain_db": snr_gain_db(data.noisy, recovered, data.clean),
        "bins": per_snr_bin(data.noisy, recovered, data.clean, data.snr),
        "spectrum_noisy": power_spectrum(data.noisy),
        "spectrum_clean": power_spectrum(data.clean),
        "spectrum_output": power_spectrum(recovered),
    }


# -- speed figures for `python -m autoenc bench` ----------------------------------------

def seconds_to_accuracy(noise: str, target: float, max_seconds: float = 240.0,
                        check_every: int = 25) -> float:
    """Training seconds from scratch (default config) until the held-out peak accuracy
    reaches target; evaluation time is not counted. inf if not reached in max_seconds."""
    import time
    torch.manual_seed(0)
    task = DenoiserTask(DenoiserConfig(noise=noise), torch.device("cpu"))
    trained, step = 0.0, 0
    while trained < max_seconds:
        t = time.perf_counter()
        for _ in range(check_every):
            step += 1
            task.train_step(step)
        trained += time.perf_counter() - t
        if evaluate(task.model, noise)["peak_accuracy"] >= target:
            return trained
    return float("inf")


def benchmarks() -> Iterator:
    from autoenc.bench import Record, median_time

    n = 20_000
    t = median_time(lambda: simulate(n, "galactic", seed=1), repeats=3)
    yield Record("denoiser.traces_per_s", n / t, "traces/s", target=20_000)
    for noise in NOISE_TYPES:
        yield Record(f"denoiser.train_s_to_seed_accuracy.{noise}", seconds_to_accuracy(noise, SEED_ACCURACY[noise]),
                     "s", target=None if noise == "galactic" else 60.0, higher_is_better=False)

    torch.manual_seed(0)
    task = DenoiserTask(DenoiserConfig(n_train=2000, n_val=100), torch.device("cpu"))
    steps = iter(range(1, 10**6))
    t = median_time(lambda: task.train_step(next(steps)), repeats=21, warmup=3)
    yield Record("denoiser.train_step_ms", t * 1e3, "ms")
    data = heldout_set("galactic")
    t = median_time(lambda: denoise(task.model, data.noisy), repeats=3)
    yield Record("denoiser.heldout_denoise_s", t, "s", target=2.0, higher_is_better=False)
