"""WGAN-div: a Wasserstein divergence GAN (k 2, p 6) on galaxy images."""
from pages.ui.gan import gan_page
from pages.ui.setup import page_setup

page_setup(__file__)
gan_page("wgan-div")
