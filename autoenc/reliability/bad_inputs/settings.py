"""Settings as the pages pass them to a model's config."""
from __future__ import annotations

from autoenc.registry import get_model
from autoenc.reliability.bad_inputs import CASES, Case
from autoenc.train.task import config_from_dict


def settings(model: str, values: dict) -> str:
    config_from_dict(get_model(model).task_class().Config, values)
    return "accepted"


# name: (model, settings, the reason the message must give)
REFUSED: dict[str, tuple[str, dict, str]] = {
    "setting_unknown_name": ("denoiser", {"learning_rate": 0.1}, "unknown setting(s) for this model: learning_rate"),
    "setting_text_for_number": ("denoiser", {"lr": 'fast'}, "lr must be a number"),
    "setting_infinite_lr": ("vae", {"lr": float("inf")}, "lr must be a finite number"),
    "setting_none_for_steps": ("gan", {"steps": None}, "steps must be a whole number"),
    "setting_snr_range_reversed": ("denoiser", {"snr_min": 20.0, "snr_max": 2.0}, "must not exceed snr_max"),
    "setting_vae_image_size": ("vae", {"image_size": 100}, "image_size must be one of"),
    "setting_beta_negative": ("vae", {"beta": -1.0}, "beta must be at least"),
    "setting_gp_lambda_huge": ("wgan-gp", {"gp_lambda": 1000000000.0}, "gp_lambda must be at most"),
    "setting_div_power_zero": ("wgan-div", {"div_p": 0.0}, "div_p must be at least"),
    "setting_n_critic_zero": ("wgan-gp", {"n_critic": 0}, "n_critic must be at least 1"),
}
for _name, (_model, _values, _reason) in REFUSED.items():
    CASES.append(Case(_name, "settings", (lambda m, v: lambda tmp: settings(m, v))(_model, _values), _reason))
