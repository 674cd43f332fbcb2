"""Project paths and environment configuration, read in one place.

Every path derives from the project root; each can be overridden by an
environment variable. Scripts take these as CLI defaults; ``engine`` never
imports this module.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"


def raw_dir() -> Path:
    """Directory holding the two input CSVs (``RAW_DIR``, default ``data/raw``)."""
    return Path(os.environ.get("RAW_DIR", DATA_DIR / "raw"))


def artifacts_dir() -> Path:
    """Directory of the active artifact set (``ARTIFACTS_DIR``, default ``data/artifacts``)."""
    return Path(os.environ.get("ARTIFACTS_DIR", DATA_DIR / "artifacts"))


CATALOGUE_FILE = "Music Info.csv"
LISTENING_FILE = "User Listening History.csv"
