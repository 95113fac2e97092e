"""autoenc: the library behind the dashboard (data, models, training, metrics, runs).

Nothing in this package imports Streamlit: pages read what it writes to the run store.
"""
__version__ = "0.1.0"
