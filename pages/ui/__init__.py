"""Not pages: the widgets and helpers the pages share.

Streamlit lists only pages/*.py as pages, so nothing in this folder shows up in the
navigation. setup.py: what every page calls first; runs.py: the run store, run controls
and the live loss chart; models.py: the checkpoint a page shows and its cached loader;
images.py: sample grids; text.py: the page's prose from pages/text/<page>.md; gan.py and
gan_measures.py: the body of the four GAN pages.
"""
