"""What every page calls first."""
from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from pages.ui.link import link_bar


def page_setup(page_file: str) -> None:
    """Hand a deep link on a freshly started server over to the router (app.py); then the
    page's link bar (pages/ui/link.py: Copy link, hidden parts, presenter mode).

    Until app.py's st.navigation has run once in the server's process, Streamlit runs a page
    opened by its URL under its legacy pages/ runner (no wide layout, no titles, every
    pages/*.py file in the navigation). Its flag for that, PagesManager.uses_pages_directory,
    is not public API: tests/test_browser_shell.py opens a deep link on a fresh server and
    fails if this hand-over stops working.
    """
    if PagesManager.uses_pages_directory:
        # the link's query goes along, repeated keys too (a range: ?snr=2&snr=20)
        query = {k: st.query_params.get_all(k) for k in st.query_params}
        st.session_state["_route_to"] = ("pages/" + Path(page_file).name, query)
        st.switch_page("app.py")
    link_bar()
