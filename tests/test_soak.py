"""A short soak of the served dashboard: many concurrent sessions on loopback, no request may fail.

A real gunicorn (two workers, as ``make run`` starts it) serves the session's
demo artifact set; :func:`tests.benchmarks.soak.run_soak` runs twelve
sessions that go through every page doing what people do there (pages, the
Discover search and slider, explanations, the α sweep, a
listener and a playlist, the data page) for :data:`SECONDS` seconds after a
warm-up. The figures -- requests/s, p50/p95, errors and the workers' memory
at the start and at the end -- are logged and attached to the test report;
``make bench`` runs the same soak for minutes.

Asserted: no request fails; every session gets an answer to every kind of
request it makes (each page, each callback, the α sweep through to its
result) and is still answered after the warm-up; and memory grows less than a
leak would. Throughput and latency depend on the machine: they are reported
here and measured by ``make bench``, not tested.
"""
from __future__ import annotations

import json
import logging
import os

import pytest

from tests.benchmarks.soak import run_soak
from tests.dashboard_fixtures import start_server, stop_server

log = logging.getLogger(__name__)
SECONDS = float(os.environ.get("SOAK_SECONDS", "20"))
SESSIONS = 12
#: Growth of a worker's resident memory over the soak that would mean a leak, not noise (MB).
LEAK_MB = 64
PAGES = {"page /", "page /explain", "page /alpha", "page /user", "page /data"}
#: What every session asks on its first round through the pages (tests.benchmarks.soak.Session: the first α
#: visit runs a sweep); the front page and /healthz are asked now and then.
EVERY_ROUND = PAGES | {"discover url", "discover search", "discover alpha", "alpha url", "user url", "user search",
                       "session recs", "alpha sweep"}


@pytest.fixture
def server(dashboard_artifacts, tmp_path):
    server = start_server(dashboard_artifacts, tmp_path / "gunicorn.log")
    try:
        yield server
    finally:
        stop_server(server)


def test_many_sessions_on_every_page_get_every_answer(server, record_property):
    figures = run_soak(server.url, SECONDS, sessions=SESSIONS, master_pid=server.process.pid)
    record_property("soak", json.dumps(figures))
    log.info("soak figures: %s", json.dumps(figures, indent=1))
    assert figures["errors_total"] == 0, figures["error_samples"]
    answered = figures["answered_by_session"]
    unanswered = {session: sorted(EVERY_ROUND - set(kinds)) for session, kinds in answered.items()
                  if EVERY_ROUND - set(kinds)}
    assert len(answered) == SESSIONS and unanswered == {}, f"what each session never got an answer to: {unanswered}"
    assert figures["sessions_answered"] == SESSIONS, "a session got no answer after the warm-up"
    assert {kind for kind in figures["by_kind"] if kind.startswith("page ")} == PAGES
    start, end = figures["memory_start"], figures["memory_end"]
    assert start and end and set(start) == set(end), "a worker was replaced during the soak"
    for pid in start:
        # Anonymous memory: resident artifact pages (mapped files) grow with the queries asked, not with leaks.
        assert end[pid]["anon_mb"] - start[pid]["anon_mb"] < LEAK_MB, (pid, start[pid], end[pid])
