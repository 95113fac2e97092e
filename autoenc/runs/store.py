"""The run store, that training processes write and pages read: a SQLite file (sqlite_db.py)
or a PostgreSQL database several machines share (postgres_db.py), the same SQL on both.

Tables (schema.py): runs (one row per run), metrics (long table: run, step, name, value),
samples (small array snapshots for pages to show live), settings (key/value, e.g.
max_concurrent).
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from autoenc.errors import UserError
from autoenc.runs.blobs import array_to_blob, blob_to_array
from autoenc.runs.history import HISTORY_BUDGET, to_drop
from autoenc.runs.run import Run
from autoenc.runs.sqlite_db import SQLiteDatabase

# A run whose heartbeat is older than this while its process looks alive is treated as
# dead too (the pid may have been reused after a reboot).
HEARTBEAT_TIMEOUT_S = 120.0



def pid_alive(pid: int | None) -> bool:
    """True if a process with this pid exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def new_run_id(model: str) -> str:
    return f"{model}-{time.strftime('%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


def this_host() -> str:
    """The machine this process runs on, as runs record it (AUTOENC_HOST names it otherwise:
    tests play two machines on one)."""
    return os.environ.get("AUTOENC_HOST") or socket.gethostname()


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.split("://", 1)[0] in ("postgresql", "postgres")


def store_url(explicit: str | None = None) -> str | None:
    """Where the run store is: --store, else AUTOENC_STORE, else None (the SQLite file in
    home/runs); an explicit "" is that file whatever AUTOENC_STORE says."""
    return (explicit if explicit is not None else os.environ.get("AUTOENC_STORE")) or None


