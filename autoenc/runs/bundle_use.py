"""How a bundle's checkpoint is used elsewhere: the Python snippet its README shows. Each
model's Task names its snippet (Task.usage_snippet, one of the texts below).

The snippet is the bundle's promise that the file works with the library alone, so the
bundle's preview image is made by running that same snippet (`run_snippet`), not by other
code that could drift from it; tests/test_bundle.py runs it again out of an unpacked bundle.
"""
from __future__ import annotations

import runpy
import tempfile
from pathlib import Path

from autoenc.registry import get_model

CHECKPOINT = "checkpoint.safetensors"
OUTPUT = "snippet-output.png"      # what the snippet writes

GAN_TEMPLATE = '''\
from PIL import Image
from autoenc.images import image_grid
from autoenc.inference.gan import generate, sampling_generator
from autoenc.trained import load_trained

trained = load_trained("{checkpoint}", "{model}")
generator = sampling_generator(trained.modules)      # the moving average of G where the file has one
images = generate(generator, 16, seed=0%s)      # (16, H, W, 3) uint8
Image.fromarray(image_grid(images, ncols=8)).save("{output}")
print("{output}:", len(images), "samples of", images.shape[1], "px")
'''

GAN = GAN_TEMPLATE % ""
ACGAN = GAN_TEMPLATE % ", labels=0"          # class 0 only; labels=None cycles through the classes

DENOISER = '''\
from PIL import Image
from autoenc.animation import trace_frame
from autoenc.data import radio
from autoenc.inference.denoiser import denoise
from autoenc.trained import load_trained

model = load_trained("{checkpoint}", "denoiser").modules["denoiser"]
traces = radio.simulate(3, "{noise}", (2.0, 20.0), seed=0)   # noisy and clean traces in µV
recovered = denoise(model, traces.noisy)
rms = ((recovered - traces.clean) ** 2).mean() ** 0.5
Image.fromarray(trace_frame(list(zip(traces.noisy, traces.clean, recovered)))).save("{output}")
print("{output}: 3 traces; RMS error of the recovered pulses %.1f µV" % rms)
'''

MAE = '''\
from PIL import Image
from autoenc.data import heldout
from autoenc.images import image_grid
from autoenc.inference.mae import reconstruct
from autoenc.trained import load_trained

trained = load_trained("{checkpoint}", "mae")
galaxies = heldout.MAE_GALAXIES.images({image_size}).images[:8]      # held-out renders, uint8
out = reconstruct(trained.modules["mae"], galaxies, ratio=0.75, seed=0, norm_pix=trained.config.norm_pix)
Image.fromarray(image_grid([*out.masked, *out.reconstruction, *galaxies], ncols=8)).save("{output}")
print("{output}: 8 galaxies, 75 %% hidden; MSE on the hidden patches %.4f" % out.error.mean())
'''

VAE = '''\
from PIL import Image
from autoenc.images import image_grid
from autoenc.inference.vae import sample_prior
from autoenc.trained import load_trained

vae = load_trained("{checkpoint}", "vae").modules["vae"]
images = sample_prior(vae, 16, seed=0)                  # decoded from z ~ N(0, I): (16, S, S, 3) uint8
Image.fromarray(image_grid(images, ncols=8)).save("{output}")
print("{output}:", len(images), "galaxies drawn from the prior")
'''

CLASSIFIER = '''\
from PIL import Image
from autoenc.data.galaxies import render
from autoenc.images import image_grid
from autoenc.inference.classifier import predict_proba
from autoenc.trained import load_trained

trained = load_trained("{checkpoint}", "classifier")
galaxies = render(16, size=trained.config.image_size, seed=0)
accuracy = (predict_proba(trained.modules["classifier"], galaxies.images).argmax(1) == galaxies.labels).mean()
Image.fromarray(image_grid(galaxies.images, ncols=8)).save("{output}")
print("{output}: 16 rendered galaxies, classified with accuracy %.2f" % accuracy)
'''


def snippet(model: str, config: dict, checkpoint: str = CHECKPOINT, output: str = OUTPUT) -> str:
    """About 10 lines that load the checkpoint with the library and draw samples (or denoise
    traces) into `output`; the config fills what the text names (the denoiser's noise)."""
    return get_model(model).task_class().usage_snippet.format_map(
        {"noise": "galactic", **config, "checkpoint": checkpoint, "output": output, "model": model})


def run_snippet(model: str, config: dict, checkpoint: Path) -> bytes:
    """The snippet run on `checkpoint` in a scratch folder: the PNG it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / OUTPUT
        code = snippet(model, config, checkpoint=str(Path(checkpoint).resolve()).replace("\\", "/"), output=str(out))
        script = Path(tmp) / "snippet.py"
        script.write_text(code)
        runpy.run_path(str(script), run_name="__bundle_snippet__")
        return out.read_bytes()
