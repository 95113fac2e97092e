"""GAN, acGAN, WGAN-GP and WGAN-div on galaxy thumbnails: one step, four loss pairs.

`GANTask.train_step` is the only GAN training step. It runs `n_critic` critic updates,
then one generator update; a variant says only how its critic and generator losses are
computed (`critic_loss`, `generator_loss`), so a lost `.detach()` or `n_critic` cannot
creep into one copy of the loop.

What makes the step fast (measured by `benchmarks()` against `ReferenceLoop`, the same
nets trained the way GAN examples usually write it):
  - the data set lives on the device as one uint8 tensor; a batch is a random-index
    gather plus one affine map to [-1, 1] (no per-batch numpy -> tensor copy);
  - fused Adam (one kernel for all parameters instead of a loop over them);
  - the generator runs without autograd in all but the last critic update, and the
    generator update reuses that last forward instead of running G again;
  - during the generator update the critic's weights do not require gradients, so the
    backward pass through the critic skips their weight gradients; the critic's backward
    pass computes gradients for its weights only (not for a penalty's input images);
  - without BatchNorm in the critic, real and fake go through it as one batch;
  - channels_last memory on CPU (DESIGN §4: about 7 %);
  - losses stay on the device and are read back once per step.
Convolutions are 85-90 % of a step in both loops (the penalties' double backward most of
all), so the gain is work removed, not faster kernels. Measured with 1 thread on the
shared 2-core machine: 1.2-1.3x for the GAN, 1.25-1.5x for acGAN and WGAN-GP, 1.15-1.25x
for WGAN-div, at 32 and 64 px alike.

Live measures: every eval_every steps `validate` judges 256 samples from one fixed z with
the shipped galaxy classifier (class histogram, TV distance to the data's, coverage,
precision, recall, KID; class accuracy for acGAN), at about 5 % of the training time
(bench: gan.metrics_overhead); without the classifier file it measures nothing.
"""
from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, ClassVar, Iterator

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from autoenc.errors import CheckpointError, UserError
from autoenc.images import image_grid  # noqa: F401 - re-exported for the GAN pages
from autoenc.metrics.images import class_histogram, kid, prdc, total_variation
from autoenc.models.gan import IMAGE_SIZES, N_CLASSES, NORMS, Z_DIM, build_critic, build_generator
from autoenc.train import losses
from autoenc.train.classifier import INFERENCE_BATCH, Judge, heldout_set, load_classifier, to_tensor
from autoenc.train.classifier import PRETRAINED_FILE as CLASSIFIER_FILE
from autoenc.train.pretrain import PretrainItem, pretrained_path
from autoenc.train.task import Task, TrainSettings, setting

PRECISIONS = ("auto", "fp32", "bf16")

# -- configs -------------------------------------------------------------------------------

@dataclass
class GANConfig(TrainSettings):
    """DCGAN with the BCE loss (Radford et al. 2016)."""
    steps: int = setting(3000, "generator steps to train for", lo=1, hi=10_000_000)
    batch_size: int = setting(64, "images per batch (DCGAN: 64)", lo=2, hi=1024)
    lr: float = setting(2e-4, "Adam learning rate of both nets (DCGAN: 2e-4)", lo=1e-7, hi=1.0)
    # A validation pass (256 samples through the classifier) costs about 10 steps of a 32 px
    # GAN: every 200 steps keeps it near 5 % of the time (bench: gan.metrics_overhead).
    eval_every: int = setting(200, "steps between validation passes (class histogram, coverage, KID)", lo=1)
    checkpoint_every: int = setting(250, "steps between checkpoints (a 32 px step takes ~0.1 s)", lo=1)
    image_size: int = setting(32, "image side in pixels (32 trains live on a CPU; 64 is the shipped size)",
                              choices=IMAGE_SIZES)
    ngf: int = setting(32, "generator width: channels of its last hidden layer (G is 1.1 M params at 64 px)",
                       lo=4, hi=256)
    ndf: int = setting(32, "critic width: channels of its first layer", lo=4, hi=256)
    z_dim: int = setting(Z_DIM, "length of the noise vector z", lo=1, hi=1024)
    n_critic: int = setting(1, "critic updates per generator update", lo=1, hi=20)
    betas: tuple = setting((0.5, 0.999), "Adam betas (DCGAN: 0.5, 0.999; beta1 0.9 made DCGAN unstable)")
    critic_norm: str = setting("batch", "normalisation in the critic (DCGAN: batch)", choices=NORMS)
    n_images: int = setting(3000, "rendered training images (cached on disk after the first run)",
                            lo=16, hi=200_000)
    data_seed: int = setting(0, "seed of the rendered training set", lo=0)
    data: str = setting("rendered", "galaxy set to train on: rendered, or a set imported on the Datasets page")
    # Off for DCGAN and acGAN (their lr of 2e-4 and 1 critic step darken the sky within a
    # few hundred steps, and their shipped checkpoints have no output bias); on for the WGANs.
    sky_bias: bool = setting(False, "give the generator an output bias that starts at a dark sky")
    precision: str = setting("auto", "arithmetic of the nets: fp32; bf16 (mixed precision: the convolutions "
                                     "in bfloat16, weights, optimiser and losses in fp32); auto = bf16 where "
                                     "the CPU computes it natively, else fp32", choices=PRECISIONS)
    # Off by default: at 64 px it measured no better. acGAN after 1000 averaged steps: KID 0.20
    # against the raw generator's 0.15; WGAN-GP after 500: class-histogram TV 0.13 against 0.03.
    ema_decay: float = setting(0.0, "decay of an exponential moving average of the generator's weights, "
                                    "which then draws every sample (0 = off; 0.999 averages over "
                                    "about the last 1000 steps)", lo=0.0, hi=0.9999)
    augment: bool = setting(False, "show the critic every image, real and generated, turned by a random flip "
                                   "and quarter turn (differentiable, so the generator's gradient passes "
                                   "through): a galaxy has no orientation, and the critic can no longer lean "
                                   "on cues of one")

    def check(self) -> None:
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise UserError(f"betas must be two numbers in [0, 1), not {self.betas!r}")


@dataclass
class ACGANConfig(GANConfig):
    """acGAN: the DCGAN settings and the weights of the two class losses."""
    fake_class_weight: float = setting(1.0, "weight of the class loss on generated images in the critic's loss "
                                            "(Odena et al.: 1; 0 trains the class head on real galaxies only)",
                                       lo=0.0, hi=10.0)
    class_weight: float = setting(1.0, "weight of the class loss in the generator's loss (Odena et al.: 1)",
                                  lo=0.0, hi=100.0)


