"""Progress a person can watch: tqdm bars on a terminal, nothing extra elsewhere.

Every build entry point calls :func:`setup` once; long loops then wrap their
work in :func:`progress`::

    with progress(total=n_blocks, desc="CSV blocks read", unit="block") as bar:
        for block in blocks:
            ...
            bar.update(1)

Bars (with rate and ETA) are drawn on stderr only when stderr is a terminal
and the logs are plain text; otherwise (a container, a CI log, a pipe, or
``LOG_FORMAT=json``) :func:`progress` returns a bar that prints nothing, and
the stage's JSON log lines are the only output, as before. Update per block,
never per row: an update costs about a microsecond when disabled and a few
when drawn (tqdm redraws at most ten times a second).
"""
from __future__ import annotations

import contextlib
import logging
import sys

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from build import settings
from engine.logs import configure_logging

__all__ = ["bars_enabled", "progress", "reporter", "setup"]

_state = {"bars": False}


def setup(stream=None) -> None:
    """Configure the process's logging from the environment and decide whether bars are drawn.

    Text log lines and bars on a terminal; JSON lines and no bars when stdout is
    not a terminal or ``LOG_FORMAT=json`` (see :func:`build.settings.log_json`).
    """
    json = settings.log_json(stream)
    configure_logging(settings.log_level(), json=json, stream=stream)
    _state["bars"] = not json and sys.stderr.isatty()


def bars_enabled() -> bool:
    """Whether :func:`progress` draws bars in this process (set by :func:`setup`)."""
    return _state["bars"]


@contextlib.contextmanager
def progress(total: int | None, desc: str, unit: str = "it", **options):
    """A tqdm bar of ``total`` steps, drawn only when :func:`bars_enabled`.

    Log records emitted while the bar is open are printed above it (not through it).

    Parameters
    ----------
    total : int or None
        Expected number of steps (None: unknown, the bar shows a count and a rate).
    desc : str
        What is counted, e.g. "listeners evaluated".
    unit : str, default="it"
        Name of one step, e.g. "listener".
    **options
        Passed on to :class:`tqdm.tqdm` (``unit_scale=True`` for large counts).

    Yields
    ------
    tqdm.tqdm
        Call ``bar.update(k)`` after ``k`` more steps.
    """
    enabled = bars_enabled()
    options = {"dynamic_ncols": True, "leave": True, "file": sys.stderr, **options}
    bar = tqdm(total=total, desc=desc, unit=unit, disable=not enabled, **options)
    redirect = logging_redirect_tqdm([logging.getLogger()]) if enabled else contextlib.nullcontext()
    try:
        with redirect:
            yield bar
    finally:
        bar.close()


def reporter(bar):
    """An ``on_progress(done, total)`` hook that moves ``bar`` (as engine.evaluation calls it)."""
    def on_progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
    return on_progress
