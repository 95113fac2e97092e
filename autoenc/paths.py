"""Where things live on disk: the run-store home, the shipped checkpoints, the render cache."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The shipped pretrained weights, in the repo whatever --home says. AUTOENC_SHIPPED points
# elsewhere (tests use it for a folder without them, or with files of their own).
SHIPPED_DIR = REPO_ROOT / "checkpoints"
# Generated data sets (galaxy renders) are cached here, keyed by their parameters.
CACHE_DIR = Path(os.environ.get("AUTOENC_CACHE", REPO_ROOT / "data" / "cache"))


def home(explicit: str | os.PathLike | None = None) -> Path:
    """The home folder: --home, else AUTOENC_HOME, else checkpoints/. Runs go in home/runs."""
    chosen = explicit or os.environ.get("AUTOENC_HOME") or SHIPPED_DIR
    return Path(chosen).expanduser().resolve()


def runs_dir(home_dir: Path) -> Path:
    return home_dir / "runs"


def shipped_dir() -> Path:
    """The folder of the shipped checkpoints: AUTOENC_SHIPPED, else checkpoints/ in the repo."""
    return Path(os.environ.get("AUTOENC_SHIPPED") or SHIPPED_DIR)


def shipped_path(file: str) -> Path:
    """The one way to locate a shipped checkpoint (it may not exist yet)."""
    return shipped_dir() / file
