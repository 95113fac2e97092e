import numpy as np
import pytest

from autoenc.metrics.images import class_histogram, kid, prdc, total_variation


def test_class_histogram_and_tv():
    h = class_histogram(np.array([0, 0, 1, 2, 2, 2]))
    assert h.tolist() == pytest.approx([2 / 6, 1 / 6, 3 / 6])
    assert total_variation([1, 0, 0], [0, 0, 1]) == 1.0
    assert total_variation(h, h) == 0.0
    assert total_variation([0.5, 0.5, 0], [0.25, 0.25, 0.5]) == pytest.approx(0.5)


def test_kid_is_near_zero_for_same_distribution_and_grows_with_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same = kid(a, b, subsets=10, subset_size=100)
    shifted = kid(a, b + 1.0, subsets=10, subset_size=100)
    assert abs(same) < 0.05
    assert shifted > 10 * max(abs(same), 1e-3)


def test_kid_matches_hand_computed_case():
    # two points each, d=1: k(x,y) = (xy+1)^3
    x, y = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    kxx_off = 2 * (0 * 1 + 1) ** 3
    kyy_off = 2 * (2 * 3 + 1) ** 3
    kxy = np.mean([(a * b + 1) ** 3 for a in (0, 1) for b in (2, 3)])
    expected = (kxx_off + kyy_off) / 2 - 2 * kxy
    assert kid(x, y, subsets=1, subset_size=2) == pytest.approx(expected)


def test_prdc_collapse_keeps_precision_but_loses_coverage():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(300, 8))
    healthy = rng.normal(size=(300, 8))
    collapsed = real[:1] + 0.01 * rng.normal(size=(300, 8))   # every sample near one real point
    good, bad = prdc(real, healthy), prdc(real, collapsed)
    assert good["coverage"] > 0.8 and good["recall"] > 0.8
    assert bad["precision"] == 1.0
    assert bad["coverage"] < 0.05 and bad["recall"] < 0.05


def test_prdc_identical_sets_are_perfect():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(50, 4))
    r = prdc(real, real.copy())
    assert r["precision"] == r["recall"] == r["coverage"] == 1.0
