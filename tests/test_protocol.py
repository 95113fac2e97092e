"""A session over Streamlit's websocket protocol (pages.ui.protocol): it loads the
server as a browser does, so the load test's class can be 30 while few of them draw."""
import pytest

from autoenc.reliability.browser import streamlit_server
from pages.ui.protocol import ProtocolSession

pytestmark = pytest.mark.browser      # it starts the real app, as the browser tests do


def test_a_protocol_session_runs_pages_widgets_and_reports_what_the_page_showed(tmp_path):
    with streamlit_server(tmp_path) as (url, _):
        s = ProtocolSession(url)
        try:
            assert s.open("denoiser") > 0
            headings = [e.heading.body for e in s._elements if e.WhichOneof("type") == "heading"]
            assert headings[0] == "Denoiser"
            # picking a radio option reruns the page with it: the page then speaks of that noise
            def notices():
                return [e.alert.body for e in s._elements if e.WhichOneof("type") == "alert"]
            assert any(n.startswith("No realistic (galactic) run yet") for n in notices())
            s.choose("Noise type", "uniform")
            assert any(n.startswith("No uniform run yet") for n in notices()), notices()
            with pytest.raises(LookupError, match="has no option 'pink'"):
                s.choose("Noise type", "pink")
            # the SNR range slider moves by one step, lower handle first
            before = next(e.slider for e in s._elements if e.WhichOneof("type") == "slider")
            assert s.nudge_slider() is not None
            sent = s._widgets[before.id].double_array_value.data
            assert list(sent) == [before.default[0] + before.step, before.default[1]]
            s.open("wgan_gp")
            assert [e.heading.body for e in s._elements if e.WhichOneof("type") == "heading"][0] == "WGAN-GP"
            assert s.exceptions == []
            with pytest.raises(LookupError, match="no page at /nowhere"):
                s.open("nowhere")
            with pytest.raises(LookupError, match="no radio or selectbox"):
                s.choose("No such widget", "a")
        finally:
            s.close()
