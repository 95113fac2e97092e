"""The run store's tables, their version, and how a store of an older version is upgraded.

PRAGMA user_version of the file says its version. A file of an older version is upgraded in
place; a newer one is refused, not misread.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from autoenc.errors import UserError

# 2 added runs.max_seconds and runs.end_reason (a file of version 1 has neither set); 3 the
# step mode of the GAN runs (paused, pending_critic, pending_generator, critic_steps, speed_limit);
# 4 runs.host, the machine a run trains on (a store several machines share).
SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    pid INTEGER,
    heartbeat REAL,
    created REAL NOT NULL,
    queued_at REAL,
    started REAL,
    ended REAL,
    step INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER,
    checkpoint_step INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    note TEXT,
    max_seconds REAL,
    end_reason TEXT,
    paused INTEGER NOT NULL DEFAULT 0,
    pending_critic INTEGER NOT NULL DEFAULT 0,
    pending_generator INTEGER NOT NULL DEFAULT 0,
    critic_steps INTEGER NOT NULL DEFAULT 0,
    speed_limit REAL,
    host TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_run_seq ON metrics(run_id, seq);
CREATE TABLE IF NOT EXISTS samples (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_run_name ON samples(run_id, name, seq);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Columns added since version 1, with their types.
ADDED_COLUMNS = (("max_seconds", "REAL"), ("end_reason", "TEXT"),
                 ("paused", "INTEGER NOT NULL DEFAULT 0"), ("pending_critic", "INTEGER NOT NULL DEFAULT 0"),
                 ("pending_generator", "INTEGER NOT NULL DEFAULT 0"), ("critic_steps", "INTEGER NOT NULL DEFAULT 0"),
                 ("speed_limit", "REAL"), ("host", "TEXT"))


def check_version(db: sqlite3.Connection, path: Path | str) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UserError(f"the run store {path} was written by a newer autoenc (schema version "
                        f"{version}, this one reads up to {SCHEMA_VERSION}); update autoenc, or "
                        "point --home / AUTOENC_HOME at another folder")


def create_or_upgrade(db: sqlite3.Connection, path: Path | str) -> None:
    check_version(db, path)
    db.executescript(SCHEMA)
    columns = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
    for column, kind in ADDED_COLUMNS:
        if column not in columns:
            db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
