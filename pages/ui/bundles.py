"""Run bundles on the pages: download the model a page shows (a run's or a shipped one) as one
zip, and import a bundle made elsewhere (the library side: autoenc/runs/bundle*.py)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from autoenc.errors import UserError
from autoenc.runs import bundle
from autoenc.runs.bundle_import import import_bundle
from autoenc.runs.checkpoint import read_meta
from autoenc.runs.store import RunStore

HELP = ("one zip: the checkpoint, its config, its curves (CSV), samples (PNG) and history GIF, and a README "
        "with the command that reproduces it and a Python snippet that uses it")


def bundle_button(store: RunStore, path: Path, key: str, where=st) -> None:
    """A download of the bundle of the checkpoint `path`: its run's, or a shipped model's."""
    run_id = path.parent.name if path.parent.parent == store.dir else None

    def made() -> bytes:            # built when clicked, not on every redraw
        if run_id:
            return bundle.export_run(store, run_id).data
        return bundle.export_shipped(read_meta(path)["model"], path.name).data
    name = f"{run_id}.zip" if run_id else f"{path.stem}-bundle.zip"
    where.download_button("Download as a bundle", made, name, "application/zip", icon=":material/download:",
                          key=f"{key}_bundle", help=HELP)


def import_box(store: RunStore) -> str | None:
    """Upload a bundle and add its run here; returns the new run's id once imported."""
    upload = st.file_uploader("A run bundle (.zip, from **Download as a bundle** or `python -m autoenc runs export`)",
                              type=["zip"], key="bundle_upload", disabled=bool(store.read_only))
    if upload is None:
        return None
    done = st.session_state.get("bundle_imported")
    if done and done[0] == upload.file_id:          # this upload was imported already (a rerun)
        st.success(f"Imported as run **{done[1]}**: choose it below, or on its model's page.")
        return done[1]
    if not st.button("Import this bundle", key="bundle_import", type="primary"):
        return None
    try:
        run_id = import_bundle(store, upload.getvalue())
    except UserError as e:
        st.error(str(e))
        return None
    st.session_state["bundle_imported"] = (upload.file_id, run_id)
    st.rerun()      # the page again, with the run in its lists and the success in place of the button
