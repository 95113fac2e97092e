"""What a GAN task's checkpoint holds beside the weights and optimisers: the fixed z (and
labels) of the live grid, the state of its one random generator, the critic updates so far
(step mode counts them), and the moving average of G with its update count and standing
statistics. A mixin of GANTask (train/gan.py), which sets the attributes it reads."""
from __future__ import annotations

import torch

from autoenc.inference.gan import EMA, noise
from autoenc.train.ema import standing_statistics


def grid_noise(rows: int, cols: int, z_dim: int, seed: int, n_classes: int, device: torch.device):
    """The fixed z (and labels) of the live grid; with classes one row per class, the same
    z in every row: the class alone changes the galaxy."""
    if not n_classes:
        return noise(rows * cols, z_dim, seed).to(device), None
    return (noise(cols, z_dim, seed).repeat(rows, 1).to(device),
            torch.arange(rows).repeat_interleave(cols).to(device))


class GANCheckpointState:
    """The checkpoint hooks of Task (state_tensors, extra_tensors and their loaders) for a GAN."""

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """As Task's; a checkpoint without a moving average (saved with it off, or before it
        existed) starts one from its generator."""
        if self.ema is not None and not any(k.startswith(f"model.{EMA}.") for k in tensors):
            tensors = {**tensors, **{f"model.{EMA}." + k[len("model.generator."):]: v
                                     for k, v in tensors.items() if k.startswith("model.generator.")}}
            tensors.pop("extra.ema_updates", None)
        super().load_state_tensors(tensors)
        self._standing_at = None

    def state_tensors(self, with_optimizer: bool = True) -> dict[str, torch.Tensor]:
        """As Task's, the moving average with its standing statistics: what a file draws with."""
        self.refresh_standing_statistics()
        return super().state_tensors(with_optimizer)

    def refresh_standing_statistics(self) -> None:
        """standing_statistics of the moving average, unless it has not moved since the last
        time (a validation and the best checkpoint it triggers share one measurement)."""
        if self.ema is None:
            return
        updates = int(self.ema.n_averaged)
        if updates != self._standing_at:
            standing_statistics(self.ema.module)
            self._standing_at = updates

    def extra_tensors(self) -> dict[str, torch.Tensor]:
        out = {"fixed_z": self.fixed_z, "rng_state": self.rng.get_state(),
               "critic_updates": torch.tensor(self.critic_updates, dtype=torch.int64)}
        if self.ema is not None:
            out["ema_updates"] = self.ema.n_averaged
        if self.fixed_labels is not None:
            out["fixed_labels"] = self.fixed_labels
        return out

    def load_extra_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if "fixed_z" in tensors:
            self.fixed_z = tensors["fixed_z"].to(self.device, torch.float32)
        if "fixed_labels" in tensors and self.n_classes:
            self.fixed_labels = tensors["fixed_labels"].to(self.device, torch.int64)
        if "critic_updates" in tensors:
            self.critic_updates = int(tensors["critic_updates"])
        if "ema_updates" in tensors and self.ema is not None:
            self.ema.n_averaged.copy_(tensors["ema_updates"])
        if "rng_state" in tensors:
            try:
                self.rng.set_state(tensors["rng_state"].cpu().to(torch.uint8))
            except RuntimeError:    # saved on another device type: its state does not fit here
                pass
