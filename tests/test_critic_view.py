"""The critic's view (issue 22, items 2-3) on critics made by hand: D's probabilities for the
BCE GANs, scores and gradient norms for the WGANs, and the images it finds most and least
real; taking it leaves training exactly as it was."""
import json

import numpy as np
import pytest
import torch
from torch import nn

from autoenc.bench.gan import fake_galaxies
from autoenc.train.critic_view import EXTREMES, N_EXTREMES, VIEW
from autoenc.train.gan import TASKS

SMALL = {"image_size": 32, "ngf": 8, "ndf": 8, "batch_size": 8}


class LinearCritic(nn.Module):
    """D(x) = <w, x> + b per image: its gradient is w everywhere, so every norm is |w|."""

    norm = "layer"          # per sample: real and fake go through as one batch

    def __init__(self, w: torch.Tensor, b: float = 0.0):
        super().__init__()
        self.w, self.b = w, b

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1) + self.b


def task(kind: str, n_images: int = 80):
    cls = TASKS[kind]
    torch.manual_seed(0)
    return cls(cls.Config(**SMALL), torch.device("cpu"), data=fake_galaxies(n_images, 32))


def test_the_bce_view_is_d_s_probability_of_real_on_each_image():
    t = task("gan")
    t.critic = LinearCritic(torch.zeros(1, 3, 32, 32), b=2.0)       # sure that everything is real
    view = t.snapshot(0)[VIEW]
    assert view.shape == (2, 64) and view.dtype == np.float32
    assert np.allclose(view, 1 / (1 + np.exp(-2.0)), atol=1e-6)


@pytest.mark.parametrize("kind", ["wgan-gp", "wgan-div"])
def test_the_wgan_view_has_the_scores_and_the_gradient_norms_where_the_penalty_takes_them(kind):
    t = task(kind)
    w = torch.full((1, 3, 32, 32), 0.01)
    w[:, 0] = -0.02
    t.critic = LinearCritic(w)
    out = t.snapshot(0)
    view = out[VIEW]
    rows = dict(zip(t.critic_view_rows, view))
    norm = float(w.flatten().norm())
    norm_rows = [r for r in t.critic_view_rows if r.endswith("norms")]
    assert norm_rows and all(np.allclose(rows[r], norm, rtol=1e-4) for r in norm_rows)
    # the real row is <w, x> of the view's fixed real batch, by hand
    real = t._critic_view.real
    assert np.allclose(rows["real"], (real * w).flatten(1).sum(1).numpy(), rtol=1e-4, atol=1e-5)
    assert out[EXTREMES].dtype == np.uint8


def test_the_extremes_are_the_images_the_critic_finds_most_and_least_real():
    t = task("wgan-gp")
    t.critic = LinearCritic(torch.ones(1, 3, 32, 32))      # the brighter, the more real
    grid = t.snapshot(0)[EXTREMES].astype(float)
    tile = (grid.shape[0] - 4 * 2) // 3                      # 3 rows of 32 px tiles, 2 px apart
    assert tile == 32 and grid.shape[1] == N_EXTREMES * 34 + 2
    row_means = [grid[2 + r * 34: 2 + r * 34 + 32].mean() for r in range(3)]
    assert row_means[0] > row_means[1], "most real (brightest) generated images above the least real"


def test_taking_the_view_leaves_training_exactly_as_it_was():
    a, b = task("gan"), task("gan")
    for step in range(1, 4):
        la, lb = a.train_step(step), b.train_step(step)
        a.snapshot(step)
        assert la == lb
    assert a.train_step(4) == b.train_step(4)
    for (name, x), (_, y) in zip(a.critic.state_dict().items(), b.critic.state_dict().items()):
        assert torch.equal(x, y), name


@pytest.mark.parametrize("model", ["gan", "acgan", "wgan-gp", "wgan-div"])
def test_every_view_is_on_the_page_of_a_run_that_recorded_them(home, shipped, model):
    from autoenc.runs.store import RunStore
    from tests.test_gan_pages import finished_run, page, tiny_task
    run_id = finished_run(home, model)
    store, t = RunStore(home), tiny_task(model, steps=1)
    for step in (1, 2, 3):
        t.train_step(step)
        for name, array in t.snapshot(step).items():
            store.put_sample(run_id, step, name, array, t.sample_history.get(name))
    assert [s for s, _ in store.sample_history(run_id, VIEW)] == [1, 2, 3]
    at = page(model).run()
    assert not at.exception
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    x_titles = [f["layout"].get("xaxis", {}).get("title", {}).get("text", "") for f in figures]
    wgan = len(t.critic_view_rows) > 2
    what = "critic score; Wasserstein estimate" if wgan else "D's probability that the image is real"
    assert any(x.startswith("step 3: " + what) for x in x_titles), x_titles
    (strip,) = [f for f in figures if any(tr["type"] == "heatmap" for tr in f["data"])]
    assert [tr["x"] for tr in strip["data"]] == [[1, 2, 3]] * 2            # one column per view, real and generated
    norms = [x for x in x_titles if x.startswith("|gradient")]
    assert len(norms) == int(wgan)
    md = " ".join(m.value for m in at.markdown)
    assert "heat strip" in md and "What fools the critic" not in md         # headings are not shown as text
    assert ("pulls the norm" in md) == (model == "wgan-gp") and ("no target value" in md) == (model == "wgan-div")
    captions = [c for im in at.get("image") for c in im.captions]
    assert any(c.startswith("Step 3: top row, the generated images the critic finds most real") for c in captions)


def test_the_heat_strip_has_one_column_per_view_of_shares_and_centring_removes_the_drift():
    from autoenc.train import critic_view as cv
    views = [np.array([[0.9, 0.8, 0.7, 0.95], [0.1, 0.2, 0.6, 0.3]]), np.array([[0.5] * 4, [0.5] * 4])]
    edges, shares = cv.heat_strip(views, *cv.score_range(views, probabilities=True), bins=10)
    assert edges[0] == 0 and edges[-1] == 1 and shares.shape == (2, 10, 2)
    assert np.allclose(shares.sum(1), 1.0)
    assert shares[0, 9, 0] == 0.5 and shares[1, 5, 1] == 1.0     # 0.95 and 0.9 in the top bin; all at 0.5
    drifted = views[0] + 100.0
    assert np.allclose(cv.centred(drifted), cv.centred(views[0])) and abs(cv.centred(drifted).mean()) < 1e-9
    assert cv.bce_accuracy(views[0][0], views[0][1]) == (1.0, 0.75)
