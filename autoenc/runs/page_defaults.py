"""What each page's Train button starts with its widgets untouched (pages/denoiser.py,
pages/vae.py, pages/ui/gan.py): the runs students make, which the fault harness kills and
the checkpoint benchmark measures."""
from __future__ import annotations

PAGE_SETTINGS: dict[str, dict] = {
    "denoiser": {"snr_min": 2.0, "snr_max": 20.0},
    "vae": {"arch": "conv", "image_size": 64},
    **{m: {"image_size": 32} for m in ("gan", "acgan", "wgan-gp", "wgan-div")},
}
PAGE_TIME_LIMIT: dict[str, float] = {"denoiser": 60.0, "vae": 300.0,
                                     **{m: 300.0 for m in ("gan", "acgan", "wgan-gp", "wgan-div")}}
