"""acGAN: an auxiliary-classifier GAN that draws the galaxy class it is asked for."""
from pages.ui.gan import gan_page
from pages.ui.setup import page_setup

page_setup(__file__)
gan_page("acgan")
