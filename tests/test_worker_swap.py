"""Every gunicorn worker serves one artifact set, and all of them move to a new one together.

A real gunicorn (3 workers) serves a root while a build writes a new set into it.
The master loads and verifies the new set once and forks fresh workers from it
(``gunicorn.conf.py``, ``dashboard.access``), so:

- within the bound (the watcher's 1 s interval plus one load and one worker
  swap; the test allows 15 s on a busy 2-core machine) every worker serves the
  new version, and after that no request sees the old one again;
- the set is verified once, by the master, not once per worker;
- a set that fails to load is refused by the master, every worker keeps serving
  the previous one, ``/healthz`` lists the version of each worker, and the load is
  retried: a good set written later is picked up.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from build.refresh import refresh
from tests.dashboard_fixtures import SMALL_SCALE, http_get, start_server, stop_server

BOUND_SECONDS = 15.0


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    from build import demo_data

    directory = tmp_path_factory.mktemp("swap-raw")
    demo_data.write(demo_data.generate(demo_data.Scale(**SMALL_SCALE), seed=5), directory)
    return directory


def health(server) -> dict:
    status, body, _ = http_get(f"{server.url}/healthz")
    assert status == 200, body
    return json.loads(body)


def wait_until_all_serve(server, version: str, workers: int = 1, timeout: float = BOUND_SECONDS) -> float:
    """Seconds until at least ``workers`` workers are listed by ``/healthz`` and every listed one, and the
    answering one, serve ``version``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        seen = health(server)
        if seen["version"] == version and seen["consistent"] and set(seen["workers"].values()) == {version} \
                and len(seen["workers"]) >= workers:
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"workers still not all on {version} after {timeout} s: {health(server)}")


def test_all_workers_move_to_a_new_set_together_and_never_back(raw, tmp_path):
    out = tmp_path / "artifacts"
    first = refresh(raw, out, force=True).name
    server = start_server(out, tmp_path / "gunicorn.log", workers=3)
    try:
        wait_until_all_serve(server, first, workers=3)
        second = refresh(raw, out, force=True).name
        took = wait_until_all_serve(server, second, workers=3)
        # After the bound: every answer, from whichever worker, is the new set.
        answers = {health(server)["version"] for _ in range(60)}
        assert answers == {second}, answers
        assert took < BOUND_SECONDS
        log = server.log()
        assert log.count(f"loaded artifact set {second}") == 1  # verified and loaded once, by the master
    finally:
        stop_server(server)


def test_a_set_that_fails_to_load_keeps_the_old_one_everywhere_and_is_retried(raw, tmp_path):
    out = tmp_path / "artifacts"
    first = refresh(raw, out, force=True).name
    server = start_server(out, tmp_path / "gunicorn.log", workers=2)
    try:
        wait_until_all_serve(server, first)
        broken = refresh(raw, out, force=True)
        array = broken / "collab_left.data.npy"
        os.chmod(broken, 0o755)
        data = np.load(array)
        data[0] += 1.0  # an altered file: its checksum no longer matches
        np.save(array, data)
        server.wait_for_log(f"cannot load the new artifact set {broken}", timeout=BOUND_SECONDS)
        for _ in range(20):
            seen = health(server)
            assert seen["version"] == first and set(seen["workers"].values()) == {first}
        fixed = refresh(raw, out, force=True).name  # the next build: picked up
        wait_until_all_serve(server, fixed)
    finally:
        stop_server(server)
