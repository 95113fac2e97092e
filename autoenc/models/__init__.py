"""The networks, one file per family; what every family shares is here."""
from torch import nn


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
