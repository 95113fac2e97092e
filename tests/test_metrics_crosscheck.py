"""Issue 21, item 5: our image measures equal the field's reference implementations on the
same features: KID against torchmetrics' KernelInceptionDistance given our classifier as its
feature module (offline: nothing is downloaded), precision / recall / density / coverage
against the `prdc` package of the paper's authors (Naeem et al. 2020)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autoenc.data import heldout
from autoenc.inference.classifier import features
from autoenc.metrics.images import kid, prdc
from autoenc.metrics.judge import load_judge_classifier

prdc_reference = pytest.importorskip("prdc", reason="the reference prdc package (requirements-test.txt)")
tm_kid = pytest.importorskip("torchmetrics.image.kid", reason="torchmetrics (requirements-test.txt)")


class ClassifierFeatures(nn.Module):
    """Images as torchmetrics hands them (uint8, N x 3 x H x W, any size) -> our judge's
    96 penultimate features, at the 32 px it was trained on."""

    def __init__(self):
        super().__init__()
        self.classifier = load_judge_classifier().eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() / 255
        if x.shape[-1] != 32:
            x = F.interpolate(x, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
        return self.classifier.features(x).double()


def image_sets(n: int = 120):
    """Real held-out renders and a stand-in for generated ones (the same renders, blurred and
    tinted: a different but overlapping distribution)."""
    images = heldout.JUDGE_GALAXIES.images(32).images
    real, other = images[:n], images[n:2 * n].astype(np.float32)
    fake = np.clip(0.7 * other + 0.3 * other.mean(axis=(1, 2), keepdims=True) + [12, 0, -8], 0, 255).astype(np.uint8)
    return real, fake


def test_kid_equals_torchmetrics_on_our_features():
    real, fake = image_sets()
    module = ClassifierFeatures()
    metric = tm_kid.KernelInceptionDistance(feature=module, subsets=1, subset_size=len(real))
    to_nchw = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    metric.update(to_nchw(real), real=True)
    metric.update(to_nchw(fake), real=False)
    theirs, _ = metric.compute()
    # one subset of all the samples: any order of them gives the same unbiased MMD^2
    ours = kid(features(module.classifier, real), features(module.classifier, fake), subsets=1,
               subset_size=len(real))
    assert ours == pytest.approx(float(theirs), rel=1e-4, abs=1e-7)
    assert ours > 0.0                                    # the two sets do differ


def test_precision_recall_density_coverage_equal_the_reference_prdc():
    real, fake = image_sets()
    model = load_judge_classifier()
    fr, ff = features(model, real).astype(np.float64), features(model, fake).astype(np.float64)
    theirs = prdc_reference.compute_prdc(real_features=fr, fake_features=ff, nearest_k=5)
    ours = prdc(fr, ff, k=5)
    for name in ("precision", "recall", "density", "coverage"):
        assert ours[name] == pytest.approx(float(theirs[name]), abs=1e-9), name
    assert 0 < ours["coverage"] < 1 and 0 < ours["precision"] <= 1
