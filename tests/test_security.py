"""Issue 7's security points: nothing unpickles, XSRF protection stays on (and works), and
a hostile upload through the real page is refused with a message, writing nothing outside."""
import ast
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from autoenc.paths import REPO_ROOT
from autoenc.reliability.bad_inputs.files import good_zip, png, zip_bytes
from tests.browser import browser_page, exceptions_on, require_browser, streamlit_server, wait_for_app

SOURCES = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py")),
           *sorted((REPO_ROOT / "autoenc").rglob("*.py"))]
UNPICKLERS = {("pickle", "load"), ("pickle", "loads"), ("torch", "load"), ("joblib", "load"),
              ("dill", "load"), ("dill", "loads"), ("marshal", "loads"), ("shelve", "open"),
              ("pd", "read_pickle"), ("pandas", "read_pickle"), ("yaml", "load"), ("cloudpickle", "loads")}


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            yield node, (node.func.value.id, node.func.attr)


def test_nothing_in_the_project_unpickles():
    found = []
    for path in SOURCES:
        for node, name in _calls(path):
            where = f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
            if name in UNPICKLERS:
                found.append(f"{where} {'.'.join(name)}")
            if name == ("np", "load"):
                kw = {k.arg: k.value for k in node.keywords}
                if not (isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False):
                    found.append(f"{where} np.load without allow_pickle=False")
    assert found == [], found
    assert len(SOURCES) > 30


def test_xsrf_protection_is_on_in_the_config():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] <= 200
    readme = (REPO_ROOT / "README.md").read_text()
    assert "enableXsrfProtection" not in readme and "enableCORS" not in readme


@pytest.mark.browser
def test_server_refuses_an_upload_without_the_xsrf_token_and_the_page_refuses_a_zip_slip(tmp_path):
    require_browser()
    home = tmp_path / "home"
    home.mkdir()
    entries = good_zip()
    entries["../../../escaped.png"] = png()
    archive = tmp_path / "evil.zip"
    archive.write_bytes(zip_bytes(entries))
    with streamlit_server(home) as (url, _):
        req = urllib.request.Request(url + "/_stcore/upload_file/some-session/some-file", data=b"x" * 10,
                                     method="PUT")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        assert refused.value.code == 403 and b"XSRF" in refused.value.read()  # off, it would be 400

        with browser_page() as page:
            page.goto(url + "/datasets")
            wait_for_app(page, "barred spiral images")
            page.get_by_text("Bring your own galaxy set").click()
            page.locator('input[type="file"]').set_input_files(str(archive))
            page.get_by_role("button", name="Import").click()
            page.get_by_text("points outside the archive's folder").first.wait_for(timeout=60_000)
            assert not exceptions_on(page)
    assert not list(tmp_path.rglob("escaped.png")) and not Path("/escaped.png").exists()
    assert sorted(p.name for p in (home / "datasets").glob("*.npz")) == []
