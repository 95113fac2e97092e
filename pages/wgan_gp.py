"""WGAN-GP: a Wasserstein GAN with gradient penalty (lambda 10) on galaxy images."""
from pages.ui.gan import gan_page
from pages.ui.setup import page_setup

page_setup(__file__)
gan_page("wgan-gp")
