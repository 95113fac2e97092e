"""Where things live on disk."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Shipped pretrained weights live in the repo, whatever --home says.
PRETRAINED_DIR = REPO_ROOT / "checkpoints"
# Generated data sets (galaxy renders) are cached here, keyed by their parameters.
CACHE_DIR = Path(os.environ.get("AUTOENC_CACHE", REPO_ROOT / "data" / "cache"))


def home(explicit: str | os.PathLike | None = None) -> Path:
    """The home folder: --home, else AUTOENC_HOME, else checkpoints/. Runs go in home/runs."""
    chosen = explicit or os.environ.get("AUTOENC_HOME") or PRETRAINED_DIR
    return Path(chosen).expanduser().resolve()


def runs_dir(home_dir: Path) -> Path:
    return home_dir / "runs"
