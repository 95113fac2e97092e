"""acGAN: an auxiliary-classifier GAN that draws the galaxy class it is asked for."""
from pages.gan_ui import gan_page

gan_page("acgan")
