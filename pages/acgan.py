"""acGAN: an auxiliary-classifier GAN that draws the galaxy class it is asked for."""
from pages.gan_ui import gan_page
from pages.ui import page_setup

page_setup(__file__)
gan_page("acgan")
