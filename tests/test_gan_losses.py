"""GAN losses on cases worked out by hand."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autoenc.train import losses

torch.set_num_threads(1)


class LinearCritic(nn.Module):
    """D(x) = w . x (+ b): its gradient is w at every x, so every penalty has a closed form."""

    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = b

    def forward(self, x):
        return x.flatten(1) @ self.w.flatten() + self.b


def _pair(b=5, shape=(3, 2, 2), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, *shape, generator=g), torch.randn(b, *shape, generator=g)


def test_gradient_penalty_of_a_linear_critic_is_lambda_times_norm_minus_one_squared():
    w = torch.tensor([[[0.5, -1.0], [2.0, 0.0]], [[1.0, 1.0], [0.0, -0.5]], [[0.25, 0.0], [0.0, 1.5]]])
    norm = math.sqrt(float((w ** 2).sum()))            # ||w||_2 = sqrt(9.8125)
    real, fake = _pair()
    gp = losses.gradient_penalty(LinearCritic(w), real, fake, lam=10.0)
    assert gp.item() == pytest.approx(10.0 * (norm - 1.0) ** 2, rel=1e-5)


def test_gradient_penalty_is_zero_for_a_unit_norm_critic_and_trains_its_weights():
    w = torch.zeros(3, 2, 2)
    w[0, 0, 0], w[1, 1, 1] = 0.6, 0.8                    # ||w|| = 1
    critic = LinearCritic(w)
    real, fake = _pair()
    assert losses.gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    critic.w.data *= 2                                   # ||w|| = 2: d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    losses.gradient_penalty(critic, real, fake).backward()
    assert torch.allclose(critic.w.grad, 20 * 1.0 * critic.w.data / 2.0, atol=1e-5)


def test_interpolates_use_one_epsilon_per_sample_on_the_real_fake_segment():
    real, fake = _pair(b=6, shape=(3, 4, 4))
    x_hat, eps = losses.interpolates(real, fake, torch.Generator().manual_seed(1))
    assert eps.shape == (6, 1, 1, 1)
    assert ((eps >= 0) & (eps <= 1)).all()
    # x_hat_i - fake_i = eps_i (real_i - fake_i) in EVERY pixel: one scalar per sample
    assert torch.allclose(x_hat, fake + eps * (real - fake), atol=1e-6)
    far = (real - fake).abs() > 0.1                      # where the ratio is well conditioned
    ratio = (x_hat - fake) / (real - fake)
    for i in range(6):
        assert torch.allclose(ratio[i][far[i]], eps[i].flatten().expand(int(far[i].sum())), atol=1e-4)
    assert eps.flatten().unique().numel() == 6          # and the samples differ


def test_input_gradient_norms_are_per_sample():
    class Quadratic(nn.Module):       # D(x_i) = 0.5 * i-independent sum(x_i^2): grad = x_i
        def forward(self, x):
            return 0.5 * x.flatten(1).pow(2).sum(1)
    x = torch.tensor([[3.0, 4.0], [0.0, 1.0], [1.0, 1.0]])
    norms, scores = losses.input_gradient_norms(Quadratic(), x)
    assert torch.allclose(norms, torch.tensor([5.0, 1.0, math.sqrt(2)]))
    assert torch.allclose(scores, torch.tensor([12.5, 0.5, 1.0]))
    norms6, _ = losses.input_gradient_norms(Quadratic(), x, power=6)
    assert torch.allclose(norms6, torch.tensor([5.0 ** 6, 1.0, 8.0]))


@pytest.mark.parametrize("k,p", [(2.0, 6.0), (1.0, 2.0), (3.0, 1.0)])
def test_wgan_div_penalty_of_a_linear_critic(k, p):
    w = torch.tensor([[[0.3, 0.4], [0.0, 0.5]], [[0.1, 0.0], [0.2, 0.0]], [[0.0, 0.6], [0.0, 0.0]]])
    norm = float(w.norm())
    real, fake = _pair()
    critic = LinearCritic(w)
    b = len(real)
    norms, scores = losses.input_gradient_norms(critic, torch.cat([real, fake]), power=p)
    penalty = losses.divergence_penalty(norms[:b], norms[b:], k, p)
    # (k/2) mean(||w||^p + ||w||^p) = k ||w||^p
    assert penalty.item() == pytest.approx(k * norm ** p, rel=1e-5)
    parts = losses.wgan_div_critic_loss(scores[:b], scores[b:], penalty)
    with torch.no_grad():
        w_hat = float(critic(real).mean() - critic(fake).mean())
    assert parts["wasserstein"].item() == pytest.approx(w_hat, rel=1e-5)
    assert parts["loss"].item() == pytest.approx(k * norm ** p - w_hat, rel=1e-5)


def test_wgan_gp_parts_and_generator_loss():
    real_s, fake_s = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 0.0])
    parts = losses.wgan_gp_critic_loss(real_s, fake_s, torch.tensor(0.5))
    assert parts["wasserstein"].item() == pytest.approx(3.5)
    assert parts["loss"].item() == pytest.approx(-3.5 + 0.5)
    assert parts["gradient_penalty"].item() == pytest.approx(0.5)
    assert losses.wasserstein_generator_loss(fake_s)["loss"].item() == pytest.approx(0.5)
    assert losses.wasserstein_estimate(real_s, fake_s).item() == pytest.approx(3.5)


def test_bce_losses_match_the_formula_and_stay_finite_for_confident_logits():
    r, f = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.5])
    sig = torch.sigmoid
    want = -(torch.log(sig(r)).mean() + torch.log(1 - sig(f)).mean())
    parts = losses.bce_critic_loss(r, f)
    assert parts["loss"].item() == pytest.approx(want.item(), rel=1e-6)
    assert parts["d_real"].item() == pytest.approx(sig(r).mean().item())
    assert losses.bce_generator_loss(f)["loss"].item() == pytest.approx(-torch.log(sig(f)).mean().item(), rel=1e-6)
    # a confident discriminator: Sigmoid + BCELoss would give log(0); logits give exact values
    big = losses.bce_critic_loss(torch.tensor([-200.0]), torch.tensor([200.0]))["loss"]
    assert big.item() == pytest.approx(400.0)
    g = losses.bce_generator_loss(torch.tensor([-200.0], requires_grad=True))
    assert g["loss"].item() == pytest.approx(200.0)


def test_acgan_class_loss_is_cross_entropy_on_logits_not_on_softmax():
    logits = torch.tensor([[4.0, 0.0, -2.0], [0.5, 3.0, 0.0], [1.0, 1.0, 6.0], [0.0, 2.0, 0.0]])
    y = torch.tensor([0, 1, 2, 0])
    ce = losses.class_loss(logits, y)
    assert ce.item() == pytest.approx(F.cross_entropy(logits, y).item())
    # the known double-softmax bug: a confident, right prediction still costs log(e + 2) - 1
    sure = torch.tensor([[12.0, 0.0, 0.0]])
    assert losses.class_loss(sure, torch.tensor([0])).item() < 1e-4
    double_softmax = F.cross_entropy(torch.softmax(sure, 1), torch.tensor([0]))
    assert double_softmax.item() == pytest.approx(math.log(math.e + 2) - 1, rel=1e-3)
    # by hand for the first row: log(e^4 + 1 + e^-2) - 4
    row0 = math.log(math.exp(4) + 1 + math.exp(-2)) - 4
    assert losses.class_loss(logits[:1], y[:1]).item() == pytest.approx(row0, rel=1e-6)


def test_acgan_losses_add_their_parts():
    g = torch.Generator().manual_seed(0)
    rl, fl = torch.randn(4, generator=g), torch.randn(4, generator=g)
    rc, fc = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    ry, fy = torch.tensor([0, 1, 2, 1]), torch.tensor([2, 2, 0, 1])
    d = losses.acgan_critic_loss(rl, rc, ry, fl, fc, fy)
    want = losses.bce_critic_loss(rl, fl)["loss"] + F.cross_entropy(rc, ry) + F.cross_entropy(fc, fy)
    assert d["loss"].item() == pytest.approx(want.item(), rel=1e-6)
    assert d["class_acc_real"].item() == pytest.approx((rc.argmax(1) == ry).float().mean().item())
    gl = losses.acgan_generator_loss(fl, fc, fy)
    want_g = F.binary_cross_entropy_with_logits(fl, torch.ones(4)) + F.cross_entropy(fc, fy)
    assert gl["loss"].item() == pytest.approx(want_g.item(), rel=1e-6)
    assert all(not v.requires_grad for k, v in d.items() if k != "loss")


def test_acgan_class_loss_weights():
    g = torch.Generator().manual_seed(1)
    rl, fl = torch.randn(6, generator=g), torch.randn(6, generator=g)
    rc, fc = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    ry, fy = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([2, 0, 1, 1, 0, 2])
    adv_d = losses.bce_critic_loss(rl, fl)["loss"]
    # 0: the class head learns from real galaxies only
    d0 = losses.acgan_critic_loss(rl, rc, ry, fl, fc, fy, fake_class_weight=0.0)
    assert d0["loss"].item() == pytest.approx((adv_d + F.cross_entropy(rc, ry)).item(), rel=1e-6)
    d2 = losses.acgan_critic_loss(rl, rc, ry, fl, fc, fy, fake_class_weight=2.0)
    want = adv_d + F.cross_entropy(rc, ry) + 2 * F.cross_entropy(fc, fy)
    assert d2["loss"].item() == pytest.approx(want.item(), rel=1e-6)
    # the logged class loss on fakes is the unweighted one, whatever the weight
    assert d0["class_loss_fake"].item() == pytest.approx(F.cross_entropy(fc, fy).item(), rel=1e-6)
    g3 = losses.acgan_generator_loss(fl, fc, fy, class_weight=3.0)
    want_g = F.binary_cross_entropy_with_logits(fl, torch.ones(6)) + 3 * F.cross_entropy(fc, fy)
    assert g3["loss"].item() == pytest.approx(want_g.item(), rel=1e-6)
