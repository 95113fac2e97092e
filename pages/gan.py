"""GAN: the basic DCGAN on galaxy images; watch it learn, and watch mode collapse happen, measured."""
from pages.gan_ui import gan_page

gan_page("gan")
