r"""GAN losses, each returned in parts so every term can be logged and charted.

Conventions: D(x) is the critic's raw output (a logit for the BCE GAN and acGAN, an
unbounded score for the WGANs), high for real images. Every function returns a dict of
0-dim tensors whose "loss" entry is the one to minimise; the other entries are the
parts (detached), named as they are logged.

Docstrings give the formula in LaTeX, so the pages can render the same text.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import torch
import torch.nn.functional as F

Parts = dict[str, torch.Tensor]


# -- BCE GAN (Goodfellow et al. 2014; DCGAN, Radford et al. 2016) -----------------------

def bce_critic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> Parts:
    r"""Discriminator loss of the original GAN, on logits.

    $$L_D = -\mathbb{E}_x[\log\sigma(D(x))] - \mathbb{E}_z[\log(1-\sigma(D(G(z))))]$$

    Goodfellow et al. (2014), "Generative Adversarial Nets". Computed with
    `binary_cross_entropy_with_logits` (log-sum-exp inside), never Sigmoid + BCELoss,
    which saturates to log(0) once the discriminator is confident.
    Parts: loss_d; d_real and d_fake, the mean probabilities $\sigma(D)$ it assigns.
    """
    loss_real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    loss_fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    loss = loss_real + loss_fake
    return {"loss": loss, "loss_d": loss.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean()}


def bce_generator_loss(fake_logits: torch.Tensor) -> Parts:
    r"""Non-saturating generator loss, on logits.

    $$L_G = -\mathbb{E}_z[\log\sigma(D(G(z)))]$$

    Goodfellow et al. (2014), section 3: maximise $\log D(G(z))$ rather than minimise
    $\log(1-D(G(z)))$, whose gradient vanishes early in training.
    """
    loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return {"loss": loss, "loss_g": loss.detach()}


# -- acGAN (Odena et al. 2017) -----------------------------------------------------------

def class_loss(class_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r"""$-\mathbb{E}[\log \mathrm{softmax}(c)_y]$ from class LOGITS (B, n_classes).

    `cross_entropy` applies log-softmax itself: a softmax before it (a known bug in a
    popular reference) squashes the logits into [0, 1] and the loss can hardly move.
    """
    return F.cross_entropy(class_logits, labels)


def acgan_critic_loss(real_logits: torch.Tensor, real_class_logits: torch.Tensor, real_labels: torch.Tensor,
                      fake_logits: torch.Tensor, fake_class_logits: torch.Tensor, fake_labels: torch.Tensor,
                      fake_class_weight: float = 1.0) -> Parts:
    r"""acGAN discriminator loss: adversarial BCE plus class cross-entropy on real AND fake.

    $$L_D = L_{BCE}(D) + \mathrm{CE}(c(x), y) + \lambda_f\,\mathrm{CE}(c(G(z, y')), y')$$

    Odena, Olah & Shlens (2017), "Conditional Image Synthesis with Auxiliary Classifier
    GANs": the discriminator maximises $L_S + L_C$, where $L_S$ is the real/fake
    log-likelihood and $L_C = \log P(C=c \mid X_{real}) + \log P(C=c \mid X_{fake})$.
    $\lambda_f$ (fake_class_weight) is 1 in the paper; 0 trains the class head on real
    galaxies only, so the generator must draw what a classifier of real galaxies
    recognises rather than features that only the critic has learnt to read as a class.
    All terms take logits. Parts: loss_d, loss_d_adv, class_loss_real, class_loss_fake,
    class_acc_real (share of real images whose arg-max class is right).
    """
    adv = bce_critic_loss(real_logits, fake_logits)
    ce_real = class_loss(real_class_logits, real_labels)
    ce_fake = class_loss(fake_class_logits, fake_labels)
    loss = adv["loss"] + ce_real + (fake_class_weight * ce_fake if fake_class_weight != 1.0 else ce_fake)
    acc = (real_class_logits.detach().argmax(1) == real_labels).float().mean()
    return {"loss": loss, "loss_d": loss.detach(), "loss_d_adv": adv["loss_d"],
            "class_loss_real": ce_real.detach(), "class_loss_fake": ce_fake.detach(), "class_acc_real": acc}


def acgan_generator_loss(fake_logits: torch.Tensor, fake_class_logits: torch.Tensor, fake_labels: torch.Tensor,
                         class_weight: float = 1.0) -> Parts:
    r"""acGAN generator loss: fool the real/fake head, please the class head.

    $$L_G = -\mathbb{E}[\log\sigma(D(G(z, y)))] + \lambda_c\,\mathrm{CE}(c(G(z, y)), y)$$

    Odena et al. (2017): the generator maximises $L_C - L_S$; as for the plain GAN we use
    the non-saturating form of $-L_S$. $\lambda_c$ (class_weight) is 1 in the paper.
    """
    adv = bce_generator_loss(fake_logits)
    ce = class_loss(fake_class_logits, fake_labels)
    loss = adv["loss"] + (class_weight * ce if class_weight != 1.0 else ce)
    return {"loss": loss, "loss_g": loss.detach(), "loss_g_adv": adv["loss_g"], "class_loss_gen": ce.detach()}


# -- Wasserstein GANs ---------------------------------------------------------------------

def wasserstein_estimate(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    r"""$\hat W = \mathbb{E}[D(x)] - \mathbb{E}[D(G(z))]$, the critic's estimate of the
    Wasserstein-1 distance (Arjovsky et al. 2017) when D is 1-Lipschitz. It should fall as
    the generator improves; it is the curve to watch, unlike the BCE losses."""
    return real_scores.mean() - fake_scores.mean()


def interpolates(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""$\hat x = \epsilon x + (1-\epsilon)\tilde x$ with ONE $\epsilon \sim U[0, 1]$ per sample.

    epsilon has shape (B, 1, 1, 1) and is broadcast over C, H, W, so each $\hat x_i$ lies
    on the straight segment between the pair $(x_i, \tilde x_i)$, as Gulrajani et al.
    (2017, Algorithm 1) sample it. An epsilon per pixel (a known bug in a popular
    reference) scatters $\hat x$ off that segment. Returns (x_hat, epsilon).
    """
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator,
                     device=real.device, dtype=real.dtype)
    return torch.lerp(fake, real, eps), eps   # fake + eps (real - fake)


def input_gradient_norms(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                         power: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Per-sample $\|\nabla_x D(x_i)\|_2^{power}$ (B,) and the scores D(x) (B,).

    The gradient is taken with `create_graph=True`, so a penalty built on it can itself be
    back-propagated into the critic's weights. Since sum_i D(x_i) has gradient
    $\nabla D(x_i)$ in row i (the samples do not interact: no BatchNorm in a WGAN critic),
    one backward pass gives every sample's gradient.
    """
    x = x.detach().requires_grad_(True)
    scores = critic(x)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    sq = grad.flatten(1).pow(2).sum(1)       # ||grad||^2 per sample
    # power 1 needs the square root; even powers avoid it (and its infinite slope at 0)
    norms = sq.sqrt() if power == 1 else sq.pow(power / 2)
    return norms, scores


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     lam: float = 10.0, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""WGAN-GP penalty at per-sample random interpolates.

    $$\mathrm{GP} = \lambda\, \mathbb{E}_{\hat x}\big[(\|\nabla_{\hat x} D(\hat x)\|_2 - 1)^2\big],
      \quad \hat x = \epsilon x + (1-\epsilon)\tilde x,\ \epsilon \sim U[0,1] \text{ per sample}$$

    Gulrajani et al. (2017), "Improved Training of Wasserstein GANs", eq. 3, lambda = 10.
    The norm is the L2 norm of each sample's whole gradient (over C, H, W).
    """
    x_hat, _ = interpolates(real.detach(), fake.detach(), generator)
    norms, _ = input_gradient_norms(critic, x_hat)
    return lam * (norms - 1).pow(2).mean()


def wgan_gp_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, penalty: torch.Tensor) -> Parts:
    r"""WGAN-GP critic loss.

    $$L_D = \mathbb{E}[D(\tilde x)] - \mathbb{E}[D(x)] + \lambda\,\mathbb{E}[(\|\nabla D(\hat x)\|_2-1)^2]$$

    Gulrajani et al. (2017), eq. 3; `penalty` from `gradient_penalty`.
    Parts: loss_d, wasserstein ($\hat W$, the negated critic loss without the penalty),
    gradient_penalty.
    """
    w = wasserstein_estimate(real_scores, fake_scores)
    loss = penalty - w
    return {"loss": loss, "loss_d": loss.detach(), "wasserstein": w.detach(), "gradient_penalty": penalty.detach()}


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> Parts:
    r"""$L_G = -\mathbb{E}_z[D(G(z))]$ (Arjovsky et al. 2017), for WGAN-GP and WGAN-div."""
    loss = -fake_scores.mean()
    return {"loss": loss, "loss_g": loss.detach()}


def divergence_penalty(real_grad_norms: torch.Tensor, fake_grad_norms: torch.Tensor,
                       k: float = 2.0, p: float = 6.0) -> torch.Tensor:
    r"""WGAN-div penalty from per-sample gradient norms at real and at fake samples.

    $$\mathrm{GP}_{div} = \frac{k}{2}\,\frac{1}{B}\sum_{i=1}^{B}\Big(\|\nabla_x D(x_i)\|_2^{\,p}
      + \|\nabla_{\tilde x} D(\tilde x_i)\|_2^{\,p}\Big)$$

    Wu et al. (2018), "Wasserstein Divergence for GANs" (ECCV): the W-div objective adds
    $k\,\mathbb{E}_{\hat x \sim P_u}[\|\nabla D(\hat x)\|^p]$ to the critic loss, with
    k = 2, p = 6 as their recommended setting, and $P_u$ a distribution over the real and
    generated samples. We take $P_u$ as the even mixture of the B real and the B fake
    samples of the batch (as DESIGN §3 and the common implementations do), so that
    expectation is exactly the formula above: k times the mean over 2B points equals k/2
    times the mean over B pairs.
    $\|\cdot\|_2$ is each sample's gradient L2 norm over (C, H, W); no "- 1" target.
    The inputs are those norms already raised to p (`input_gradient_norms(..., power=p)`).
    """
    return (k / 2) * (real_grad_norms + fake_grad_norms).mean()


def wgan_div_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, penalty: torch.Tensor) -> Parts:
    r"""WGAN-div critic loss (Wu et al. 2018), with D high on real images.

    $$L_D = \mathbb{E}[D(\tilde x)] - \mathbb{E}[D(x)] + \frac{k}{2}\,\mathbb{E}\big[\|\nabla D(x)\|^p + \|\nabla D(\tilde x)\|^p\big]$$

    The paper writes the critic f with the opposite sign (f low on real); with D = -f the
    penalty is unchanged, as it depends on |grad| only. Parts: loss_d, wasserstein,
    gradient_penalty.
    """
    w = wasserstein_estimate(real_scores, fake_scores)
    loss = penalty - w
    return {"loss": loss, "loss_d": loss.detach(), "wasserstein": w.detach(), "gradient_penalty": penalty.detach()}


def formulas(functions) -> list[str]:
    """The LaTeX of these losses, taken from their docstrings ($$...$$, else the first inline
    $...$), so a page shows the formulas the code cites."""
    out = []
    for fn in functions:
        doc = fn.__doc__ or ""
        found = re.findall(r"\$\$(.+?)\$\$", doc, flags=re.S) or re.findall(r"\$(.+?)\$", doc)[:1]
        out += [" ".join(f.split()) for f in found]
    return out
