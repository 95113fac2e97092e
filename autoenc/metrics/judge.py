"""Generated galaxies measured with the shipped galaxy classifier as judge (DESIGN §6).

The judge caches its real images' features once, then scores a batch of samples in one
classifier pass per image: its class histogram against the data's (total-variation
distance), precision / recall / coverage (k = 5) and KID in the classifier's feature
space, and for a conditional generator the share of samples in the class asked for.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from autoenc.data import heldout
from autoenc.data.galaxy_set import CLASS_KEYS, CLASS_NAMES, GalaxySet
from autoenc.errors import UserError
from autoenc.inference.classifier import INFERENCE_BATCH, features, to_tensor
from autoenc.inference.gan import generate
from autoenc.metrics.images import class_histogram, kid, prdc, total_variation
from autoenc.models.classifier import GalaxyClassifier
from autoenc.paths import shipped_path
from autoenc.trained import load_checkpoint_or_shipped

JUDGE_FILE = "classifier-32.safetensors"
EVAL_SAMPLES = 256          # samples per validation pass during training, from one fixed z
HIST_METRICS = tuple(f"hist_{k}" for k in CLASS_KEYS)
DATA_HIST_METRICS = tuple(f"data_hist_{k}" for k in CLASS_KEYS)
SCALAR_MEASURES = ("tv_distance", "coverage", "precision", "recall", "kid", "class_accuracy")
EVAL_METRICS = HIST_METRICS + DATA_HIST_METRICS + SCALAR_MEASURES
# The verdict on a generator's measures (thresholds for teaching, not from a paper): collapsed
# when its class mix is far from the data's or most real galaxies have no generated one near
# them; worth watching when the mix drifts, coverage falls, or a class gets under half its
# share of the data.
COLLAPSE_TV, WATCH_TV = 0.3, 0.15
COLLAPSE_COVERAGE, WATCH_COVERAGE = 0.2, 0.4
WATCH_CLASS_SHARE = 0.5          # of the class's share in the data
LEVELS = ("healthy", "watch", "collapsed")


def load_judge_classifier() -> GalaxyClassifier:
    """The shipped galaxy classifier, or CheckpointError saying how to make it."""
    return load_checkpoint_or_shipped("classifier").modules["classifier"]


def judge_available() -> bool:
    return shipped_path(JUDGE_FILE).exists()


class Judge:
    """The classifier as a judge of generated galaxies, with the real images' features cached."""

    def __init__(self, model: GalaxyClassifier, real: GalaxySet, n_real: int = EVAL_SAMPLES,
                 data_labels: np.ndarray | None = None):
        """real: the first n_real images are the reference; data_labels (all the training
        labels) sets the reference class histogram, by default the n_real's."""
        if len(real) <= 5:
            raise UserError(f"measuring samples needs more than 5 real images, not {len(real)}")
        self.model = model.eval()
        self.real_features = features(model, real.images[:n_real])
        self.data_histogram = class_histogram(real.labels[:n_real] if data_labels is None else data_labels)

    def measure(self, fake_images: np.ndarray, requested: np.ndarray | None = None) -> dict:
        """class_histogram, data_class_histogram, tv_distance, coverage, precision, recall, kid, n
        (and class_accuracy when the `requested` labels are given, for the acGAN)."""
        feats, probs = [], []
        with torch.no_grad():
            for i in range(0, len(fake_images), INFERENCE_BATCH):
                f = self.model.features(to_tensor(fake_images[i:i + INFERENCE_BATCH]))
                feats.append(f)
                probs.append(self.model.head(f).softmax(1))
        fake_features = torch.cat(feats).numpy()
        labels = torch.cat(probs).argmax(1).numpy()
        hist = class_histogram(labels)
        pr = prdc(self.real_features, fake_features, k=5)
        out = {"class_histogram": hist.tolist(), "data_class_histogram": np.asarray(self.data_histogram).tolist(),
               "tv_distance": total_variation(hist, self.data_histogram),
               "coverage": pr["coverage"], "precision": pr["precision"], "recall": pr["recall"],
               "kid": kid(self.real_features, fake_features, subsets=10,
                          subset_size=min(200, len(fake_features), len(self.real_features))),
               "n": int(len(fake_images))}
        if requested is not None:
            out["class_accuracy"] = float((labels == np.asarray(requested)).mean())
        return out


