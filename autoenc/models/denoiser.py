"""The article's 1-D convolutional denoising autoencoder for 500-sample radio traces.

Encoder: four conv + 2x max-pool stages, 500 -> 250 -> 125 -> 62 -> 31, ending in 16
channels, so the bottleneck is 16 x 31 = 496 numbers, about as many as the input.
Decoder: two stride-4 transposed convs whose kernels land exactly on 125 and 500
((31 - 1) * 4 + 5 = 125, (125 - 1) * 4 + 4 = 500), then a conv and a sigmoid.

Input and output are traces in [0, 1] units (autoenc.data.radio.to_unit), shaped (B, 500)
or (B, 1, 500); the output has the input's shape. The buffer `scale` holds the global
map's A (microvolts), so weights loaded from a checkpoint come with their data scale.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autoenc.data.radio import N_SAMPLES, to_unit, unit_scale

BOTTLENECK_CHANNELS = 16
BOTTLENECK_LENGTH = 31


class Denoiser(nn.Module):
    def __init__(self, width: int = 32, kernel: int = 5):
        super().__init__()
        pad = kernel // 2

        def conv(c_in: int, c_out: int) -> nn.Conv1d:
            return nn.Conv1d(c_in, c_out, kernel, padding=pad)

        self.encoder = nn.Sequential(
            conv(1, width), nn.ReLU(), nn.MaxPool1d(2),            # 250
            conv(width, width), nn.ReLU(), nn.MaxPool1d(2),        # 125
            conv(width, width), nn.ReLU(), nn.MaxPool1d(2),        # 62
            conv(width, BOTTLENECK_CHANNELS), nn.ReLU(), nn.MaxPool1d(2),  # 31
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose1d(BOTTLENECK_CHANNELS, width, 5, stride=4), nn.ReLU(),  # 125
            conv(width, width), nn.ReLU(),
            nn.ConvTranspose1d(width, width, 4, stride=4), nn.ReLU(),                # 500
            conv(width, 1), nn.Sigmoid(),
        )
        self.register_buffer("scale", torch.tensor(1.0))
        # Traces in [0, 1] units sit at 0.5 +- a few percent; centring and scaling them to
        # unit RMS changes only the conditioning (the first conv could absorb it), but
        # without it training idles for hundreds of steps at a flat output.
        self.register_buffer("input_gain", torch.tensor(1.0))

    def calibrate(self, noisy: np.ndarray) -> None:
        """Take the [0, 1] map's A and the input gain from a noisy training set (microvolts)."""
        scale = unit_scale(noisy)
        self.scale.fill_(scale)
        self.input_gain.fill_(1.0 / float(np.std(to_unit(noisy, scale))))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 500) or (B, 1, 500) -> (B, 16, 31)."""
        return self.encoder((x.reshape(-1, 1, N_SAMPLES) - 0.5) * self.input_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x)).reshape(x.shape)
