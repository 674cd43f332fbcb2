"""Structured (JSON) logging for the build and the dashboard.

The engine itself only emits records through :mod:`logging`; processes (the
build scripts, gunicorn workers) call :func:`configure_logging` once at start.
"""
from __future__ import annotations

import logging
import os
import sys

from pythonjsonlogger.json import JsonFormatter

__all__ = ["configure_logging"]

_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"


def configure_logging(level: str | int | None = None, json: bool | None = None, stream=None) -> None:
    """Send log records to stdout, one JSON object per line (or plain text).

    Parameters
    ----------
    level : str or int, optional
        Root level; default ``LOG_LEVEL`` from the environment, else INFO.
    json : bool, optional
        JSON lines (default) unless ``LOG_FORMAT=text``.
    stream : file, optional
        Defaults to ``sys.stdout``.

    Extra fields passed as ``log.info("...", extra={...})`` become JSON keys.
    Calling it again replaces the handler it installed (never duplicates).
    """
    level = level or os.environ.get("LOG_LEVEL", "INFO")
    json = os.environ.get("LOG_FORMAT", "json").lower() != "text" if json is None else json
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.set_name("project-structured")
    if json:
        handler.setFormatter(JsonFormatter(_FIELDS, rename_fields={"levelname": "level", "asctime": "time",
                                                                  "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "project-structured":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
