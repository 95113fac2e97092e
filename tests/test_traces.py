"""The Denoiser's plots can be read (issue 19, 11): zoomed on the pulse, the truth drawn over
the dashed output, log axes in powers of ten, legends above the plot, clear of axis titles."""
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from autoenc.data import radio
from pages.ui.traces import ZOOM_US, pulse_window, spectra_figure, trace_figure

US = 1e6 / radio.FS_HZ


def test_a_trace_is_zoomed_on_the_true_peak_with_the_truth_on_top():
    d = radio.simulate(1, "uniform", (5.0, 5.0), seed=3)
    peak_us = int(np.argmax(np.abs(d.clean[0] - np.median(d.clean[0])))) * US
    fig = trace_figure({"noisy": d.noisy[0], "truth": d.clean[0], "output": d.clean[0]})
    lo, hi = fig.layout.xaxis.range
    assert lo <= peak_us <= hi and hi - lo == pytest.approx(2 * ZOOM_US)
    assert [t.name for t in fig.data] == ["noisy", "output", "truth"]         # the truth drawn last
    assert fig.data[1].line.dash == "dash"
    assert fig.layout.legend.yanchor == "bottom" and fig.layout.legend.y >= 1  # above the plot
    whole = trace_figure({"noisy": d.noisy[0], "truth": d.clean[0]}, zoom=False)
    assert whole.layout.xaxis.range is None


def test_the_window_stays_inside_the_trace():
    early = np.zeros(radio.N_SAMPLES)
    early[2] = 5.0
    assert pulse_window(early) == (0.0, 2 * ZOOM_US)
    late = np.zeros(radio.N_SAMPLES)
    late[-1] = 5.0
    lo, hi = pulse_window(late)
    assert hi == pytest.approx(radio.N_SAMPLES * US) and hi - lo == pytest.approx(2 * ZOOM_US)


def test_spectra_are_on_log_axes_in_powers_of_ten():
    f = np.linspace(0, 90, 251)
    fig = spectra_figure({"uniform": {"noisy": (f, 1e-3 + f), "truth": (f, 1e-5 + f), "output": (f, 1e-4 + f)}})
    axis = fig.layout.yaxis
    assert axis.type == "log" and axis.exponentformat == "power" and axis.dtick == 1
    assert fig.layout.legend.y > 1


def test_the_denoiser_page_zooms_by_default_and_shows_the_whole_trace_on_request(home):
    at = AppTest.from_file("../pages/denoiser.py", default_timeout=240).run()
    assert not at.exception and at.toggle(key="zoom").value is True
    at.toggle(key="zoom").set_value(False).run()
    assert not at.exception
