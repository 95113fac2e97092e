"""The trained VAE on uint8 galaxy images: reconstructions, interpolations, samples,
traversals, reconstruction errors (the anomaly view) and its figures on the held-out set.

Images cross this module's boundary as uint8 arrays (N, H, W, 3) (or one (H, W, 3));
inside, the networks see float NCHW in [0, 1]. Everything runs the deterministic mean
path (z = mu, no sampling): what a slider should show.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from autoenc.data import heldout
from autoenc.errors import CheckpointError, UserError
from autoenc.images import check_images, to_uint8
from autoenc.metrics.probe import split_probe
from autoenc.models.vae import active_dims, describe, kl_per_dimension
from autoenc.runs.checkpoint import read_meta
from autoenc.trained import Trained, load_trained, shipped_checkpoint

MODEL = "vae"                                 # the registry's name of what this module loads
INFERENCE_CHUNK = 256                         # images per forward pass
MAX_SAMPLES = 1024


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _check_images(model: nn.Module, images, what: str = "images") -> np.ndarray:
    return check_images(images, model.image_size, f"this {model.describe()}", what)


def _to_float(model: nn.Module, a: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [0, 1] on the model's device."""
    t = torch.from_numpy(np.ascontiguousarray(a)).to(_device(model))
    return t.permute(0, 3, 1, 2).float().div_(255)


def _chunks(n: int, size: int = INFERENCE_CHUNK) -> Iterator[slice]:
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