@dataclass
class WGANConfig(GANConfig):
    """Settings the two WGANs share (Gulrajani et al. 2017, Algorithm 1)."""
    lr: float = setting(1e-4, "Adam learning rate of both nets (WGAN-GP: 1e-4)", lo=1e-7, hi=1.0)
    n_critic: int = setting(5, "critic updates per generator update (WGAN-GP: 5)", lo=1, hi=20)
    # beta1 = 0: momentum works against a critic chasing a moving generator; WGAN-GP's
    # paper uses (0, 0.9) and the original WGAN avoided momentum for the same reason.
    betas: tuple = setting((0.0, 0.9), "Adam betas (WGAN-GP: 0, 0.9: no momentum for the critic)")
    critic_norm: str = setting("layer", "normalisation in the critic: per-sample only, the penalty is per sample",
                               choices=NORMS)
    steps: int = setting(1000, "generator steps to train for (each takes n_critic critic steps)",
                         lo=1, hi=10_000_000)
    checkpoint_every: int = setting(100, "steps between checkpoints", lo=1)
    # a WGAN step (5 critic steps) costs 6-8 GAN steps, so evaluating 4x as often costs the same share
    eval_every: int = setting(50, "steps between validation passes (class histogram, coverage, KID)", lo=1)
    sky_bias: bool = setting(True, "give the generator an output bias that starts at a dark sky (models/gan.py: "
                                   "at lr 1e-4 the sky otherwise stays grey for thousands of steps)")

    def check(self) -> None:
        super().check()
        if self.critic_norm == "batch":
            raise UserError("a WGAN critic cannot use BatchNorm: the gradient penalty is taken per sample, and "
                            "BatchNorm makes each sample's score depend on the rest of the batch; "
                            "pick layer, instance or none")


@dataclass
class WGANGPConfig(WGANConfig):
    gp_lambda: float = setting(10.0, "gradient-penalty weight lambda (WGAN-GP: 10)", lo=0.0, hi=1000.0)


@dataclass
class WGANDivConfig(WGANConfig):
    div_k: float = setting(2.0, "penalty weight k (WGAN-div: 2)", lo=0.0, hi=1000.0)
    div_p: float = setting(6.0, "gradient-norm power p (WGAN-div: 6)", lo=1.0, hi=20.0)


# -- inference helpers ----------------------------------------------------------------------

def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) float in [-1, 1] -> (B, H, W, 3) uint8."""
    x = images.detach().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def from_uint8(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) uint8 view on the device (channels_last memory, no copy on CPU)."""
    t = torch.as_tensor(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) else images
    return t.to(device).permute(0, 3, 1, 2)


