"""Issue 21, item 4: the ecosystem's conventions: pyproject.toml metadata equal to
requirements.txt, an `autoenc` console script equal to `python -m autoenc`, ruff clean."""
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def requirement_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith(("#", "-"))]


def test_pyproject_declares_what_requirements_txt_installs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "autoenc" and project["requires-python"] == ">=3.11"
    assert project["dependencies"] == requirement_lines(ROOT / "requirements.txt")
    assert project["scripts"]["autoenc"] == "autoenc.__main__:main"
    assert not (ROOT / "pytest.ini").exists(), "pytest is configured in pyproject.toml, once"


def test_the_console_script_is_python_minus_m_autoenc():
    script = Path(sys.executable).parent / "autoenc"
    if not script.exists():
        pytest.fail(f"{script} is missing: the README's test command installs the project (-e . in "
                    "requirements-test.txt)")
    for args in (["--help"], ["runs", "list", "--help"], ["train", "nosuchmodel"]):
        a = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)
        b = subprocess.run([sys.executable, "-m", "autoenc", *args], capture_output=True, text=True, timeout=120,
                           cwd=ROOT)
        assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), args


def test_ruff_finds_nothing():
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "."], capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-1000:]