def unwritable(folder: Path) -> str | None:
    """Why nothing can be written in folder (a read-only folder or disk), or None."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        return (f"the run store folder {folder} cannot be written "
                f"({os.strerror(e.errno) if e.errno else e}), so training is off here; "
                "the shipped models still work. Point AUTOENC_HOME at a writable folder to train.")
    return None


class RunStore:
    """The runs' rows in SQLite (home/runs/runs.sqlite) or PostgreSQL (url: AUTOENC_STORE);
    their checkpoints and logs as files under home/runs/<id> either way."""

    def __init__(self, home: Path, url: str | None = None):
        self.home = Path(home)
        self.dir = self.home / "runs"
        # Why nothing can be written here (a read-only folder or disk), or None. Such a store
        # still lists the runs it holds, so the pages show them and the shipped models.
        self.read_only = unwritable(self.dir)
        url = store_url(url)
        if is_postgres_url(url):
            from autoenc.runs.postgres_db import PostgresDatabase  # psycopg: only for such a store
            self.db = PostgresDatabase(url, self.read_only)
        elif url:
            given = url.split("://", 1)[0] + "://..." if "://" in url else "a path"   # no password shown
            raise UserError(f"AUTOENC_STORE / --store takes a postgresql://user:password@host/database URL, "
                            f"not {given} (leave it unset for the SQLite file in {self.dir})")
        else:
            self.db = SQLiteDatabase(self.dir, self.read_only)
        self.path = self.db.path            # the SQLite file, or None
        self.location = self.db.location    # what messages name: the file, or the URL without its password
        self.errors = self.db.errors        # what a failing store raises
        self.connect = self.db.connect
        self.transaction = self.db.transaction

    def run_dir(self, run_id: str) -> Path:
        return self.dir / run_id

    def checkpoint_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "last.safetensors"

    def best_checkpoint_path(self, run_id: str) -> Path:
        """Weights at the run's best validation so far (tasks with a `best_metric`)."""
        return self.run_dir(run_id) / "best.safetensors"

    # -- runs ----------------------------------------------------------------------
    def create_run(self, model: str, config: dict, run_id: str | None = None,
                   total_steps: int | None = None) -> str:
        chosen = run_id
        with self.transaction() as db:
            run_id = chosen or new_run_id(model)
            while db.execute("SELECT 1 FROM runs WHERE id=?", (run_id,)).fetchone():
                if chosen:
                    raise UserError(f"a run with id {run_id!r} already exists")
                run_id = new_run_id(model)      # two runs made in the same second drew the same suffix
            db.execute(
                "INSERT INTO runs (id, model, config, status, created, queued_at, total_steps) VALUES (?,?,?,?,?,?,?)",
                (run_id, model, json.dumps(config), "queued", time.time(), time.time(), total_steps),
            )
        return run_id

    def get(self, run_id: str) -> Run:
        with self.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise UserError(f"unknown run id {run_id!r} (see: python -m autoenc runs list)")
        return self._run(row)

    def list(self, model: str | None = None, reconcile: bool = True) -> list[Run]:
        if reconcile:
            self.reconcile()
        q, args = "SELECT * FROM runs", ()
        if model:
            q, args = q + " WHERE model=?", (model,)
        with self.connect() as db:
            rows = db.execute(q + " ORDER BY created DESC", args).fetchall()
        return [self._run(r) for r in rows]

    def update(self, run_id: str, **fields: Any) -> None:
        if "config" in fields:
            fields["config"] = json.dumps(fields["config"])
        cols = ", ".join(f"{k}=?" for k in fields)
        with self.connect() as db:
            db.execute(f"UPDATE runs SET {cols} WHERE id=?", (*fields.values(), run_id))

    def request_stop(self, run_id: str) -> Run:
        run = self.get(run_id)
        if run.status == "queued" and not self.process_alive(run.host, run.pid, run.heartbeat):
            self.update(run_id, status="stopped", ended=time.time(), end_reason="queue")
        elif run.active:
            self.update(run_id, stop_requested=1)
        return self.get(run_id)

    def delete(self, run_id: str) -> None:
        self.get(run_id)
        with self.transaction() as db:
            for table, col in (("metrics", "run_id"), ("samples", "run_id"), ("runs", "id")):
                db.execute(f"DELETE FROM {table} WHERE {col}=?", (run_id,))

    def reconcile(self) -> list[str]:
        """Mark runs whose process died without saying so as interrupted; returns their ids."""
        if self.read_only:
            return []
        now = time.time()
        dead = []
        with self.connect() as db:
            rows = db.execute("SELECT id, host, pid, heartbeat, status FROM runs "
                              "WHERE status IN ('queued','running')").fetchall()
        for r in rows:
            if r["pid"] is None and r["status"] == "queued":
                continue  # created, process not started yet
            if not self.process_alive(r["host"], r["pid"], r["heartbeat"], now):
                dead.append(r["id"])
        for run_id in dead:
            with self.connect() as db:
                db.execute(
                    "UPDATE runs SET status='interrupted', ended=?, end_reason='killed', error=COALESCE(error, ?) "
                    "WHERE id=? AND status IN ('queued','running')",
                    (now, "the training process ended without saying so (killed or crashed)", run_id),
                )
        return dead

    @staticmethod
    def on_this_host(host: str | None) -> bool:
        """A run of this machine (or of a store older than the host column): its pid means
        a process here, that can be looked up and signalled."""
        return host is None or host == this_host()

    def process_alive(self, host: str | None, pid: int | None, heartbeat: float | None,
                      now: float | None = None) -> bool:
        """Is the process of a run alive? On this machine: its pid exists and its heartbeat is
        fresh; on another machine sharing the store, its heartbeat alone tells."""
        fresh = heartbeat is not None and (now or time.time()) - heartbeat <= HEARTBEAT_TIMEOUT_S
        if not self.on_this_host(host):
            return fresh
        return pid_alive(pid) and (heartbeat is None or fresh)

    # -- the queue -----------------------------------------------------------------
    def max_concurrent(self) -> int:
        with self.connect() as db:
            return self._max_concurrent_in(db)

    def try_claim_slot(self, run_id: str, pid: int) -> bool:
        """Move run_id from queued to running if a slot is free and it is first in line."""
        self.reconcile()
        with self.transaction() as db:
            running = db.execute("SELECT COUNT(*) FROM runs WHERE status='running'").fetchone()[0]
            first = db.execute(
                "SELECT id FROM runs WHERE status='queued' AND pid IS NOT NULL ORDER BY queued_at, created LIMIT 1"
            ).fetchone()
            limit = self._max_concurrent_in(db)
            if running < limit and first is not None and first["id"] == run_id:
                db.execute(
                    "UPDATE runs SET status='running', pid=?, host=?, heartbeat=?, started=? WHERE id=?",   # its time limit counts from here
                    (pid, this_host(), time.time(), time.time(), run_id),
                )
                return True
        return False

    def _max_concurrent_in(self, db) -> int:
        row = db.execute("SELECT value FROM settings WHERE key='max_concurrent'").fetchone()
        v = row["value"] if row else os.environ.get("AUTOENC_MAX_CONCURRENT", "1")
        try:
            return max(1, int(v))
        except ValueError:
            return 1

    def get_setting(self, key: str) -> str | None:
        with self.connect() as db:
            row = db.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return row["value"] if row else None

    def set_setting(self, key: str, value: Any) -> None:
        with self.connect() as db:
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value=excluded.value", (key, str(value)))

    # -- metrics and samples -------------------------------------------------------
    def log_metrics(self, run_id: str, rows: Iterable[tuple[int, str, float]], step: int | None = None,
                    critic_steps: int | None = None) -> None:
        """rows: (step, name, value). Also bumps the run's step (and a GAN's critic_steps) and heartbeat."""
        now = time.time()
        rows = list(rows)
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO metrics (run_id, step, name, value, time) VALUES (?,?,?,?,?)",
                [(run_id, s, n, float(v), now) for s, n, v in rows],
            )
            if step is not None:
                db.execute("UPDATE runs SET step=?, heartbeat=?, critic_steps=COALESCE(?, critic_steps) WHERE id=?",
                           (step, now, critic_steps, run_id))

    def heartbeat(self, run_id: str, step: int | None = None) -> bool:
        """Returns True if a stop was requested (or the run was deleted)."""
        with self.connect() as db:
            if step is None:
                db.execute("UPDATE runs SET heartbeat=? WHERE id=?", (time.time(), run_id))
            else:
                db.execute("UPDATE runs SET heartbeat=?, step=? WHERE id=?", (time.time(), step, run_id))
            row = db.execute("SELECT stop_requested FROM runs WHERE id=?", (run_id,)).fetchone()
        return row is None or bool(row["stop_requested"])      # a deleted run stops too, on any machine

    def metrics_since(self, run_id: str, after_seq: int = 0) -> tuple[list[tuple[int, str, float]], int]:
        """Rows newer than after_seq, and the new high-water mark. Charts read only what is new."""
        with self.connect() as db:
            rows = db.execute(
                "SELECT seq, step, name, value FROM metrics WHERE run_id=? AND seq>? ORDER BY seq",
                (run_id, after_seq),
            ).fetchall()
        last = rows[-1]["seq"] if rows else after_seq
        return [(r["step"], r["name"], r["value"]) for r in rows], last

    def series(self, run_id: str, names, after_seq: int = 0,
               into: dict[str, tuple[list, list]] | None = None) -> tuple[dict[str, tuple[list, list]], int]:
        """The rows of the given metric names newer than after_seq, appended to `into` as
        name -> (steps, values), and the new high-water mark (a live chart's next after_seq)."""
        rows, seq = self.metrics_since(run_id, after_seq)
        out = {} if into is None else into
        wanted = set(names)
        for step, name, value in rows:
            if name in wanted and value is not None:
                xs, ys = out.setdefault(name, ([], []))
                xs.append(step)
                ys.append(value)
        return out, seq

    def step_rate(self, run_id: str, window_s: float | None = 60.0) -> float | None:
        """Steps per second over the last window_s seconds of logged metrics, or over all of
        them (None); None where there are too few."""
        with self.connect() as db:
            last = db.execute("SELECT MAX(time) FROM metrics WHERE run_id=?", (run_id,)).fetchone()[0]
            if last is None:
                return None
            if window_s is None:
                window_s = float("inf")
            row = db.execute("SELECT MIN(step), MAX(step), MIN(time), MAX(time) FROM metrics "
                             "WHERE run_id=? AND time>=?", (run_id, last - min(window_s, 1e12))).fetchone()
        steps, seconds = row[1] - row[0], row[3] - row[2]
        return steps / seconds if steps > 0 and seconds > 0 else None

    def metric_series(self, run_id: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        rows, _ = self.metrics_since(run_id)
        pts = [(s, v) for s, n, v in rows if n == name]
        if not pts:
            return np.zeros(0, int), np.zeros(0)
        steps, values = zip(*pts)
        return np.asarray(steps), np.asarray(values, dtype=float)

    def truncate_metrics(self, run_id: str, after_step: int) -> None:
        """Forget rows written after the checkpoint a run resumes from, so curves stay one line."""
        with self.connect() as db:
            db.execute("DELETE FROM metrics WHERE run_id=? AND step>?", (run_id, after_step))
            db.execute("DELETE FROM samples WHERE run_id=? AND step>?", (run_id, after_step))

    def put_sample(self, run_id: str, step: int, name: str, array: np.ndarray, keep: int | None = None) -> None:
        """Store a sample; at most `keep` (default HISTORY_BUDGET) of this run and name stay,
        thinned evenly over the run (runs/history.py)."""
        blob = array_to_blob(array)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO samples (run_id, step, name, data, time) VALUES (?,?,?,?,?)",
                (run_id, step, name, blob, time.time()),
            )
            rows = db.execute("SELECT seq, step FROM samples WHERE run_id=? AND name=? ORDER BY seq",
                              (run_id, name)).fetchall()
            drop = to_drop([r["step"] for r in rows], keep or HISTORY_BUDGET)
            db.executemany("DELETE FROM samples WHERE seq=?", [(rows[i]["seq"],) for i in drop])

    def sample_history(self, run_id: str, name: str) -> list[tuple[int, np.ndarray]]:
        """Every kept sample of this run and name, oldest first, as (step, array)."""
        with self.connect() as db:
            rows = db.execute("SELECT step, data FROM samples WHERE run_id=? AND name=? ORDER BY seq",
                              (run_id, name)).fetchall()
        return [(r["step"], blob_to_array(r["data"])) for r in rows]

    def sample_names(self, run_id: str) -> list[str]:
        with self.connect() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT name FROM samples WHERE run_id=? ORDER BY name", (run_id,))]

    def metric_rows(self, run_id: str) -> list[tuple[int, str, float, float]]:
        """Every metric row of the run as (step, name, value, time), in the order written."""
        with self.connect() as db:
            return [tuple(r) for r in db.execute("SELECT step, name, value, time FROM metrics WHERE run_id=? "
                                                 "ORDER BY seq", (run_id,))]

    def add_history(self, run_id: str, metrics: Iterable[tuple[int, str, float, float]],
                    samples: Iterable[tuple[int, str, np.ndarray]]) -> None:
        """A run's curves (with their times) and kept samples as they were elsewhere (a bundle)."""
        with self.transaction() as db:
            db.executemany("INSERT INTO metrics (run_id, step, name, value, time) VALUES (?,?,?,?,?)",
                           [(run_id, int(s), n, None if v is None else float(v), float(t))
                            for s, n, v, t in metrics])
            db.executemany("INSERT INTO samples (run_id, step, name, data, time) VALUES (?,?,?,?,?)",
                           [(run_id, int(s), n, array_to_blob(a), time.time()) for s, n, a in samples])

    def latest_sample(self, run_id: str, name: str) -> tuple[int, np.ndarray] | None:
        with self.connect() as db:
            row = db.execute(
                "SELECT step, data FROM samples WHERE run_id=? AND name=? ORDER BY seq DESC LIMIT 1",
                (run_id, name),
            ).fetchone()
        if row is None:
            return None
        return row["step"], blob_to_array(row["data"])

    @staticmethod
    def _run(row) -> Run:
        d = dict(row)
        d["config"] = json.loads(d["config"])
        d["stop_requested"] = bool(d["stop_requested"])
        d["paused"] = bool(d["paused"])
        return Run(**d)
