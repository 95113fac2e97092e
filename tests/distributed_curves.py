"""The loss curves of a few training steps of every model, for tests/test_distributed.py.

`curve` trains one model for some steps in this process, or as one rank of a torchrun
world; run as a script under torchrun, every rank trains each model and rank 0 writes the
curves (the losses averaged over the ranks, as the loop logs them) to the JSON file named;
`--without-ddp` leaves the gradients unaveraged (tests/test_distributed.py shows it fails).
"""
from __future__ import annotations

import json
import os
import sys

import torch

from autoenc.registry import get_model
from autoenc.train.distributed import SINGLE, World
from autoenc.train.task import config_from_dict

STEPS = 12
# Small but real settings, one global batch size for both worlds.
SETTINGS = {
    "denoiser": {"n_train": 1024, "n_val": 32, "batch_size": 128},
    "vae": {"arch": "conv", "image_size": 32, "n_images": 256, "batch_size": 32, "latent_dim": 8},
    "mae": {"image_size": 32, "n_images": 128, "batch_size": 16},
    "classifier": {"image_size": 32, "n_images": 128, "batch_size": 32},
    "gan": {"image_size": 32, "n_images": 128, "batch_size": 16},
    "acgan": {"image_size": 32, "n_images": 128, "batch_size": 16},
    "wgan-gp": {"image_size": 32, "n_images": 128, "batch_size": 16, "n_critic": 2},
    "wgan-div": {"image_size": 32, "n_images": 128, "batch_size": 16, "n_critic": 2},
}


def curve(model: str, world: World = SINGLE, steps: int = STEPS, ddp: bool = True) -> dict[str, list[float]]:
    """Each logged loss at every step: {name: [value at step 1, 2, ...]}. ddp=False: each
    process updates its weights by its own gradients (what the check must catch)."""
    cls = get_model(model).task_class()
    cfg = config_from_dict(cls.Config, {**SETTINGS[model], "steps": steps, "world_size": world.size})
    torch.manual_seed(cfg.seed)
    task = cls(cfg, torch.device("cpu"))
    task.distribute(world, 0)
    if not ddp:
        task._synced = {}       # the modules themselves, not seen through DDP
    out: dict[str, list[float]] = {}
    for step in range(1, steps + 1):
        for k, v in world.mean(task.train_step(step)).items():
            out.setdefault(k, []).append(v)
    world.check_in_step(task.modules())      # raises if a gradient was not averaged
    return out


if __name__ == "__main__":
    world = World.from_env()
    world.join(torch.device("cpu"))
    torch.set_num_threads(1)
    ddp = "--without-ddp" not in sys.argv
    models = [a for a in sys.argv[2:] if not a.startswith("--")] or SETTINGS
    curves = {model: curve(model, world, ddp=ddp) for model in models}
    if world.main:
        with open(sys.argv[1], "w") as f:
            json.dump(curves, f)
    world.leave()
    # End without the interpreter's teardown: now and then a rank aborted at its end ("terminate
    # called without an active exception": a C++ thread still joinable), which this skips if
    # it came from the teardown; what this script checks is complete by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
