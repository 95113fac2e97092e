"""The nearest-real-neighbour search of issue 22, item 4, on tiny sets made by hand, and its
section on a GAN page."""
import numpy as np
import pytest
import torch
from torch import nn

from autoenc.metrics.neighbours import nearest, nearest_training_images


class MeanColour(nn.Module):
    """A stand-in classifier whose features are an image's mean colour."""

    def features(self, x):
        return x.mean((2, 3))


def test_nearest_finds_the_closest_rows_in_order_with_their_distances():
    pool = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0], [10.0, 10.0]])
    idx, dist = nearest(np.array([[0.9, 0.0], [3.0, 3.0]]), pool, k=2)
    assert idx.tolist() == [[2, 0], [1, 2]]
    assert dist[0] == pytest.approx([0.1, 0.9]) and dist[1] == pytest.approx([1.0, np.hypot(2, 3)])
    idx, dist = nearest(pool[:2], pool, k=1, exclude_self=True)
    assert idx.tolist() == [[2], [2]] and dist[:, 0] == pytest.approx([1.0, np.hypot(2, 4)])


def test_a_copied_training_image_is_its_own_nearest_neighbour_at_distance_zero():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    feats = MeanColour().features(torch.from_numpy(train).permute(0, 3, 1, 2).float() / 255).numpy()
    samples = np.stack([train[5], train[11]])
    found = nearest_training_images(samples, train, feats, MeanColour(), k=3)
    assert found.indices[:, 0].tolist() == [5, 11]
    assert found.distances[:, 0] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert np.array_equal(found.images[0, 0], train[5]) and found.images.shape == (2, 3, 8, 8, 3)
    assert found.real_spacing > 0 and np.all(np.diff(found.distances, axis=1) >= 0)


def test_the_page_shows_each_sample_beside_its_neighbours(home, shipped):
    from tests.test_gan_pages import finished_run, page, tiny_classifier
    tiny_classifier(shipped)
    finished_run(home, "gan")
    at = page("gan").run()
    assert not at.exception
    at.button(key="gan_neighbours").click().run()
    assert not at.exception, at.exception
    captions = [c for im in at.get("image") for c in im.captions if "nearest training images" in c]
    assert len(captions) == 8 and all("distance" in c for c in captions)
    assert any("median distance of" in m.value for m in at.markdown)
