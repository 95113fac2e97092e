"""Reading a run store's file where nothing may be written (a read-only folder or disk): the
file as it lies, its rows still in the -wal file included, with every write refused."""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from autoenc.runs.schema import SCHEMA

READS = (sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_PRAGMA, sqlite3.SQLITE_FUNCTION,
         sqlite3.SQLITE_TRANSACTION)


class ReadOnlyFile:
    """Connections to one store file that read it and refuse writes (the authorizer denies
    them, and the store turns that into its UserError)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.wal = self.path.with_name(self.path.name + "-wal")
        self._copies: tempfile.TemporaryDirectory | None = None
        self._copy: Path | None = None
        self._copy_stamp: tuple | None = None

    def connect(self) -> sqlite3.Connection:
        """Rows still in the -wal (a run writing, or one killed before SQLite folded them in)
        are invisible to an immutable open, so with a -wal the file is opened read-only
        through the writer's -shm, or, without one, from a private copy of both. Without a
        file: an empty store in memory."""
        if self.wal.exists() and self.wal.stat().st_size:
            db = self._connect_with_wal()
        elif self.path.exists():
            db = sqlite3.connect(f"file:{self.path}?immutable=1", uri=True, isolation_level=None)
        else:
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.executescript(SCHEMA)
        db.set_authorizer(lambda action, *_: sqlite3.SQLITE_OK if action in READS else sqlite3.SQLITE_DENY)
        return db

    def _connect_with_wal(self) -> sqlite3.Connection:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30.0, isolation_level=None)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:    # no -shm to share, and none can be made here
            db.close()
        return sqlite3.connect(self._snapshot(), isolation_level=None)

    def _snapshot(self) -> Path:
        """A private copy of the file and its -wal, made again only when either has changed."""
        stamp = tuple((f.stat().st_mtime_ns, f.stat().st_size) for f in (self.path, self.wal))
        if self._copy is None or self._copy_stamp != stamp:
            if self._copies is None:
                self._copies = tempfile.TemporaryDirectory(prefix="autoenc-store-")
            copy = Path(self._copies.name) / f"runs-{time.monotonic_ns()}.sqlite"
            shutil.copyfile(self.path, copy)
            shutil.copyfile(self.wal, copy.with_name(copy.name + "-wal"))
            if self._copy is not None:      # readers that hold it open keep it until they close
                self._copy.unlink(missing_ok=True)
            self._copy, self._copy_stamp = copy, stamp
        return self._copy