def _latent(model: nn.Module, z, what: str = "latent vectors") -> torch.Tensor:
    t = torch.as_tensor(np.asarray(z, dtype=np.float32) if not torch.is_tensor(z) else z, dtype=torch.float32)
    if t.ndim == 1:
        t = t[None]
    if t.ndim != 2 or t.shape[1] != model.latent_dim:
        raise UserError(f"{what} must have {model.latent_dim} numbers each (this VAE's latent size), "
                        f"not shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise UserError(f"{what} contain NaN or infinite values")
    return t.to(_device(model))


@torch.inference_mode()
def encode_images(model: nn.Module, images) -> np.ndarray:
    """uint8 images -> (N, latent) float32 posterior means mu."""
    model.eval()
    a = _check_images(model, images)
    out = [model.encode(_to_float(model, a[s]))[0] for s in _chunks(len(a))]
    return torch.cat(out).cpu().numpy()


@torch.inference_mode()
def decode_latents(model: nn.Module, z) -> np.ndarray:
    """(N, latent) or (latent,) -> uint8 images (N, S, S, 3)."""
    model.eval()
    t = _latent(model, z)
    return np.concatenate([to_uint8(model.decode(t[s])) for s in _chunks(len(t))])


@torch.inference_mode()
def reconstruct(model: nn.Module, images) -> np.ndarray:
    """uint8 images -> their reconstructions decode(mu(x)), uint8."""
    model.eval()
    a = _check_images(model, images)
    out = []
    for s in _chunks(len(a)):
        mu, _ = model.encode(_to_float(model, a[s]))
        out.append(to_uint8(model.decode(mu)))
    return np.concatenate(out)


@torch.inference_mode()
def reconstruction_errors(model: nn.Module, images) -> np.ndarray:
    """(N,) mean squared error per pixel value of each image's reconstruction (pixels in
    [0, 1]): rank by it to find what the VAE finds unusual (the anomaly view)."""
    model.eval()
    a = _check_images(model, images)
    out = []
    for s in _chunks(len(a)):
        x = _to_float(model, a[s])
        mu, _ = model.encode(x)
        out.append((model.decode(mu) - x).pow(2).flatten(1).mean(1))
    return torch.cat(out).double().cpu().numpy()


@torch.inference_mode()
def latent_kl(model: nn.Module, images) -> np.ndarray:
    """(latent,) mean KL of each latent dimension over these images (nats): the bar chart
    of which dimensions are in use (see active_dims)."""
    model.eval()
    a = _check_images(model, images)
    total = torch.zeros(model.latent_dim, dtype=torch.float64)
    for s in _chunks(len(a)):
        mu, logvar = model.encode(_to_float(model, a[s]))
        total += kl_per_dimension(mu, logvar).double().cpu() * (s.stop - s.start)
    return (total / len(a)).numpy()


def _two_different(model: nn.Module, img_a, img_b) -> np.ndarray:
    a = _check_images(model, img_a, "the first image")
    b = _check_images(model, img_b, "the second image")
    if len(a) != 1 or len(b) != 1:
        raise UserError("interpolation takes exactly one image at each end")
    if np.array_equal(a, b):
        raise UserError("both ends of the interpolation are the same image, so every step would "
                        "decode to the same reconstruction: pick two different galaxies")
    return np.concatenate([a, b])


@torch.inference_mode()
def _endpoint_means(model: nn.Module, img_a, img_b) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    ab = _two_different(model, img_a, img_b)
    mu, _ = model.encode(_to_float(model, ab))
    return mu[0], mu[1]


@torch.inference_mode()
def interpolate(model: nn.Module, img_a, img_b, t: float) -> np.ndarray:
    """The image decoded from (1 - t) mu_a + t mu_b, t in [0, 1]: uint8 (S, S, 3).
    At t = 0 and t = 1 it is the reconstruction of a and of b."""
    t = float(t)
    if not (0.0 <= t <= 1.0):
        raise UserError(f"the interpolation position t must be between 0 and 1, not {t}")
    mu_a, mu_b = _endpoint_means(model, img_a, img_b)
    z = (1 - t) * mu_a + t * mu_b
    return to_uint8(model.decode(z[None]))[0]


@torch.inference_mode()
def interpolation_strip(model: nn.Module, img_a, img_b, steps: int = 8) -> np.ndarray:
    """uint8 (steps, S, S, 3) along the latent mean path from a (first) to b (last)."""
    if not isinstance(steps, (int, np.integer)) or not 2 <= steps <= 256:
        raise UserError(f"an interpolation strip needs 2 to 256 steps, not {steps!r}")
    mu_a, mu_b = _endpoint_means(model, img_a, img_b)
    t = torch.linspace(0, 1, int(steps), device=mu_a.device)[:, None]
    return to_uint8(model.decode((1 - t) * mu_a + t * mu_b))


@torch.inference_mode()
def sample_prior(model: nn.Module, n: int, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
    """n new images decoded from z ~ N(0, temperature^2 I), deterministic for a seed:
    uint8 (n, S, S, 3). Temperature 1 samples the prior itself; a VAE trained with a small
    beta packs its codes closer to the origin than the prior (the "holes" in its latent
    space), and a temperature below 1 draws from where its codes actually are."""
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_SAMPLES:
        raise UserError(f"number of samples must be a whole number from 1 to {MAX_SAMPLES}, not {n!r}")
    if not 0.0 <= float(temperature) <= 10.0:
        raise UserError(f"temperature must be between 0 and 10, not {temperature}")
    model.eval()
    g = torch.Generator().manual_seed(int(seed))
    z = torch.randn(int(n), model.latent_dim, generator=g) * float(temperature)
    return decode_latents(model, z)


@torch.inference_mode()
def traverse(model: nn.Module, base_mu, dim: int, values: Sequence[float]) -> np.ndarray:
    """Decode base_mu with latent dimension `dim` set to each of `values`: uint8 (len(values), S, S, 3)."""
    base = _latent(model, base_mu, "the starting latent vector")
    if len(base) != 1:
        raise UserError("traverse starts from one latent vector")
    if not isinstance(dim, (int, np.integer)) or not 0 <= dim < model.latent_dim:
        raise UserError(f"latent dimension must be from 0 to {model.latent_dim - 1}, not {dim!r}")
    v = torch.as_tensor(np.asarray(values, dtype=np.float32).ravel())
    if len(v) == 0 or len(v) > MAX_SAMPLES:
        raise UserError(f"give 1 to {MAX_SAMPLES} values to traverse, not {len(v)}")
    z = base.repeat(len(v), 1)
    z[:, int(dim)] = v.to(z.device)
    return decode_latents(model, z)


@torch.inference_mode()
def fit_latent_gaussian(model: nn.Module, images) -> tuple[np.ndarray, np.ndarray]:
    """(mean (latent,), covariance (latent, latent)) of the codes mu(x) of these images: a
    Gaussian fitted to the aggregate posterior. Codes of a VAE trained with a small beta
    are correlated and fill only part of N(0, I) (the shipped model's covariance has
    eigenvalues from ~7 down to ~0.001), so decoding prior samples lands off the data;
    sampling this fit instead ("ex-post density estimation", Ghosh et al. 2020) does not."""
    mu = encode_images(model, images).astype(np.float64)
    if len(mu) < 2:
        raise UserError("fitting the codes' distribution needs at least 2 images")
    return mu.mean(0).astype(np.float32), np.atleast_2d(np.cov(mu, rowvar=False)).astype(np.float32)


@torch.inference_mode()
def sample_latent_gaussian(model: nn.Module, n: int, seed: int, mean, cov, temperature: float = 1.0) -> np.ndarray:
    """n images decoded from z ~ N(mean, temperature^2 cov) (see fit_latent_gaussian), uint8."""
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_SAMPLES:
        raise UserError(f"number of samples must be a whole number from 1 to {MAX_SAMPLES}, not {n!r}")
    if not 0.0 <= float(temperature) <= 10.0:
        raise UserError(f"temperature must be between 0 and 10, not {temperature}")
    d = model.latent_dim
    mean = torch.as_tensor(np.asarray(mean, np.float64)).reshape(-1)
    cov = torch.as_tensor(np.asarray(cov, np.float64))
    if mean.shape != (d,) or cov.shape != (d, d):
        raise UserError(f"the fitted Gaussian must have a mean of {d} numbers and a {d}x{d} covariance")
    chol = torch.linalg.cholesky(cov + 1e-6 * torch.eye(d, dtype=cov.dtype))
    g = torch.Generator().manual_seed(int(seed))
    eps = torch.randn(int(n), d, generator=g, dtype=torch.float64)
    return decode_latents(model, (mean + float(temperature) * eps @ chol.T).float())


def latent_gaussian(trained: Trained) -> tuple[np.ndarray, np.ndarray]:
    """The fit stored in a checkpoint (made on training images when it was saved), else
    one made now on the held-out set."""
    extra = trained.extra
    if "latent_mean" in extra and "latent_cov" in extra:
        return extra["latent_mean"].numpy(), extra["latent_cov"].numpy()
    model = trained.modules["vae"]
    return fit_latent_gaussian(model, heldout.VAE_GALAXIES.images(model.image_size).images)


def load_vae(path: str | Path | None = None, *, arch: str | None = None, image_size: int | None = None) -> Trained:
    """A trained VAE from a checkpoint (default: the shipped conv 64 px one); .modules['vae']
    is the network in eval mode. arch / image_size, when given, must match the file's."""
    path = Path(path) if path is not None else shipped_checkpoint(MODEL)
    meta = read_meta(path)
    conf = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    held = describe(str(conf.get("arch", "?")), conf.get("image_size", "?"), conf.get("latent_dim"))
    if meta.get("model") == MODEL:
        if arch is not None and conf.get("arch") != arch:
            raise CheckpointError(f"{path.name} holds a {held}, not a {arch} VAE")
        if image_size is not None and conf.get("image_size") != image_size:
            raise CheckpointError(f"{path.name} holds a {held}, not one for {image_size} px images")
    try:
        return load_trained(path, MODEL)
    except CheckpointError as e:
        if meta.get("model") != MODEL:
            raise
        raise CheckpointError(f"{path.name} says it holds a {held}, but its weights do not fit one: {e}") from None


def probe(model: nn.Module) -> float:
    """Linear-probe accuracy (barred / elliptical / spiral) of the latent means on the probe
    galaxies (fit on one half, scored on the other): measured as the MAE's is."""
    probe_set = heldout.PROBE_GALAXIES.images(model.image_size)
    return split_probe(encode_images(model, probe_set.images), probe_set.labels)


@torch.inference_mode()
def evaluate(model: nn.Module) -> dict:
    """On the held-out galaxies at the model's image size: recon_mse (per pixel value, [0, 1]
    units, mean reconstruction), kl (nats per image), active_dims (KL > 0.01 nats), n; and
    probe_accuracy on the probe galaxies."""
    images = heldout.VAE_GALAXIES.images(model.image_size).images
    errors = reconstruction_errors(model, images)
    kl_dim = latent_kl(model, images)
    return {"recon_mse": float(errors.mean()), "kl": float(kl_dim.sum()),
            "active_dims": active_dims(torch.from_numpy(kl_dim)), "n": int(len(images)),
            "probe_accuracy": probe(model)}


