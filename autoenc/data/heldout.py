"""The fixed held-out sets every evaluation reads. Their seeds are refused as training
seeds, so no training stream draws them. Radio sets are simulated once per process and
shared (read-only); galaxy sets come from the renderer's disk cache."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from autoenc.data import galaxies
from autoenc.data.galaxy_set import GalaxySet
from autoenc.data.radio import TRAINING_NOISES, RadioSet, simulate
from autoenc.errors import UserError

RADIO_SEED = 424_242
RADIO_SIZE = 2000
RADIO_SNR = (2.0, 20.0)


@lru_cache(maxsize=len(TRAINING_NOISES))
def radio(noise: str) -> RadioSet:
    """2000 traces, SNR log-uniform 2-20, no noise-only ones; a fixed seed per noise type
    (the mix of all three too)."""
    if noise not in TRAINING_NOISES:
        raise UserError(f"noise must be one of {', '.join(TRAINING_NOISES)}, not {noise!r}")
    data = simulate(RADIO_SIZE, noise, RADIO_SNR, seed=(RADIO_SEED, TRAINING_NOISES.index(noise)))
    for a in (data.noisy, data.clean, data.snr):
        a.setflags(write=False)
    return data


@dataclass(frozen=True)
class HeldOutGalaxies:
    """n rendered galaxies from a reserved seed, at whatever size a model works at."""
    n: int
    seed: int

    def images(self, size: int) -> GalaxySet:
        return galaxies.rendered_set(self.n, size, self.seed)      # looked up now: tests stand in for it


# The classifier's test set, and the real images the GAN measures compare samples with. Read
# them as heldout.JUDGE_GALAXIES / heldout.VAE_GALAXIES, so a test can swap in a smaller set.
JUDGE_GALAXIES = HeldOutGalaxies(n=600, seed=909_090)
# The VAE's evaluation set (recon error, KL, the page's galaxies to pick from).
VAE_GALAXIES = HeldOutGalaxies(n=300, seed=900_001)
# The galaxies the VAE page's latent map places (a few thousand: the classes' clouds and the holes show).
MAP_GALAXIES = HeldOutGalaxies(n=2000, seed=900_777)
# The masked autoencoder's evaluation set (masked and baseline errors, the page's galaxies).
MAE_GALAXIES = HeldOutGalaxies(n=300, seed=900_002)
# The linear probes' galaxies (the map's set): the first half fits a probe, the second half tests it.
PROBE_GALAXIES = HeldOutGalaxies(n=MAP_GALAXIES.n, seed=MAP_GALAXIES.seed)
