"""The seventh model's Task: learn to reconstruct vectors that lie on a 2-D plane in 8-D."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from autoenc.train.task import Task, TrainSettings, setting
from autoenc.trained import load_checkpoint_or_shipped
from tests.seventh.model import TinyAutoencoder

PLANE = torch.Generator().manual_seed(7)
BASIS = torch.randn(2, 8, generator=PLANE)


def vectors(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) @ BASIS


@dataclass
class TinyConfig(TrainSettings):
    steps: int = setting(40, "optimisation steps", lo=1)
    lr: float = setting(0.05, "Adam learning rate", lo=1e-6, hi=1.0)
    code: int = setting(2, "numbers in the code", lo=1, hi=8)


class TinyTask(Task):
    name = "tiny"
    Config = TinyConfig
    chart_metrics = {"loss": "reconstruction", "val_loss": "validation"}

    def __init__(self, config: TinyConfig, device: torch.device):
        super().__init__(config, device)
        self.net = self.build_modules(config)["net"]
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.val = vectors(64, 1)

    @classmethod
    def build_modules(cls, config: TinyConfig):
        return {"net": TinyAutoencoder(code=config.code)}

    def modules(self):
        return {"net": self.net}

    def optimizers(self):
        return {"adam": self.opt}

    def update(self, step: int) -> dict[str, torch.Tensor]:
        x = vectors(self.config.batch_size, 100 + step)
        loss = F.mse_loss(self.net(x), x)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach()}

    def validate(self, step: int) -> dict[str, float]:
        with torch.no_grad():
            return {"val_loss": F.mse_loss(self.net(self.val), self.val).item()}

    @classmethod
    def add_eval_arguments(cls, parser) -> None:
        parser.add_argument("--n", type=int, default=64, help="held-out vectors")

    @classmethod
    def evaluate_cli(cls, args) -> dict:
        net = load_checkpoint_or_shipped(cls.name, args.checkpoint).modules["net"]
        x = vectors(args.n, 1)
        with torch.no_grad():
            return {"mse": F.mse_loss(net(x), x).item(), "n": args.n}