def noise(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """Standard normal z (n, z_dim), the same for a seed on every device."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(n, z_dim, generator=g)


@torch.no_grad()
def generate(generator: nn.Module, n: int, seed: int = 0, labels=None, batch_size: int = 256) -> np.ndarray:
    """n images (n, H, W, 3) uint8 from z drawn with `seed`, in eval mode (BatchNorm's running stats).

    For a conditional generator, labels is a class index or a sequence of n of them;
    None cycles through the classes (0, 1, 2, 0, ...).
    """
    return generate_from(generator, noise(n, generator.z_dim, seed), labels, batch_size)


@torch.no_grad()
def generate_from(generator: nn.Module, z: torch.Tensor, labels=None, batch_size: int = 256) -> np.ndarray:
    """Images (n, H, W, 3) uint8 from the given z (n, z_dim); labels as for `generate`."""
    device = next(generator.parameters()).device
    n = len(z)
    y = None
    if generator.n_classes:
        if labels is None:
            y = torch.arange(n) % generator.n_classes
        else:
            y = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
            y = y.expand(n) if y.numel() == 1 else y
            if len(y) != n or y.min() < 0 or y.max() >= generator.n_classes:
                raise UserError(f"labels must be {n} class numbers from 0 to {generator.n_classes - 1}")
    was_training = generator.training
    if was_training:        # a loaded model is already in eval mode: leave it untouched
        generator.eval()
    try:
        out = []
        for i in range(0, n, batch_size):
            zi = z[i:i + batch_size].to(device)
            yi = y[i:i + batch_size].to(device) if y is not None else None
            out.append(to_uint8(generator(zi, yi)))
    finally:
        if was_training:
            generator.train()
    if not out:
        s = generator.image_size
        return np.zeros((0, s, s, 3), np.uint8)
    return np.concatenate(out)


def class_rows(generator: nn.Module, n_cols: int, seed: int = 0) -> np.ndarray:
    """One row per class, the same z in every column (the seed's Figure 12): (rows*cols, H, W, 3).

    Only the class changes down a column, so what the class embedding does is all there is to see.
    """
    if not generator.n_classes:
        raise UserError("only a conditional generator (acGAN) draws a chosen class")
    z = noise(n_cols, generator.z_dim, seed).repeat(generator.n_classes, 1)
    labels = torch.arange(generator.n_classes).repeat_interleave(n_cols)
    return generate_from(generator, z, labels)


EMA = "generator_ema"        # the moving-average generator's name among a task's modules


def sampling_generator(modules: dict[str, nn.Module]) -> nn.Module:
    """The net that draws a trained model's samples: the moving average where the file has one."""
    return modules[EMA] if EMA in modules else modules["generator"]


def make_ema(generator: nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of the generator's weights and BatchNorm statistics.

    The decay warms up as min(decay, (1 + n) / (10 + n)) after n updates (TensorFlow's
    ExponentialMovingAverage), so the average follows a young generator instead of holding
    on to its random start. The copy stays in eval mode: it draws, it never trains.
    """
    @torch.no_grad()
    def warmed_ema(averaged: list, current: list, n_averaged: torch.Tensor) -> None:
        n = float(n_averaged)
        d = min(decay, (1 + n) / (10 + n))
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1 - d)
        else:                       # BatchNorm's batch counters
            for a, c in zip(averaged, current):
                a.copy_(c)

    ema = AveragedModel(generator, multi_avg_fn=warmed_ema, use_buffers=True)
    ema.module.eval().requires_grad_(False)
    return ema


STANDING_BATCHES = 8         # x 64 z: the 512 draws whose BatchNorm statistics the average keeps


@torch.no_grad()
def standing_statistics(generator: nn.Module, batches: int = STANDING_BATCHES, batch_size: int = 64) -> None:
    """Re-measure the BatchNorm statistics of a moving-average generator on its own activations
    ("standing statistics", Brock et al. 2019, BigGAN). Averaging the statistics of past
    generators, as the average does along with their weights, is not the statistics of the
    averaged weights. Always the same z (a fixed seed), so the same weights get the same
    statistics. Measured on the 3400-step WGAN-div (best step 2500), eval n=1000 with sample
    seeds 0, 1, 2: class-histogram TV 0.173, 0.165, 0.145 with the averaged statistics, 0.149,
    0.154, 0.125 with standing ones (KID 0.023 -> 0.022); on the shipped WGAN-GP no change
    beyond the noise (TV 0.110, 0.122, 0.135 -> 0.114, 0.126, 0.144)."""
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None               # a plain mean over the batches below
    device = next(generator.parameters()).device
    gen = torch.Generator(device=device).manual_seed(0)
    n_classes = getattr(generator, "n_classes", 0)
    was_training = generator.training
    generator.train()
    try:
        for i in range(batches):
            z = torch.randn(batch_size, generator.z_dim, generator=gen, device=device)
            labels = (torch.arange(batch_size, device=device) + i) % n_classes if n_classes else None
            generator(z, labels)
    finally:
        generator.train(was_training)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum


def native_bf16(device: torch.device) -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX). Elsewhere oneDNN
    emulates it, and autocast made a step ~20x slower (DESIGN §4)."""
    if torch.device(device).type != "cpu":
        return False
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:          # a torch without these probes: assume emulated
        return False


def compute_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The nets' autocast dtype for a `precision` setting: None (fp32) or torch.bfloat16."""
    if precision == "bf16" or (precision == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


def _adam(params, cfg: GANConfig, device: torch.device) -> torch.optim.Adam:
    # fused Adam: one kernel over all parameters (CPU since torch 2.4, and CUDA) instead
    # of a handful of small ops per parameter tensor.
    return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), fused=device.type in ("cpu", "cuda"))


# -- measures of generated galaxies: the shipped classifier as judge (DESIGN §6) --------------

EVAL_SAMPLES = 256          # samples per validation pass, from one fixed z; as many real images
CLASS_KEYS = ("barred", "elliptical", "spiral")       # metric-name stems, in class order
HIST_METRICS = tuple(f"hist_{k}" for k in CLASS_KEYS)
DATA_HIST_METRICS = tuple(f"data_hist_{k}" for k in CLASS_KEYS)
EVAL_METRICS = HIST_METRICS + DATA_HIST_METRICS + ("tv_distance", "coverage", "precision", "recall", "kid",
                                                   "class_accuracy")
# A generator is called collapsed when its class mix is far from the data's or most real
# galaxies have no generated one near them (thresholds for teaching, not from a paper).
COLLAPSE_TV = 0.3
COLLAPSE_COVERAGE = 0.2


def random_orientation(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each image of (B, C, H, W), H = W, mirrored or not and turned by 0-3 quarter turns,
    drawn per image. Galaxies are seen at every angle, so the data's distribution does not
    change (unlike a crop or a colour jitter, which would leak into the samples: Zhao et al.
    2020, DiffAugment, apply theirs to real and fake alike for that reason, as we do). This is
    for the acGAN above all: a class head trained on real galaxies only (fake_class_weight 0)
    classified its generator's samples 99.7 % right where the judge found 76 %: the generator
    had learnt cues of the head's own, tied to one orientation, not bars and arms."""
    b, dev = images.shape[0], images.device
    turns = torch.randint(4, (b,), generator=gen, device=dev).view(b, 1, 1, 1)
    mirror = (torch.rand(b, generator=gen, device=dev) < 0.5).view(b, 1, 1, 1)
    x = torch.where(mirror, images.flip(3), images)
    out = x
    for q in (1, 2, 3):
        out = torch.where(turns == q, torch.rot90(x, q, (2, 3)), out)
    return out


def judge_file() -> Path:
    """The shipped classifier's checkpoint (it may not exist yet)."""
    return pretrained_path(CLASSIFIER_FILE)


def shipped_file(model: str) -> Path:
    """The shipped 64 px checkpoint of a GAN model (it may not exist yet)."""
    return pretrained_path(f"{model}-64.safetensors")


def load_judge_classifier(path: str | Path | None = None):
    """The galaxy classifier, or CheckpointError saying how to make it."""
    path = Path(path) if path else judge_file()
    if not path.exists():
        raise CheckpointError(f"the galaxy classifier {path.name} is not in {path.parent}: "
                              "make it with `python -m autoenc pretrain classifier`")
    return load_classifier(path)


class GANJudge(Judge):
    """Judge.measure with one classifier pass per image (features, then the head) instead of
    three (two for the mirror-averaged probabilities, one for the features): validation runs
    during training, and the classifier costs more than the generator."""

    def measure(self, fake_images: np.ndarray, requested: np.ndarray | None = None) -> dict:
        model = self.model          # in eval mode: Judge.__init__ set it (features())
        feats, probs = [], []
        with torch.no_grad():
            for i in range(0, len(fake_images), INFERENCE_BATCH):
                f = model.features(to_tensor(fake_images[i:i + INFERENCE_BATCH]))
                feats.append(f)
                probs.append(model.head(f).softmax(1))
        features = torch.cat(feats).numpy()
        labels = torch.cat(probs).argmax(1).numpy()
        hist = class_histogram(labels)
        pr = prdc(self.real_features, features, k=5)
        out = {"class_histogram": hist.tolist(), "data_class_histogram": np.asarray(self.data_histogram).tolist(),
               "tv_distance": total_variation(hist, self.data_histogram),
               "coverage": pr["coverage"], "precision": pr["precision"], "recall": pr["recall"],
               "kid": kid(self.real_features, features, subsets=10,
                          subset_size=min(200, len(features), len(self.real_features))),
               "n": int(len(fake_images))}
        if requested is not None:
            out["class_accuracy"] = float((labels == np.asarray(requested)).mean())
        return out


def make_judge(classifier, real, n_real: int = EVAL_SAMPLES, data_labels: np.ndarray | None = None):
    """A judge with the features of the first n_real real images cached. data_labels (all
    the training labels) sets the reference class histogram; by default the n_real's."""
    if len(real) <= 5:
        raise UserError(f"measuring samples needs more than 5 real images, not {len(real)}")
    judge = GANJudge(classifier, real, n_real=n_real)
    if data_labels is not None:
        judge.data_histogram = class_histogram(data_labels)
    return judge


def measures_to_metrics(m: dict) -> dict[str, float]:
    """A judge's measures as the metric rows a run logs (names in EVAL_METRICS)."""
    out = {name: float(v) for name, v in zip(HIST_METRICS, m["class_histogram"])}
    out.update({name: float(v) for name, v in zip(DATA_HIST_METRICS, m["data_class_histogram"])})
    out.update({k: float(m[k]) for k in ("tv_distance", "coverage", "precision", "recall", "kid", "class_accuracy")
                if k in m})
    return out


def metrics_to_measures(metrics: dict[str, float]) -> dict:
    """The inverse of measures_to_metrics, for a page reading the latest logged evaluation."""
    out = {"class_histogram": [metrics.get(k, 0.0) for k in HIST_METRICS],
           "data_class_histogram": [metrics.get(k, 0.0) for k in DATA_HIST_METRICS]}
    out.update({k: metrics[k] for k in ("tv_distance", "coverage", "precision", "recall", "kid", "class_accuracy")
                if k in metrics})
    return out


def collapse_signs(m: dict) -> list[str]:
    """Plain sentences for each sign of mode collapse in a judge's measures (empty: none seen)."""
    signs = []
    tv = m.get("tv_distance")
    if tv is not None and tv > COLLAPSE_TV:
        signs.append(f"the class mix is far from the data's (total-variation distance {tv:.2f} > {COLLAPSE_TV})")
    cov = m.get("coverage")
    if cov is not None and cov < COLLAPSE_COVERAGE:
        signs.append(f"coverage is {cov:.2f} < {COLLAPSE_COVERAGE}: most real galaxies have no generated "
                     "galaxy near them")
    return signs


def evaluate_generator(generator: nn.Module, n: int = 1000, seed: int = 0, judge=None) -> dict:
    """Class histogram, coverage, KID (and class accuracy for acGAN) of n samples drawn with
    `seed`, against the classifier's fixed held-out renders at the generator's size.

    judge: one from `heldout_judge` (its real features cached); by default built here.
    """
    if not 10 <= int(n) <= 100_000:
        raise UserError(f"the number of samples must be between 10 and 100000, not {n}")
    n = int(n)
    judge = judge or heldout_judge(load_judge_classifier(), generator.image_size)
    labels = np.arange(n) % generator.n_classes if generator.n_classes else None
    m = judge.measure(generate(generator, n, seed, labels=labels), requested=labels)
    keys = ("class_histogram", "data_class_histogram", "coverage", "kid", "n", "tv_distance", "precision",
            "recall", "class_accuracy")
    return {k: m[k] for k in keys if k in m}


def heldout_judge(classifier, image_size: int):
    """A judge whose real images are the classifier's held-out renders (600) at image_size."""
    real = heldout_set(image_size)
    return make_judge(classifier, real, n_real=len(real))


def evaluate_checkpoint(model: str, path: str | Path | None = None, n: int = 1000, seed: int = 0) -> dict:
    """`evaluate_generator` on a checkpoint file (default: the shipped 64 px one)."""
    from autoenc.train.pretrain import load_trained
    path = Path(path) if path else shipped_file(model)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path} (make the shipped one with "
                              f"`python -m autoenc pretrain {model}`, or pass --checkpoint)")
    return evaluate_generator(sampling_generator(load_trained(path, model).modules), n, seed)


def loss_formulas(task_cls) -> list[str]:
    """The LaTeX of the task's losses, taken from the loss functions' docstrings ($$...$$,
    else the first inline $...$), so the page shows the formulas the code cites."""
    out = []
    for fn in task_cls.loss_functions:
        doc = fn.__doc__ or ""
        found = re.findall(r"\$\$(.+?)\$\$", doc, flags=re.S) or re.findall(r"\$(.+?)\$", doc)[:1]
        out += [" ".join(f.split()) for f in found]
    return out


# -- the tasks -----------------------------------------------------------------------------

class GANTask(Task):
    """DCGAN with the BCE loss: the shared step; subclasses swap the two losses."""

    name = "gan"
    Config = GANConfig
    chart_metrics = ("loss_g", "loss_d")
    n_classes: ClassVar[int] = 0
    grid_shape: ClassVar[tuple[int, int]] = (4, 4)      # rows, columns of the live sample grid
    title: ClassVar[str] = "GAN"
    # the loss functions whose docstring formulas the page shows (critic, then generator)
    loss_functions: ClassVar[tuple[Callable, ...]] = (losses.bce_critic_loss, losses.bce_generator_loss)

    def __init__(self, config: GANConfig, device: torch.device, data=None):
        """data: a GalaxySet to train on; by default the rendered set the config names."""
        super().__init__(config, device)
        device = torch.device(device)
        self.device = device
        # channels_last helps the CPU's oneDNN convolutions (DESIGN §4); on CUDA it would
        # matter only with tensor cores, so keep the default there.
        self.memory_format = torch.channels_last if device.type == "cpu" else torch.contiguous_format
        mods = self.build_modules(config)
        self.generator = mods["generator"].to(device, memory_format=self.memory_format)
        self.critic = mods["critic"].to(device, memory_format=self.memory_format)
        # bf16 where the CPU has it: ~1.6x faster convolutions (bench: gan.speedup_vs_reference)
        self.generator.compute_dtype = self.critic.compute_dtype = compute_dtype(config.precision, device)
        # The moving average of G (Yazici et al. 2019) draws every sample: validation, grid, checkpoints.
        self.ema = make_ema(self.generator, config.ema_decay) if config.ema_decay > 0 else None
        self._standing_at: int | None = None     # the average's update count at its last standing statistics
        self.opt_g = _adam(self.generator.parameters(), config, device)
        self.opt_d = _adam(self.critic.parameters(), config, device)
        self._critic_params = list(self.critic.parameters())
        # one generator for batches, noise and penalty epsilons; its state is checkpointed
        self.rng = torch.Generator(device=device)
        self.rng.manual_seed(int(config.seed))

        if data is None:
            from autoenc.data.datasets import training_set
            data = training_set(config.data, config.n_images, config.image_size, config.data_seed)
        if data.images.shape[1:] != (config.image_size, config.image_size, 3):
            raise UserError(f"training images are {data.images.shape[1]} px, the config says {config.image_size}")
        self.class_names = tuple(data.class_names)
        # (N, 3, S, S) uint8, 4x smaller than floats; batches are gathered, then mapped to [-1, 1]
        self.images = from_uint8(data.images, device)
        self.labels = torch.as_tensor(np.asarray(data.labels), dtype=torch.int64).to(device)
        if self.n_classes and len(self.labels) and int(self.labels.max()) >= self.n_classes:
            raise UserError(f"the data has labels up to {int(self.labels.max())}; this model knows {self.n_classes} classes")

        rows, cols = self.grid_shape
        if self.n_classes:
            # one row per class, the same z in every row: the class alone changes the galaxy
            self.fixed_z = noise(cols, config.z_dim, config.seed + 1).repeat(rows, 1).to(device)
            self.fixed_labels = torch.arange(rows).repeat_interleave(cols).to(device)
        else:
            self.fixed_z = noise(rows * cols, config.z_dim, config.seed + 1).to(device)
            self.fixed_labels = None
        self._judge = None          # built at the first validation that finds the classifier

    # -- Task hooks ---------------------------------------------------------------------------
    @classmethod
    def build_modules(cls, config: GANConfig) -> dict[str, nn.Module]:
        mods = {
            "generator": build_generator(config.image_size, config.ngf, config.z_dim, cls.n_classes,
                                         config.sky_bias),
            "critic": build_critic(config.image_size, config.ndf, config.critic_norm, cls.n_classes),
        }
        if config.ema_decay > 0:
            mods[EMA] = build_generator(config.image_size, config.ngf, config.z_dim, cls.n_classes, config.sky_bias)
        return mods

    # the keep-best measure: how far the generated class mix is from the data's
    best_metric: ClassVar[tuple[str, bool] | None] = ("tv_distance", True)
    # a file saved before the moving average existed has none: its generator draws the samples
    optional_modules: ClassVar[tuple[str, ...]] = (EMA,)

    def modules(self) -> dict[str, nn.Module]:
        mods = {"generator": self.generator, "critic": self.critic}
        if self.ema is not None:
            mods[EMA] = self.ema.module
        return mods

    @property
    def sampler(self) -> nn.Module:
        """The generator that draws samples: the moving average where there is one."""
        return self.ema.module if self.ema is not None else self.generator

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    @property
    def steps_per_epoch(self) -> int:
        """Generator steps per pass over the data (each step reads n_critic real batches)."""
        return max(1, len(self.images) // (self.config.batch_size * self.config.n_critic))

    @classmethod
    def pretrain_plan(cls) -> list[PretrainItem]:
        """The shipped 64 px weights: G + D with ngf = ndf = 32 is about 7 MB per file, trained
        in the precision the shipped file was (fp32 for those made before the bf16 setting)."""
        return [PretrainItem(file=f"{cls.name}-64.safetensors",
                             settings={"image_size": 64, "ngf": 32, "ndf": 32, "n_images": 12_000,
                                       "steps": cls._pretrain_steps, "batch_size": cls._pretrain_batch,
                                       "checkpoint_every": 100, "precision": cls._pretrain_precision,
                                       "ema_decay": cls._pretrain_ema},
                             max_seconds=cls._pretrain_seconds, then=cls._pretrain_then)]

    # Sized for one core (what a run gets beside the server): ~2 steps/s at 64 px, so ~25 min;
    # the time limit only guards against a much slower machine. The basic GAN's file, remade on
    # renderer version 3 (15 min): eval TV 0.127, coverage 0.43 (the version 2 file under the
    # same judge: 0.27, 0.35).
    _pretrain_steps: ClassVar[int] = 3000
    _pretrain_batch: ClassVar[int] = 64
    _pretrain_seconds: ClassVar[float] = 2400.0
    _pretrain_precision: ClassVar[str] = "fp32"
    _pretrain_ema: ClassVar[float] = 0.0
    _pretrain_then: ClassVar[tuple[dict, ...]] = ()     # later stages of the same run (PretrainItem.then)
    pretrain_duration: ClassVar[str] = "about half an hour"

    def train_step(self, step: int) -> dict[str, float]:
        """n_critic critic updates, then one generator update; the critic's parts are averaged."""
        n = self.config.n_critic
        critic_sums: dict[str, torch.Tensor] = {}
        for i in range(n):
            # Only the last fake needs its graph: the generator update reuses it.
            parts, fake, fake_labels = self.critic_step(keep_fake_graph=i == n - 1)
            for k, v in parts.items():
                critic_sums[k] = critic_sums[k] + v if k in critic_sums else v
        parts_g = self.generator_step(fake, fake_labels)
        if self.ema is not None:
            self.ema.update_parameters(self.generator)
        names = list(critic_sums) + list(parts_g)
        values = [v / n for v in critic_sums.values()] + list(parts_g.values())
        return dict(zip(names, torch.stack(values).tolist()))      # one device -> host read

    def critic_step(self, keep_fake_graph: bool = False):
        """One critic update on a fresh real batch and fake batch.

        Returns (parts, fake, fake_labels): the logged parts (detached tensors) and the fake
        batch, which carries the generator's graph when keep_fake_graph is set.
        """
        self.critic.requires_grad_(True)
        real, real_labels = self.real_batch()
        z, fake_labels = self.latent_batch()
        with torch.set_grad_enabled(keep_fake_graph):
            fake = self.generator(z, fake_labels)
        parts = self.critic_loss(self.critic_view(real), real_labels, self.critic_view(fake.detach()), fake_labels)
        self.opt_d.zero_grad(set_to_none=True)
        # inputs=: only the critic's weights; a penalty's input tensors need no gradient
        parts.pop("loss").backward(inputs=self._critic_params)
        self.opt_d.step()
        return parts, fake, fake_labels

    def generator_step(self, fake: torch.Tensor | None = None, fake_labels: torch.Tensor | None = None) -> losses.Parts:
        """One generator update on `fake` (run G on fresh noise if None or without a graph)."""
        if fake is None or not fake.requires_grad:
            z, fake_labels = self.latent_batch()
            fake = self.generator(z, fake_labels)
        # Gradients flow through the critic to the fake images, but its weights need none.
        self.critic.requires_grad_(False)
        try:
            parts = self.generator_loss(self.critic_view(fake), fake_labels)
            self.opt_g.zero_grad(set_to_none=True)
            parts.pop("loss").backward()
            self.opt_g.step()
        finally:
            self.critic.requires_grad_(True)
        return parts

    def validate(self, step: int) -> dict[str, float]:
        """Measures of EVAL_SAMPLES samples from one fixed z (seed + 2), judged by the shipped
        classifier against the training data: hist_* (the generated class mix), data_hist_*,
        tv_distance, coverage, precision, recall, kid, and class_accuracy for the acGAN (share
        of samples the classifier puts in the class asked for). {} without the classifier."""
        judge = self.judge()
        if judge is None:
            return {}
        n = EVAL_SAMPLES
        labels = np.arange(n) % self.n_classes if self.n_classes else None
        self.refresh_standing_statistics()
        images = generate(self.sampler, n, self.config.seed + 2, labels=labels)
        return measures_to_metrics(judge.measure(images, requested=labels))

    def judge(self):
        """The judge, its real features computed once per task; None while the classifier is missing."""
        if self._judge is None:
            if not judge_file().exists() or len(self.images) <= 5:
                return None
            try:
                classifier = load_judge_classifier()
            except UserError:       # unreadable: train without measures rather than fail the run
                self._judge = False
                return None
            from autoenc.data.galaxies import GalaxySet
            n = min(EVAL_SAMPLES, len(self.images))
            real = GalaxySet(images=self.images[:n].permute(0, 2, 3, 1).cpu().numpy(),
                             labels=self.labels[:n].cpu().numpy())
            self._judge = make_judge(classifier, real, n_real=n, data_labels=self.labels.cpu().numpy())
        return self._judge or None

    # -- python -m autoenc eval gan|acgan|wgan-gp|wgan-div ---------------------------------------
    @classmethod
    def add_eval_arguments(cls, parser) -> None:
        parser.add_argument("--n", type=int, default=1000, help="samples to generate and judge (default 1000)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the samples' z (default 0)")

    @classmethod
    def evaluate_cli(cls, args) -> dict:
        """class_histogram, data_class_histogram (the classifier's held-out renders), coverage,
        kid, n (and class_accuracy for acGAN) of a checkpoint, default the shipped 64 px one."""
        return evaluate_checkpoint(cls.name, args.checkpoint, n=args.n, seed=args.seed)

    @torch.no_grad()
    def snapshot(self, step: int) -> dict[str, np.ndarray]:
        """{"grid": (H, W, 3) uint8} of the fixed z (one row per class for acGAN), eval mode."""
        images = generate_from(self.sampler, self.fixed_z, self.fixed_labels)
        return {"grid": image_grid(images, self.grid_shape[1])}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """As Task's; a checkpoint without a moving average (saved with it off, or before it
        existed) starts one from its generator."""
        if self.ema is not None and not any(k.startswith(f"model.{EMA}.") for k in tensors):
            tensors = {**tensors, **{f"model.{EMA}." + k[len("model.generator."):]: v
                                     for k, v in tensors.items() if k.startswith("model.generator.")}}
            tensors.pop("extra.ema_updates", None)
        super().load_state_tensors(tensors)
        self._standing_at = None

    def state_tensors(self, with_optimizer: bool = True) -> dict[str, torch.Tensor]:
        """As Task's, the moving average with its standing statistics: what a file draws with."""
        self.refresh_standing_statistics()
        return super().state_tensors(with_optimizer)

    def refresh_standing_statistics(self) -> None:
        """standing_statistics of the moving average, unless it has not moved since the last
        time (a validation and the best checkpoint it triggers share one measurement)."""
        if self.ema is None:
            return
        updates = int(self.ema.n_averaged)
        if updates != self._standing_at:
            standing_statistics(self.ema.module)
            self._standing_at = updates

    def extra_tensors(self) -> dict[str, torch.Tensor]:
        out = {"fixed_z": self.fixed_z, "rng_state": self.rng.get_state()}
        if self.ema is not None:
            out["ema_updates"] = self.ema.n_averaged
        if self.fixed_labels is not None:
            out["fixed_labels"] = self.fixed_labels
        return out

    def load_extra_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if "fixed_z" in tensors:
            self.fixed_z = tensors["fixed_z"].to(self.device, torch.float32)
        if "fixed_labels" in tensors and self.n_classes:
            self.fixed_labels = tensors["fixed_labels"].to(self.device, torch.int64)
        if "ema_updates" in tensors and self.ema is not None:
            self.ema.n_averaged.copy_(tensors["ema_updates"])
        if "rng_state" in tensors:
            try:
                self.rng.set_state(tensors["rng_state"].cpu().to(torch.uint8))
            except RuntimeError:    # saved on another device type: its state does not fit here
                pass

    # -- batches ------------------------------------------------------------------------------
    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Real images (B, 3, S, S) float in [-1, 1] and their labels (B,), drawn with replacement."""
        idx = torch.randint(len(self.images), (self.config.batch_size,), generator=self.rng, device=self.device)
        x = self.images[idx].to(torch.float32, memory_format=self.memory_format)
        return x.mul_(2 / 255).sub_(1), self.labels[idx]

    def latent_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """z (B, z_dim) and, for acGAN, uniformly drawn classes (B,)."""
        b = self.config.batch_size
        z = torch.randn(b, self.config.z_dim, generator=self.rng, device=self.device)
        y = torch.randint(self.n_classes, (b,), generator=self.rng, device=self.device) if self.n_classes else None
        return z, y

    def critic_view(self, images: torch.Tensor) -> torch.Tensor:
        """The images as the critic sees them: as they are, or with `augment` each under its
        own random orientation (random_orientation)."""
        return random_orientation(images, self.rng) if self.config.augment else images

    def critic_scores(self, real: torch.Tensor, fake: torch.Tensor):
        """D(real), D(fake). BatchNorm sees real and fake as separate batches (DCGAN's
        practice: a mixed batch's statistics would tell D which half is fake); a
        per-sample critic takes them as one batch, which runs faster."""
        if self.critic.norm == "batch":
            return self.critic(real), self.critic(fake)
        out = self.critic(torch.cat([real, fake]))
        b = len(real)
        if isinstance(out, tuple):
            return tuple(o[:b] for o in out), tuple(o[b:] for o in out)
        return out[:b], out[b:]

    # -- the two losses a variant defines -----------------------------------------------------
    def critic_loss(self, real, real_labels, fake, fake_labels) -> losses.Parts:
        real_logits, fake_logits = self.critic_scores(real, fake)
        return losses.bce_critic_loss(real_logits, fake_logits)

    def generator_loss(self, fake, fake_labels) -> losses.Parts:
        return losses.bce_generator_loss(self.critic(fake))


class ACGANTask(GANTask):
    """Auxiliary-classifier GAN (Odena et al. 2017) on the three galaxy classes."""

    name = "acgan"
    Config = ACGANConfig
    chart_metrics = ("loss_g", "loss_d", "class_loss_real")
    n_classes = N_CLASSES
    grid_shape = (N_CLASSES, 6)
    title = "acGAN"
    loss_functions = (losses.acgan_critic_loss, losses.acgan_generator_loss)
    best_metric = ("class_accuracy", False)
    # With the paper's class-loss weights, 6000 steps (bf16) reached class accuracy 0.57: D's
    # class head, trained on fakes too, learnt to read G's own cues (its class loss on fakes fell
    # to 0.05) that the judge does not see as bars or arms. Resumed with the head trained on real
    # galaxies only (fake_class_weight 0) to 7250, then a heavier class loss for G (class_weight 3
    # to 9000, 10 to 10500): best validation at step 9750, eval n=1000 class accuracy 0.757. Its
    # head, though, put 99.7 % of G's samples in the asked-for class: G had found cues of that
    # head's own, not bars and arms. From that step, with the critic seeing every image under a
    # random orientation (augment) to 11750, kept at its best validation (step 11500): eval
    # n=1000 class accuracy 0.911, class-histogram TV 0.044, coverage 0.78, KID 0.015. (The
    # chain that made the file restarted Adam's moments at 6000 and 7250; a staged pretrain
    # carries them on up to the last stage.) The file was made on renderer version 2's galaxies;
    # under the 32 px judge of version 3: class accuracy 0.923, TV 0.046, coverage 0.68.
    _pretrain_steps = 6000
    _pretrain_precision = "auto"
    _pretrain_seconds = 3 * 3600.0
    _pretrain_then = ({"steps": 7250, "fake_class_weight": 0.0}, {"steps": 9000, "class_weight": 3.0},
                      {"steps": 10500, "class_weight": 10.0}, {"steps": 11750, "augment": True, "from_best": True})
    pretrain_duration = "about an hour where the CPU has bf16, two hours or more without"

    def critic_loss(self, real, real_labels, fake, fake_labels) -> losses.Parts:
        (real_logits, real_cls), (fake_logits, fake_cls) = self.critic_scores(real, fake)
        return losses.acgan_critic_loss(real_logits, real_cls, real_labels, fake_logits, fake_cls, fake_labels,
                                        self.config.fake_class_weight)

    def generator_loss(self, fake, fake_labels) -> losses.Parts:
        logits, cls = self.critic(fake)
        return losses.acgan_generator_loss(logits, cls, fake_labels, self.config.class_weight)


class WGANGPTask(GANTask):
    """WGAN with gradient penalty (Gulrajani et al. 2017)."""

    name = "wgan-gp"
    Config = WGANGPConfig
    chart_metrics = ("loss_g", "loss_d", "wasserstein")
    title = "WGAN-GP"
    loss_functions = (losses.wgan_gp_critic_loss, losses.gradient_penalty, losses.wasserstein_generator_loss)
    # 5 critic steps each, with the penalty's double backward: ~3.3 s at 64 px and batch 64 on one
    # core. Batch 32 halves that. At 800 steps the class histogram was still 0.24 from the data's
    # (total variation); 1100 steps (~30-45 min on one core) brought it to 0.10.
    # The shipped file: 1100 steps in fp32, resumed in bf16 to 2000, then to 3400 with the moving
    # average (decay 0.999), kept at its best validation (step 3300): eval TV 0.11, KID 0.031;
    # with standing BatchNorm statistics (re-measured when saved, as training now does) TV 0.114,
    # KID 0.033. Remade with this plan on renderer version 3 and the 32 px judge (40 min on one
    # core beside another run): kept step 2800, eval TV 0.089 (sample seeds 1, 2: 0.092, 0.127),
    # coverage 0.55, KID 0.056 (in the 32 px judge's features: not comparable with the above).
    _pretrain_steps = 1100
    _pretrain_batch = 32
    _pretrain_seconds = 4 * 3600.0
    _pretrain_then = ({"steps": 2000, "precision": "auto"}, {"steps": 3400, "ema_decay": 0.999})
    pretrain_duration = "about 40 minutes where the CPU has bf16, two hours or more without"

    def critic_loss(self, real, real_labels, fake, fake_labels) -> losses.Parts:
        real_scores, fake_scores = self.critic_scores(real, fake)
        penalty = losses.gradient_penalty(self.critic, real, fake, self.config.gp_lambda, self.rng)
        return losses.wgan_gp_critic_loss(real_scores, fake_scores, penalty)

    def generator_loss(self, fake, fake_labels) -> losses.Parts:
        return losses.wasserstein_generator_loss(self.critic(fake))


class WGANDivTask(WGANGPTask):
    """WGAN-div (Wu et al. 2018): a penalty on |grad D|^p at real and fake samples, no target norm."""

    name = "wgan-div"
    Config = WGANDivConfig
    title = "WGAN-div"
    loss_functions = (losses.wgan_div_critic_loss, losses.wasserstein_generator_loss)
    # 800 steps in fp32 left its class histogram 0.30 from the data's (total variation, eval
    # n=1000: too many spirals). Resumed in bf16 with the moving average (decay 0.999) to 3400,
    # best validation at step 2500: TV 0.173, coverage 0.67, KID 0.023; going on to 4200 kept
    # the validations' TV at 0.19-0.23 (generated barred spirals whose bars are too faint for
    # the judge, who calls them spirals). From step 2500 we tried five continuations: the critic
    # seeing turned images (augment), fp32, lr 5e-5, Wu et al.'s Adam (2e-4, betas 0.5, 0.999),
    # and batch 64. Only batch 64 helped: to 3400, kept at its best validation (step 3050),
    # with standing BatchNorm statistics: eval TV 0.115 (sample seeds 1, 2: 0.129, 0.123),
    # coverage 0.66, KID 0.021. (That run restarted Adam's moments at 800; its best was picked
    # among steps 3000-3400, a plan's from 2550, and by validations with the averaged statistics.)
    # Remade with this plan on renderer version 3 and the 32 px judge (69 min on one core beside
    # other runs): kept step 3400, eval TV 0.097 (sample seeds 1, 2: 0.104, 0.124), coverage
    # 0.66, KID 0.054.
    _pretrain_steps = 800
    _pretrain_precision = "fp32"
    _pretrain_ema = 0.0
    _pretrain_then = ({"steps": 3400, "precision": "auto", "ema_decay": 0.999},
                      {"steps": 3400, "batch_size": 64, "from_best": True})
    pretrain_duration = ("about 70 minutes where the CPU has bf16 (the first 800 steps run in fp32), "
                         "three hours or more without")

    def critic_loss(self, real, real_labels, fake, fake_labels) -> losses.Parts:
        # One pass over real and fake gives both the scores and the gradients the penalty needs.
        b, cfg = len(real), self.config
        norms, scores = losses.input_gradient_norms(self.critic, torch.cat([real, fake]), power=cfg.div_p)
        penalty = losses.divergence_penalty(norms[:b], norms[b:], cfg.div_k, cfg.div_p)
        return losses.wgan_div_critic_loss(scores[:b], scores[b:], penalty)


TASKS: dict[str, type[GANTask]] = {t.name: t for t in (GANTask, ACGANTask, WGANGPTask, WGANDivTask)}


# -- benchmark: the same nets trained the way GAN examples usually write it ------------------

class ReferenceLoop:
    """A plain GAN loop, as pytorch/examples dcgan (GAN) and PyTorch-GAN (acGAN, WGAN-GP,
    WGAN-div) write it: the yardstick for `benchmarks()`, never used for training.

    Same nets, same losses and the same math as the tasks; the habits that cost time are
    the usual ones: a DataLoader-like numpy -> tensor copy and scaling of every batch,
    Adam with its per-parameter loop, NCHW memory, the generator run with autograd in
    every critic step, the critic's weights collecting gradients in the generator step,
    a `.item()` per logged loss, and for the WGANs (as PyTorch-GAN writes them) the fake
    batch not detached in the critic step (the backward pass also runs through G, whose
    gradients are then zeroed) and G run again for the generator step.
    """

    def __init__(self, kind: str, config: GANConfig, images: np.ndarray, labels: np.ndarray):
        self.kind, self.cfg = kind, config
        mods = TASKS[kind].build_modules(config)
        self.G, self.D = mods["generator"], mods["critic"]
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=tuple(config.betas))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=tuple(config.betas))
        self.images, self.labels = images, labels
        self.np_rng = np.random.default_rng(config.seed)
        self.bce = nn.BCEWithLogitsLoss()
        self.ce = nn.CrossEntropyLoss()

    def batch(self):
        idx = self.np_rng.integers(0, len(self.images), self.cfg.batch_size)
        x = torch.from_numpy(self.images[idx]).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return x.contiguous(), torch.from_numpy(self.labels[idx])

    def step(self) -> dict[str, float]:
        cfg, G, D, b = self.cfg, self.G, self.D, self.cfg.batch_size
        ones, zeros = torch.ones(b), torch.zeros(b)
        log = {}
        for _ in range(cfg.n_critic):
            real, y = self.batch()
            z = torch.randn(b, cfg.z_dim)
            gen_y = torch.randint(0, N_CLASSES, (b,))
            self.opt_d.zero_grad()
            if self.kind == "gan":
                fake = G(z)
                err_real = self.bce(D(real), ones)
                err_real.backward()
                err_fake = self.bce(D(fake.detach()), zeros)
                err_fake.backward()
                log["loss_d"] = err_real.item() + err_fake.item()
            elif self.kind == "acgan":
                fake = G(z, gen_y)
                real_v, real_c = D(real)
                fake_v, fake_c = D(fake.detach())
                d_loss = (self.bce(real_v, ones) + self.ce(real_c, y) + self.bce(fake_v, zeros) + self.ce(fake_c, gen_y))
                d_loss.backward()
                log["loss_d"] = d_loss.item()
            elif self.kind == "wgan-gp":
                fake = G(z)
                alpha = torch.rand(b, 1, 1, 1)
                interp = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
                d_interp = D(interp)
                grads = torch.autograd.grad(outputs=d_interp, inputs=interp, grad_outputs=torch.ones_like(d_interp),
                                            create_graph=True, retain_graph=True, only_inputs=True)[0]
                gp = ((grads.reshape(b, -1).norm(2, dim=1) - 1) ** 2).mean()
                d_loss = -D(real).mean() + D(fake).mean() + cfg.gp_lambda * gp
                d_loss.backward()
                log["loss_d"] = d_loss.item()
            else:  # wgan-div
                real.requires_grad_(True)
                fake = G(z)
                real_v, fake_v = D(real), D(fake)
                real_grad = torch.autograd.grad(real_v, real, torch.ones_like(real_v), create_graph=True,
                                                retain_graph=True, only_inputs=True)[0]
                fake_grad = torch.autograd.grad(fake_v, fake, torch.ones_like(fake_v), create_graph=True,
                                                retain_graph=True, only_inputs=True)[0]
                p = cfg.div_p
                real_norm = real_grad.reshape(b, -1).pow(2).sum(1) ** (p / 2)
                fake_norm = fake_grad.reshape(b, -1).pow(2).sum(1) ** (p / 2)
                div = torch.mean(real_norm + fake_norm) * cfg.div_k / 2
                d_loss = -real_v.mean() + fake_v.mean() + div
                d_loss.backward()
                log["loss_d"] = d_loss.item()
            self.opt_d.step()
        self.opt_g.zero_grad()
        if self.kind == "gan":
            g_loss = self.bce(D(fake), ones)
        elif self.kind == "acgan":
            v, c = D(fake)
            g_loss = self.bce(v, ones) + self.ce(c, gen_y)
        else:
            g_loss = -D(G(torch.randn(b, cfg.z_dim))).mean()
        g_loss.backward()
        self.opt_g.step()
        log["loss_g"] = g_loss.item()
        return log


def _fake_galaxies(n: int, size: int, seed: int = 0):
    """Random images for timing: the step's cost does not depend on what the pixels show."""
    from autoenc.data.galaxies import GalaxySet
    rng = np.random.default_rng(seed)
    return GalaxySet(images=rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
                     labels=rng.integers(0, N_CLASSES, n).astype(np.int64))


# generator steps timed per model and size, after WARMUP_STEPS each: ~3 min in all on one core.
# The first steps of a fresh net are slower (oneDNN builds its kernels for each shape), and
# a median of a handful of 0.1 s steps moved by 20 % between runs.
TIMED_STEPS = {32: {"gan": 20, "acgan": 20, "wgan-gp": 5, "wgan-div": 5},
               64: {"gan": 6, "acgan": 6, "wgan-gp": 3, "wgan-div": 3}}
WARMUP_STEPS = 2


def benchmarks(sizes: tuple[int, ...] = (32, 64)) -> Iterator:
    """gan.steps_per_s.<model>.<px>, gan.speedup_vs_reference.<model>.<px> (target 1.5),
    gan.speedup_fp32_vs_reference.<model>.<px> (the same task held to fp32), gan.bf16 (1 where
    the default precision "auto" chose bf16 on this CPU) and gan.metrics_overhead.<model>
    (target 0.10, lower is better).

    Generator steps (each with its n_critic critic steps) at the default settings, batch
    64, ngf = ndf = 32, with torch's current thread count. The task's steps and the
    reference's alternate (ABCABC...), so a load that comes and goes hits all alike;
    each figure is the median over the timed steps, after WARMUP_STEPS warm-up steps each.
    """
    from autoenc.bench import Record
    cpu = torch.device("cpu")
    yield Record("gan.bf16", float(compute_dtype("auto", cpu) is not None), "")
    for px in sizes:
        data = _fake_galaxies(256, px)
        for kind, cls in TASKS.items():
            torch.manual_seed(0)
            cfg = cls.Config(image_size=px)
            task = cls(cfg, cpu, data=data)
            task_fp32 = cls(replace(cfg, precision="fp32"), cpu, data=data)
            ref = ReferenceLoop(kind, cfg, data.images, data.labels)
            times: dict[str, list[float]] = {"ours": [], "fp32": [], "ref": []}
            for i in range(WARMUP_STEPS + TIMED_STEPS.get(px, TIMED_STEPS[64])[kind]):
                for name, step in (("ours", lambda: task.train_step(i + 1)),
                                   ("fp32", lambda: task_fp32.train_step(i + 1)), ("ref", ref.step)):
                    t0 = time.perf_counter()
                    step()
                    if i >= WARMUP_STEPS:
                        times[name].append(time.perf_counter() - t0)
            t = {name: statistics.median(v) for name, v in times.items()}
            yield Record(f"gan.steps_per_s.{kind}.{px}", 1.0 / t["ours"], "steps/s")
            yield Record(f"gan.speedup_vs_reference.{kind}.{px}", t["ref"] / t["ours"], "x", target=1.5)
            yield Record(f"gan.speedup_fp32_vs_reference.{kind}.{px}", t["ref"] / t["fp32"], "x")
    for kind in TASKS:
        yield Record(f"gan.metrics_overhead.{kind}", metrics_overhead(kind), "share", target=0.10,
                     higher_is_better=False)


def metrics_overhead(kind: str, image_size: int = 32, timed_steps: int = 3, timed_evals: int = 2) -> float:
    """(time of a default-length run with validation) / (time without) - 1, at the live size.

    A run of eval_every steps takes minutes, so the parts are timed and added up: the median
    step, the median validation pass (after the first, which builds the judge) and the one
    judge build, for cfg.steps steps with cfg.steps // eval_every validations. The shipped
    classifier if it is there, else an untrained one of the same shape (the same cost).
    """
    from autoenc.train.classifier import ClassifierConfig, ClassifierTask
    cpu = torch.device("cpu")
    cls = TASKS[kind]
    cfg = cls.Config(image_size=image_size)
    data = _fake_galaxies(max(EVAL_SAMPLES, cfg.batch_size), image_size)
    torch.manual_seed(0)
    task = cls(cfg, cpu, data=data)
    if judge_file().exists():
        classifier = load_judge_classifier()
    else:
        classifier = ClassifierTask.build_modules(ClassifierConfig())["classifier"].eval()
    steps = []
    for i in range(1 + timed_steps):
        t0 = time.perf_counter()
        task.train_step(i + 1)
        if i:
            steps.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    real = data
    task._judge = make_judge(classifier, real, n_real=min(EVAL_SAMPLES, len(real)), data_labels=data.labels)
    t_build = time.perf_counter() - t0
    evals = []
    for _ in range(timed_evals):
        t0 = time.perf_counter()
        task.validate(cfg.eval_every)
        evals.append(time.perf_counter() - t0)
    n_evals = max(1, cfg.steps // cfg.eval_every)
    return (t_build + n_evals * statistics.median(evals)) / (cfg.steps * statistics.median(steps))
