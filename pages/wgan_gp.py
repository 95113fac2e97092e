"""WGAN-GP: a Wasserstein GAN with gradient penalty (lambda 10) on galaxy images."""
from pages.gan_ui import gan_page

gan_page("wgan-gp")
