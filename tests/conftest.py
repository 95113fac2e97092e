import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private run-store home for one test (also for child processes it starts)."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("AUTOENC_HOME", str(h))
    return h


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """An empty folder in place of the shipped checkpoints (also for child processes):
    pages and commands see a fresh checkout without them; tests put files of their own there."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    monkeypatch.setenv("AUTOENC_SHIPPED", str(folder))
    return folder


def run_cli(*args, home=None, timeout=120, env=None):
    """Run `python -m autoenc ...` as a user would; returns CompletedProcess."""
    import subprocess
    e = dict(os.environ)
    if home is not None:
        e["AUTOENC_HOME"] = str(home)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "autoenc", *map(str, args)], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(autouse=True)
def no_training_left_behind(request):
    """After a test, end the training processes it left in its stores (a paused run never
    reaches its time limit): they would slow every later test down."""
    yield
    tmp = request.node.funcargs.get("tmp_path")
    if tmp is None:
        return
    import signal

    from autoenc.runs.store import RunStore, pid_alive
    for db in tmp.glob("**/runs/runs.sqlite"):
        try:
            runs = RunStore(db.parent.parent).list(reconcile=False)
        except Exception:       # a store a test broke on purpose
            continue
        for run in runs:
            if run.active and run.pid != os.getpid() and pid_alive(run.pid) and is_training(run.pid):
                try:
                    os.kill(run.pid, signal.SIGTERM)
                except OSError:
                    pass


def is_training(pid: int) -> bool:
    """A `python -m autoenc train` process (runs trained inside the test process record its pid)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"autoenc" in args and b"train" in args
