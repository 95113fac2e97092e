"""WGAN-div: a Wasserstein divergence GAN (k 2, p 6) on galaxy images."""
from pages.gan_ui import gan_page

gan_page("wgan-div")
