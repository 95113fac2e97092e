"""GAN: the basic DCGAN on galaxy images; watch it learn, and watch mode collapse happen, measured."""
from pages.ui.gan import gan_page
from pages.ui.setup import page_setup

page_setup(__file__)
gan_page("gan")
