"""The yardstick of the GAN speed figures: the same nets trained the way GAN examples usually
write it, pytorch/examples' dcgan (GAN) and PyTorch-GAN's acgan, wgan_gp and wgan_div. Never
used for training.

Same nets, same losses and the same math as the tasks; the habits that cost time are the
usual ones: a DataLoader-like numpy -> tensor copy and scaling of every batch, Adam with its
per-parameter loop, NCHW memory, the generator run with autograd in every critic step, the
critic's weights collecting gradients in the generator step, a `.item()` per logged loss,
and for the WGANs (as PyTorch-GAN writes them) the fake batch not detached in the critic
step (the backward pass also runs through G, whose gradients are then zeroed) and G run
again for the generator step.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autoenc.data.galaxy_set import N_CLASSES
from autoenc.errors import UserError
from autoenc.train.gan import TASKS
from autoenc.train.gan_config import GANConfig


class ReferenceLoop:
    """One generator step after n_critic critic steps; subclasses write the two losses."""

    kind = ""

    def __init__(self, config: GANConfig, images: np.ndarray, labels: np.ndarray):
        self.cfg = config
        mods = TASKS[self.kind].build_modules(config)
        self.G, self.D = mods["generator"], mods["critic"]
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=tuple(config.betas))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=tuple(config.betas))
        self.images, self.labels = images, labels
        self.np_rng = np.random.default_rng(config.seed)
        self.bce = nn.BCEWithLogitsLoss()
        self.ce = nn.CrossEntropyLoss()
        b = config.batch_size
        self.ones, self.zeros = torch.ones(b), torch.zeros(b)

    def batch(self):
        idx = self.np_rng.integers(0, len(self.images), self.cfg.batch_size)
        x = torch.from_numpy(self.images[idx]).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return x.contiguous(), torch.from_numpy(self.labels[idx])

    def step(self) -> dict[str, float]:
        b, log = self.cfg.batch_size, {}
        for _ in range(self.cfg.n_critic):
            real, y = self.batch()
            z = torch.randn(b, self.cfg.z_dim)
            gen_y = torch.randint(0, N_CLASSES, (b,))
            self.opt_d.zero_grad()
            fake, log["loss_d"] = self.critic_step(real, y, z, gen_y)
            self.opt_d.step()
        self.opt_g.zero_grad()
        g_loss = self.generator_loss(fake, gen_y)
        g_loss.backward()
        self.opt_g.step()
        log["loss_g"] = g_loss.item()
        return log

    def critic_step(self, real, y, z, gen_y) -> tuple[torch.Tensor, float]:
        """Backward of the critic's loss; returns the fake batch and the loss."""
        raise NotImplementedError

    def generator_loss(self, fake, gen_y) -> torch.Tensor:
        raise NotImplementedError


class ReferenceGAN(ReferenceLoop):
    kind = "gan"

    def critic_step(self, real, y, z, gen_y):
        fake = self.G(z)
        err_real = self.bce(self.D(real), self.ones)
        err_real.backward()
        err_fake = self.bce(self.D(fake.detach()), self.zeros)
        err_fake.backward()
        return fake, err_real.item() + err_fake.item()

    def generator_loss(self, fake, gen_y):
        return self.bce(self.D(fake), self.ones)


class ReferenceACGAN(ReferenceLoop):
    kind = "acgan"

    def critic_step(self, real, y, z, gen_y):
        fake = self.G(z, gen_y)
        real_v, real_c = self.D(real)
        fake_v, fake_c = self.D(fake.detach())
        d_loss = (self.bce(real_v, self.ones) + self.ce(real_c, y) + self.bce(fake_v, self.zeros)
                  + self.ce(fake_c, gen_y))
        d_loss.backward()
        return fake, d_loss.item()

    def generator_loss(self, fake, gen_y):
        v, c = self.D(fake)
        return self.bce(v, self.ones) + self.ce(c, gen_y)


class ReferenceWGANGP(ReferenceLoop):
    kind = "wgan-gp"

    def critic_step(self, real, y, z, gen_y):
        b, D = len(real), self.D
        fake = self.G(z)
        alpha = torch.rand(b, 1, 1, 1)
        interp = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
        d_interp = D(interp)
        grads = torch.autograd.grad(outputs=d_interp, inputs=interp, grad_outputs=torch.ones_like(d_interp),
                                    create_graph=True, retain_graph=True, only_inputs=True)[0]
        gp = ((grads.reshape(b, -1).norm(2, dim=1) - 1) ** 2).mean()
        d_loss = -D(real).mean() + D(fake).mean() + self.cfg.gp_lambda * gp
        d_loss.backward()
        return fake, d_loss.item()

    def generator_loss(self, fake, gen_y):
        return -self.D(self.G(torch.randn(self.cfg.batch_size, self.cfg.z_dim))).mean()


class ReferenceWGANDiv(ReferenceWGANGP):
    kind = "wgan-div"

    def critic_step(self, real, y, z, gen_y):
        b, D, p = len(real), self.D, self.cfg.div_p
        real.requires_grad_(True)
        fake = self.G(z)
        real_v, fake_v = D(real), D(fake)
        real_grad = torch.autograd.grad(real_v, real, torch.ones_like(real_v), create_graph=True,
                                        retain_graph=True, only_inputs=True)[0]
        fake_grad = torch.autograd.grad(fake_v, fake, torch.ones_like(fake_v), create_graph=True,
                                        retain_graph=True, only_inputs=True)[0]
        real_norm = real_grad.reshape(b, -1).pow(2).sum(1) ** (p / 2)
        fake_norm = fake_grad.reshape(b, -1).pow(2).sum(1) ** (p / 2)
        div = torch.mean(real_norm + fake_norm) * self.cfg.div_k / 2
        d_loss = -real_v.mean() + fake_v.mean() + div
        d_loss.backward()
        return fake, d_loss.item()


REFERENCE_LOOPS: dict[str, type[ReferenceLoop]] = {
    loop.kind: loop for loop in (ReferenceGAN, ReferenceACGAN, ReferenceWGANGP, ReferenceWGANDiv)}


def reference_loop(kind: str, config: GANConfig, images: np.ndarray, labels: np.ndarray) -> ReferenceLoop:
    try:
        return REFERENCE_LOOPS[kind](config, images, labels)
    except KeyError:
        raise UserError(f"no reference loop for {kind!r}; known: {', '.join(REFERENCE_LOOPS)}") from None
