"""The galaxy classifier: its config and its Task. Shipped, it is the judge of generated
galaxies (autoenc.metrics.judge) and its features are the GAN measures' feature space."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from autoenc.data import heldout
from autoenc.data.galaxies import rendered_set
from autoenc.data.galaxy_loaders import load_galaxy_file
from autoenc.data.galaxy_set import CLASS_NAMES
from autoenc.errors import UserError
from autoenc.inference.classifier import evaluate, to_tensor
from autoenc.metrics.judge import JUDGE_FILE
from autoenc.models.classifier import GalaxyClassifier
from autoenc.runs import bundle_use
from autoenc.train.augment import flip_turn_jitter
from autoenc.train.precision import to_device
from autoenc.train.task import PretrainItem, Task, TrainSettings, setting
from autoenc.trained import load_checkpoint_or_shipped


@dataclass
class ClassifierConfig(TrainSettings):
    steps: int = setting(1500, "optimisation steps", lo=1, hi=10_000_000)
    lr: float = setting(3e-3, "peak AdamW learning rate (one-cycle schedule)", lo=1e-6, hi=1.0)
    image_size: int = setting(64, "image side in pixels", choices=(32, 64, 128))
    n_images: int = setting(6000, "rendered training images", lo=30, hi=200_000)
    data_seed: int = setting(7, "seed of the rendered training set", lo=0)
    width: int = setting(24, "channels of the first conv layer", lo=8, hi=128)
    weight_decay: float = setting(1e-3, "AdamW weight decay", lo=0.0, hi=1.0)

    def check(self) -> None:
        if self.data_seed == heldout.JUDGE_GALAXIES.seed:
            raise UserError(f"data_seed {heldout.JUDGE_GALAXIES.seed} is reserved for the held-out set")


class ClassifierTask(Task):
    name = "classifier"
    Config = ClassifierConfig
    chart_metrics = {"loss": "train loss", "val_accuracy": "validation accuracy"}
    usage_snippet = bundle_use.CLASSIFIER
    synced_modules = {"model": "forward"}

    def __init__(self, config: ClassifierConfig, device: torch.device):
        super().__init__(config, device)
        c = config
        data = rendered_set(c.n_images, c.image_size, c.data_seed)
        self.x, self.y = to_tensor(data.images).to(device), torch.from_numpy(data.labels).to(device)
        val = heldout.JUDGE_GALAXIES.images(c.image_size)
        self.val_x, self.val_y = to_tensor(val.images).to(device), torch.from_numpy(val.labels).to(device)
        self.model = self.build_modules(c)["classifier"].to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        self.gen = torch.Generator().manual_seed(c.seed)

    @classmethod
    def build_modules(cls, config: ClassifierConfig) -> dict[str, torch.nn.Module]:
        return {"classifier": GalaxyClassifier(config.image_size, len(CLASS_NAMES), config.width)}

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x) / self.config.batch_size)

    def shard(self, rank: int, size: int, seed: int) -> None:
        self.x, self.y = self.x[rank::size], self.y[rank::size]
        self.gen.manual_seed(seed)

    def lr_at(self, step: int) -> float:
        """One-cycle: warm up over the first 20 %, then cosine down to zero."""
        total, peak = self.config.steps, self.config.lr
        warm = max(1, int(0.2 * total))
        if step <= warm:
            return peak * step / warm
        return 0.5 * peak * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))

    def update(self, step: int) -> dict[str, torch.Tensor]:
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(step)
        idx = to_device(torch.randint(len(self.x), (self.rank_batch,), generator=self.gen), self.device)
        x = flip_turn_jitter(self.x[idx], self.gen)
        with self.autocast():
            loss = F.cross_entropy(self.sync("model")(x), self.y[idx])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach()}

    def validate(self, step: int) -> dict[str, float]:
        self.model.eval()
        with torch.no_grad():
            pred = self.model(self.val_x).argmax(1)
        self.model.train()
        return {"val_accuracy": (pred == self.val_y).float().mean().item()}

    def modules(self):
        return {"classifier": self.model}

    def optimizers(self):
        return {"adamw": self.opt}

    def extra_tensors(self):
        return {"rng_state": self.gen.get_state()}

    def load_extra_tensors(self, tensors):
        if "rng_state" in tensors:
            self.gen.set_state(tensors["rng_state"].to(torch.uint8))

    # -- shipped checkpoint, evaluation ------------------------------------------------
    @classmethod
    def pretrain_plan(cls) -> list[PretrainItem]:
        # The judge works at 32 px (64 px images are shrunk to it, with antialiasing): at 64 px
        # it read the GANs' pixel-scale mottling as spiral knots (docs/checkpoints.md).
        return [PretrainItem(JUDGE_FILE, {"image_size": 32, "n_images": 40_000, "steps": 12_000,
                                          "checkpoint_every": 2000})]

    @classmethod
    def add_eval_arguments(cls, parser) -> None:
        parser.add_argument("--data", default="rendered",
                            help="'rendered' (the fixed held-out renders) or a galaxy file: .npz, .zip, "
                                 "image folder, Galaxy10 .h5")

    @classmethod
    def evaluate_cli(cls, args) -> dict:
        model = load_checkpoint_or_shipped(cls.name, args.checkpoint).modules["classifier"]
        data = heldout.JUDGE_GALAXIES.images(model.image_size) if args.data == "rendered" else \
            load_galaxy_file(args.data, size=model.image_size)
        return evaluate(model, data)