def heldout_judge(classifier: GalaxyClassifier, image_size: int) -> Judge:
    """A judge whose real images are the classifier's held-out renders (600) at image_size."""
    real = heldout.JUDGE_GALAXIES.images(image_size)
    return Judge(classifier, real, n_real=len(real))


def evaluate_generator(generator: nn.Module, n: int = 1000, seed: int = 0, judge: Judge | None = None) -> dict:
    """The judge's measures of n samples drawn with `seed` (class accuracy for a conditional
    generator, asked for the classes in turn), against the held-out renders by default."""
    if not 10 <= int(n) <= 100_000:
        raise UserError(f"the number of samples must be between 10 and 100000, not {n}")
    n = int(n)
    judge = judge or heldout_judge(load_judge_classifier(), generator.image_size)
    labels = np.arange(n) % generator.n_classes if generator.n_classes else None
    return judge.measure(generate(generator, n, seed, labels=labels), requested=labels)


def measures_to_metrics(m: dict) -> dict[str, float]:
    """A judge's measures as the metric rows a run logs (names in EVAL_METRICS)."""
    out = {name: float(v) for name, v in zip(HIST_METRICS, m["class_histogram"])}
    out.update({name: float(v) for name, v in zip(DATA_HIST_METRICS, m["data_class_histogram"])})
    out.update({k: float(m[k]) for k in SCALAR_MEASURES if k in m})
    return out


def metrics_to_measures(metrics: dict[str, float]) -> dict:
    """The inverse of measures_to_metrics, for a page reading the latest logged evaluation."""
    out = {"class_histogram": [metrics.get(k, 0.0) for k in HIST_METRICS],
           "data_class_histogram": [metrics.get(k, 0.0) for k in DATA_HIST_METRICS]}
    out.update({k: metrics[k] for k in SCALAR_MEASURES if k in metrics})
    return out


@dataclass(frozen=True)
class Verdict:
    level: str                     # healthy | watch | collapsed
    reasons: tuple[str, ...]       # each figure that set the level, in words (none: healthy)


def verdict(m: dict) -> Verdict:
    """healthy, watch or collapsed from a judge's measures, with the figures that decided it."""
    collapsed, watch = [], []
    tv, cov = m.get("tv_distance"), m.get("coverage")
    if tv is not None and tv > COLLAPSE_TV:
        collapsed.append(f"the class mix is far from the data's (total-variation distance {tv:.2f} > {COLLAPSE_TV})")
    elif tv is not None and tv > WATCH_TV:
        watch.append(f"the class mix drifts from the data's (total-variation distance {tv:.2f} > {WATCH_TV})")
    if cov is not None and cov < COLLAPSE_COVERAGE:
        collapsed.append(f"coverage is {cov:.2f} < {COLLAPSE_COVERAGE}: most real galaxies have no generated "
                         "galaxy near them")
    elif cov is not None and cov < WATCH_COVERAGE:
        watch.append(f"coverage is {cov:.2f} < {WATCH_COVERAGE}: many real galaxies have no generated galaxy near them")
    for name, share, data in zip(CLASS_NAMES, m.get("class_histogram", ()), m.get("data_class_histogram", ())):
        if data > 0 and share < WATCH_CLASS_SHARE * data:
            watch.append(f"{name}s are {share:.0%} of the samples against {data:.0%} of the data (under half)")
    if collapsed:
        return Verdict("collapsed", tuple(collapsed + watch))
    return Verdict("watch", tuple(watch)) if watch else Verdict("healthy", ())


def training_judge(images, labels) -> Judge | bool | None:
    """The judge of a GAN run against its own training images ((N, 3, S, S) uint8 and (N,)
    labels, on any device): None while the classifier file is missing (a later validation
    tries again), False where it cannot be read (the run trains without measures)."""
    if not judge_available() or len(images) <= 5:
        return None
    try:
        classifier = load_judge_classifier()
    except UserError:
        return False
    n = min(EVAL_SAMPLES, len(images))
    real = GalaxySet(images=images[:n].permute(0, 2, 3, 1).cpu().numpy(), labels=labels[:n].cpu().numpy())
    return Judge(classifier, real, n_real=n, data_labels=labels.cpu().numpy())
