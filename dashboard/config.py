"""Dashboard configuration, read from the environment in this one place.

=================  ==========================  ==============================================
variable           default                     meaning
=================  ==========================  ==============================================
``ARTIFACTS_DIR``  ``data/artifacts``          artifact root (with ``current``) or one set
``DASH_CACHE_DIR`` ``.cache/dash``             diskcache of background callbacks, shared by
                                               every gunicorn worker
``LOG_LEVEL``      ``INFO``                    level of the dashboard's loggers
``LOG_FORMAT``     ``json``                    ``json`` (one object per line) or ``text``
=================  ==========================  ==============================================

Relative paths are taken from the project root, so the app serves the same
data whatever directory gunicorn was started from.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _path(variable: str, default: str) -> Path:
    path = Path(os.environ.get(variable) or default)
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class Settings:
    artifacts_dir: Path
    cache_dir: Path
    log_level: str
    log_json: bool = True


def settings() -> Settings:
    """The current configuration (read on each call; the app reads it once at start-up)."""
    return Settings(artifacts_dir=_path("ARTIFACTS_DIR", "data/artifacts"),
                    cache_dir=_path("DASH_CACHE_DIR", ".cache/dash"),
                    log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                    log_json=os.environ.get("LOG_FORMAT", "json").strip().lower() != "text")


def cache_dir_problem(path: Path) -> str | None:
    """Why the background-callback cache directory cannot be used, or None when it can."""
    if not path.exists():
        return f"the background job cache directory {str(path)!r} is missing"
    if not path.is_dir():
        return f"the background job cache path {str(path)!r} is not a directory"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"the background job cache directory {str(path)!r} is not writable"
    return None
