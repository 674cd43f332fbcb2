"""Structured (JSON) or plain-text logging for the build and the dashboard.

The engine itself only emits records through :mod:`logging`; processes (the
build scripts, gunicorn workers) call :func:`configure_logging` once at start,
with the level and format their entry point read from the environment
(``build/settings.py``, ``dashboard/config.py``): the engine holds no configuration.
"""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

__all__ = ["configure_logging"]

_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"
_TEXT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(level: str | int = "INFO", json: bool = True, stream=None) -> None:
    """Send log records to ``stream``, one JSON object per line (or one readable text line).

    Parameters
    ----------
    level : str or int, default="INFO"
        Root level.
    json : bool, default=True
        JSON lines (what containers and log shippers want); False gives plain
        text lines for a person at a terminal.
    stream : file, optional
        Defaults to ``sys.stdout``.

    Extra fields passed as ``log.info("...", extra={...})`` become JSON keys.
    Calling it again replaces the handler it installed (never duplicates).
    """
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.set_name("project-structured")
    if json:
        handler.setFormatter(JsonFormatter(_FIELDS, rename_fields={"levelname": "level", "asctime": "time",
                                                                  "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(_TEXT, datefmt="%H:%M:%S"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "project-structured":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
