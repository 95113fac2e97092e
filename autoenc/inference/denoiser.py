"""The trained denoiser on traces in microvolts: recovered pulses, and what the page shows
about a model on a set of traces (figures, example traces, spectra)."""
from __future__ import annotations

import numpy as np
import torch

from autoenc.data import heldout
from autoenc.data.radio import RadioSet, from_unit, to_unit, unit_scale
from autoenc.metrics.signal import has_signal, peak_accuracy, per_snr_bin, power_spectrum, snr_gain_db
from autoenc.models.denoiser import Denoiser

# The article's figures: the recovered peak within 2 % of the true one, per noise type.
ARTICLE_ACCURACY = {"galactic": 0.69, "uniform": 0.95, "cosine": 0.98}
INFERENCE_CHUNK = 1024
EXAMPLE_SNRS = (3.0, 6.0, 12.0)   # the traces shown live and on the page: hard, middling, easy


def predict_unit(model: Denoiser, x: torch.Tensor) -> torch.Tensor:
    """The model on [0, 1]-unit traces (N, 500), in chunks, without gradients."""
    with torch.no_grad():
        return torch.cat([model(x[i:i + INFERENCE_CHUNK]) for i in range(0, len(x), INFERENCE_CHUNK)])


def denoise(model: Denoiser, noisy: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Recovered pulses in microvolts for noisy traces (N, 500) or (500,) in microvolts.

    scale: A of the [0, 1] map; default the one the model was trained with.
    """
    noisy = np.asarray(noisy, dtype=np.float32)
    a = float(model.scale) if scale is None else scale
    x = torch.from_numpy(to_unit(noisy, a).reshape(-1, noisy.shape[-1])).to(model.scale.device)
    out = predict_unit(model, x).cpu().numpy()
    return from_unit(out, a).reshape(noisy.shape).astype(np.float32)


def evaluate(model: Denoiser, noise: str) -> dict:
    """peak_accuracy, snr_gain_db and n on the fixed held-out set of a noise type."""
    data = heldout.radio(noise)
    recovered = denoise(model, data.noisy)
    return {"peak_accuracy": peak_accuracy(recovered, data.clean),
            "snr_gain_db": snr_gain_db(data.noisy, recovered, data.clean), "n": len(data)}


def evaluate_bins(model: Denoiser, noise: str) -> list[dict]:
    """Peak accuracy and SNR gain per SNR bin (2-3, 3-6, 6-20) on the held-out set."""
    data = heldout.radio(noise)
    return per_snr_bin(data.noisy, denoise(model, data.noisy), data.clean, data.snr)


def example_indices(data: RadioSet, snrs=EXAMPLE_SNRS) -> tuple[int, ...]:
    """Traces with a pulse whose SNR is nearest each of snrs (the first traces if none has one)."""
    with_pulse = np.flatnonzero(has_signal(data.clean))
    if len(with_pulse) == 0:
        return tuple(range(min(len(snrs), len(data))))
    return tuple(int(with_pulse[np.argmin(np.abs(data.snr[with_pulse] - s))]) for s in snrs)


def report(model: Denoiser, data: RadioSet, rescale: bool = False) -> dict:
    """Everything the page shows about a model on a set of traces.

    rescale: map the traces with their own A (for files in other units than the simulator's).
    Only a few example traces are kept, not the whole set: the page caches this per
    checkpoint, and Streamlit copies a cached value on every read.
    """
    scale = unit_scale(data.noisy) if rescale else None
    recovered = denoise(model, data.noisy, scale)
    return {
        "n": len(data),
        "examples": [{"noisy": data.noisy[i].copy(), "truth": data.clean[i].copy(), "output": recovered[i],
                      "snr": float(data.snr[i])} for i in example_indices(data)],
        "peak_accuracy": peak_accuracy(recovered, data.clean),
        "snr_gain_db": snr_gain_db(data.noisy, recovered, data.clean),
        "bins": per_snr_bin(data.noisy, recovered, data.clean, data.snr),
        "spectrum_noisy": power_spectrum(data.noisy),
        "spectrum_clean": power_spectrum(data.clean),
        "spectrum_output": power_spectrum(recovered),
    }
