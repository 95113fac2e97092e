"""What each page's Train button starts with its widgets untouched (pages/denoiser.py,
pages/vae.py, pages/mae.py, pages/ui/gan.py): the runs students make, which the fault harness kills, the
checkpoint benchmark measures and the time-to-quality benchmark times."""
from __future__ import annotations

from autoenc.registry import get_model
from autoenc.train.task import config_from_dict

# The recipe a page trains with where it differs from its model's config defaults (the papers'
# settings, which the CLI and the shipped checkpoints keep): what reached a page worth looking
# at soonest on one CPU core (bench: <model>.train_s_to_quality; docs/time-to-quality.md).
# Batch 32 gives 1.6x the steps of 64 in the same time at 32 px, and a moving average of G
# steadies the samples; the acGAN weights G's class loss 3x and trains D's class head on
# real galaxies only (as the shipped file's later stages do): its class accuracy stalled
# near 0.58 with the paper's weights; Adam without momentum (beta1 0, as the WGANs train)
# took it to 0.8 in 146-171 s where the DCGAN betas did not within 200 s. The WGANs' 5
# critic steps leave 2.5 G steps a second; with 2 their class mix moves within two minutes.
# All four average G over ~1000 steps (0.999), a small gain in single runs (GAN: goal met in
# 2 of 2 runs, against 1 of 2 at 0.99; WGAN-GP: class-mix TV 0.34 against 0.38 over 90-150 s;
# WGAN-div: 0.34 at 120 s against 0.41-0.47 in earlier runs; acGAN: 45-135 s, median 118,
# against 75-170 s, median 125). The acGAN's G starts its output bias at the dark sky (as the
# WGANs' do): at 0.99 it met its goal in 75-170 s (median 125) against 146-171 s (median 158)
# from mid grey.
# The conv VAE (the paper MLP keeps its defaults: it needs large batches) learns more per
# second in batches of 8 at half the learning rate: held-out recon 3.8e-4 at 120 s against the
# defaults' 4.6e-4 (both bf16; 6.4e-4 with the defaults in fp32); with its codes starting sharp
# (logvar -6) it was nearer still in most seeds (docs/time-to-quality.md).
PAGE_RECIPE: dict[str, dict] = {
    "vae": {"lr": 1e-3, "batch_size": 8, "logvar_start": -6.0},
    "gan": {"lr": 5e-4, "batch_size": 32, "ema_decay": 0.999},
    "acgan": {"lr": 5e-4, "batch_size": 32, "ema_decay": 0.999, "fake_class_weight": 0.0, "class_weight": 3.0,
              "betas": (0.0, 0.99), "sky_bias": True},
    "wgan-gp": {"lr": 3e-4, "batch_size": 32, "ema_decay": 0.999, "n_critic": 2},
    "wgan-div": {"lr": 3e-4, "batch_size": 32, "ema_decay": 0.999, "n_critic": 2},
}
# The settings a page's widgets start at.
PAGE_WIDGETS: dict[str, dict] = {
    "denoiser": {"snr_min": 2.0, "snr_max": 20.0},
    "vae": {"arch": "conv", "image_size": 64},
    "mae": {"image_size": 64},
    **{m: {"image_size": 32} for m in ("gan", "acgan", "wgan-gp", "wgan-div")},
}
PAGE_SETTINGS: dict[str, dict] = {m: {**PAGE_RECIPE.get(m, {}), **w} for m, w in PAGE_WIDGETS.items()}
PAGE_TIME_LIMIT: dict[str, float] = {"denoiser": 60.0, "vae": 300.0, "mae": 300.0,
                                     **{m: 300.0 for m in ("gan", "acgan", "wgan-gp", "wgan-div")}}


def page_config(model: str):
    """The config a page trains with before its widgets change anything: the defaults and
    the page's recipe (its text quotes these values)."""
    return config_from_dict(get_model(model).task_class().Config, PAGE_RECIPE.get(model, {}))
