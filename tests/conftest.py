import os
import sys
import tempfile
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
    from autoenc.runs.store import RunStore
    for db in tmp.glob("**/runs/runs.sqlite"):
        try:
            runs = RunStore(db.parent.parent, url="").list(reconcile=False)   # the file, whatever AUTOENC_STORE says
        except Exception:       # a store a test broke on purpose
            continue
        stop_training(runs)


def stop_training(runs) -> None:
    """SIGTERM the training processes of these runs that still train here."""
    import signal

    from autoenc.runs.store import pid_alive
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


@pytest.fixture
def postgres_url(monkeypatch):
    """A PostgreSQL run store of this test's own (a fresh schema of AUTOENC_TEST_POSTGRES's
    database, dropped after it), also set as AUTOENC_STORE for child processes. Skipped where
    no server is given, unless AUTOENC_REQUIRE_POSTGRES=1 (CI: .ci/run starts one)."""
    import uuid
    base = os.environ.get("AUTOENC_TEST_POSTGRES")
    if not base:
        if os.environ.get("AUTOENC_REQUIRE_POSTGRES") == "1":
            pytest.fail("AUTOENC_REQUIRE_POSTGRES=1 but AUTOENC_TEST_POSTGRES names no server")
        pytest.skip("no PostgreSQL server: set AUTOENC_TEST_POSTGRES=postgresql://... (.ci/postgres starts one)")
    import psycopg
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    monkeypatch.setenv("AUTOENC_STORE", url)
    yield url
    stop_training_in(url)
    from autoenc.runs.postgres_db import close_pool
    close_pool(url)
    with psycopg.connect(base, autocommit=True) as db:
        db.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    """Run the test on both run-store backends: the SQLite file, and PostgreSQL (postgres_url)."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_url")
    return request.param


def stop_training_in(url: str) -> None:
    from autoenc.errors import UserError
    from autoenc.runs.store import RunStore
    with tempfile.TemporaryDirectory() as tmp:
        try:
            runs = RunStore(Path(tmp), url).list(reconcile=False)
        except UserError:       # a store a test broke on purpose
            return
    stop_training(runs)
