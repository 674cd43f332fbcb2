"""Specification of the build's terminal output (build.progress, build.settings.log_json).

On a terminal a person sees readable log lines and progress bars; anywhere else
(a pipe, a container, ``LOG_FORMAT=json``) one JSON object per log line and no bar.
"""
from __future__ import annotations

import io
import json
import logging

import pytest

from build import progress, settings


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    progress._state["bars"] = False


@pytest.mark.parametrize(("variable", "stream", "expected"), [
    (None, Terminal(), False), (None, io.StringIO(), True),
    ("json", Terminal(), True), ("text", io.StringIO(), False), ("TEXT", Terminal(), False),
])
def test_logs_are_json_unless_a_terminal_or_text_is_asked_for(monkeypatch, variable, stream, expected):
    if variable is None:
        monkeypatch.delenv("LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("LOG_FORMAT", variable)
    assert settings.log_json(stream) is expected


def test_a_pipe_gets_json_lines_and_no_bar(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    out = io.StringIO()
    progress.setup(out)
    logging.getLogger("build.test").info("stage %s done", "ingest")
    assert json.loads(out.getvalue())["message"] == "stage ingest done"
    assert not progress.bars_enabled()
    with progress.progress(total=3, desc="blocks", unit="block") as bar:
        bar.update(3)
        assert bar.disable


def test_a_terminal_gets_readable_lines(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    out = Terminal()
    progress.setup(out)
    logging.getLogger("build.test").warning("evaluation skipped")
    line = out.getvalue().strip()
    assert line.endswith("WARNING build.test: evaluation skipped")
    assert not line.startswith("{")


def test_a_drawn_bar_shows_the_count_rate_and_eta(monkeypatch):
    monkeypatch.setitem(progress._state, "bars", True)
    screen = io.StringIO()
    with progress.progress(total=4, desc="listeners evaluated", unit="listener", file=screen,
                           mininterval=0) as bar:
        report = progress.reporter(bar)
        report(1, 4)
        report(4, 4)
    drawn = screen.getvalue()
    assert "listeners evaluated" in drawn and "4/4" in drawn and "listener/s" in drawn
    assert "<" in drawn  # elapsed<remaining: the ETA


def test_the_reporter_follows_a_growing_total(monkeypatch):
    monkeypatch.setitem(progress._state, "bars", True)
    with progress.progress(total=None, desc="listeners", file=io.StringIO()) as bar:
        report = progress.reporter(bar)
        report(5, 10)
        report(12, 20)
        assert (bar.n, bar.total) == (12, 20)


@pytest.mark.parametrize(("variable", "expected"), [(None, True), ("json", True), ("text", False), ("Text", False)])
def test_the_dashboard_reads_the_log_format_at_its_entry_point(monkeypatch, variable, expected):
    from dashboard import config

    if variable is None:
        monkeypatch.delenv("LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("LOG_FORMAT", variable)
    assert config.settings().log_json is expected  # gunicorn's stdout is no terminal: JSON unless asked
