"""The run store in one SQLite file (WAL mode), the default: one machine, nothing to set up.

Every connection is short-lived; WAL lets pages read while a run writes. Where the folder
cannot be written, the file is read as it lies and every write is refused (read_only.py).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from autoenc.errors import UserError
from autoenc.runs.read_only import ReadOnlyFile
from autoenc.runs.schema import check_version, create_or_upgrade


class SQLiteDatabase:
    errors = (sqlite3.Error,)

    def __init__(self, folder: Path, read_only: str | None):
        self.path = Path(folder) / "runs.sqlite"
        self.location = str(self.path)
        self.read_only = read_only
        self._read_only_file = ReadOnlyFile(self.path)
        if read_only and not self.path.exists():
            return
        try:
            with self.connect() as db:
                if not read_only:       # the file keeps its journal mode: set once, not per connection
                    db.execute("PRAGMA journal_mode=WAL")
                (check_version if read_only else create_or_upgrade)(db, self.location)
        except sqlite3.DatabaseError as e:
            raise UserError(f"the run store {self.path} is not a readable SQLite database ({e})"
                            + ("" if read_only else "; move it aside to start a new one")) from None

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            db = self._read_only_file.connect()
        else:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")
        try:
            db.row_factory = sqlite3.Row
            yield db
        except sqlite3.DatabaseError:
            if self.read_only:          # the authorizer refused a write
                raise UserError(self.read_only) from None
            raise
        finally:
            db.close()

    def healthy(self) -> bool:
        """SQLite's own check of the file finds nothing wrong."""
        with self.connect() as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: one writer at a time, so claims on queue slots are atomic."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
