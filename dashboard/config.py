"""Dashboard configuration, read from the environment in this one place.

=================  ==========================  ==============================================
variable           default                     meaning
=================  ==========================  ==============================================
``ARTIFACTS_DIR``  ``data/artifacts``          artifact root (with ``current``) or one set
``LOG_LEVEL``      ``INFO``                    level of the dashboard's loggers
``LOG_FORMAT``     ``json``                    ``json`` lines, or ``text`` (plain lines)
``PROMETHEUS_``    unset                       gunicorn's shared directory of metric files
``MULTIPROC_DIR``                              (set by ``gunicorn.conf.py``): /metrics sums
                                               every worker's
``GIT_SHA``        ``unknown``                 the build's commit, in ``build_info``
``DASHBOARD_``     unset                       where gunicorn's workers record the artifact
``STATE_DIR``                                  version each serves (set by ``gunicorn.conf.py``)
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
    log_level: str
    log_json: bool
    metrics_multiprocess: bool
    git_sha: str
    state_dir: Path | None


def settings() -> Settings:
    """The current configuration (read on each call; the app reads it once at start-up)."""
    return Settings(artifacts_dir=_path("ARTIFACTS_DIR", "data/artifacts"),
                    log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                    log_json=os.environ.get("LOG_FORMAT", "json").strip().lower() != "text",
                    metrics_multiprocess=bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")),
                    git_sha=os.environ.get("GIT_SHA", "unknown"),
                    state_dir=Path(os.environ["DASHBOARD_STATE_DIR"]) if os.environ.get("DASHBOARD_STATE_DIR")
                    else None)

