"""Faults: killed builds, and refreshes and killed workers under load.

* A build killed with SIGKILL at any stage -- on entering the dask ingest and
  the last stage before the write, half-way through writing the arrays, before
  the set is renamed into place, between the rename and the ``current``
  switch, between making the new link and swapping it in, while pruning an old
  set, and at seeded random moments of a demo-scale build -- leaves
  ``current`` on a complete set (the previous one, byte-identical, unless the
  switch already happened), never a partial set in sight, and the next build
  succeeds and cleans up.
* A refresh while the dashboard is under load: a running gunicorn picks up
  each new set (``/healthz`` reports it) without a restart, and no request
  fails, even when a set that a worker may still serve is pruned.
* A gunicorn worker killed under load: the master replaces it; only requests
  in flight on the killed worker may fail, and the test says how many did.

Every process started here is stopped in a ``finally``; every wait is bounded.
"""
from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from build.refresh import refresh
from engine.artifacts import LOCK_FILE
from engine import Recommender
from engine.errors import ArtifactError
from tests.benchmarks.soak import Soak
from tests.dashboard_fixtures import http_get, start_server, stop_server
from tests.helpers import snapshot, version_dirs, write_small_raw

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------
# Killed builds
# --------------------------------------------------------------------------

#: Run ``build.refresh`` with a SIGKILL planted at one point (``argv[1]``); the rest of argv is the CLI's.
KILLER = textwrap.dedent('''
    import os, signal, sys
    from pathlib import Path
    import numpy as np
    import build.refresh as refresh
    import engine.artifacts as artifacts

    point, argv = sys.argv[1], sys.argv[2:]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if point.startswith("stage:"):
        name, real_stage = point[len("stage:"):], refresh.StageTimer.stage
        def stage(self, stage_name):
            if stage_name == name:
                die()
            return real_stage(self, stage_name)
        refresh.StageTimer.stage = stage
    elif point == "half the arrays written":
        real_save, saved = np.save, []
        def save(*args, **kwargs):
            saved.append(args[0])
            if len(saved) == int(os.environ["ARRAYS_BEFORE_THE_KILL"]):
                die()
            return real_save(*args, **kwargs)
        np.save = save
    elif point == "set complete, not renamed":
        real_fsync = artifacts._fsync_tree
        def fsync_then_die(directory):
            real_fsync(directory)
            die()
        artifacts._fsync_tree = fsync_then_die
    elif point == "renamed, current not switched":
        artifacts._point_current = lambda root, version: die()
    elif point == "new link made, not swapped":
        real_replace = os.replace
        def replace(src, dst):
            if Path(dst).name == "current":
                die()
            return real_replace(src, dst)
        os.replace = replace
    elif point == "pruning an old set":
        def rmtree(path, *args, **kwargs):  # what a real rmtree killed half-way leaves
            files = sorted(Path(path).iterdir(), key=lambda p: p.name != "manifest.json")
            for file in files[: len(files) // 2]:
                file.unlink()
            die()
        artifacts.shutil.rmtree = rmtree
    sys.exit(refresh.main(argv))
''')

#: Stages to kill on entry: the distributed one and the last before the write. No stage before ``write``
#: touches the artifact root, so the others behave the same (the random kills below land anywhere).
STAGES = ["ingest_listening", "statistics"]
#: How many ``np.save`` calls the "half the arrays written" kill lets through.
ARRAYS_BEFORE_THE_KILL = 8
WRITE_POINTS = ["half the arrays written", "set complete, not renamed", "renamed, current not switched",
                "new link made, not swapped", "pruning an old set"]


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory) -> tuple[Path, Path]:
    """``(raw, root)``: the small catalogue and a root holding two sets, the newer one current."""
    base = tmp_path_factory.mktemp("killed")
    raw = write_small_raw(base / "raw")
    root = base / "artifacts"
    refresh(raw, root)
    refresh(raw, root, force=True)
    assert len(version_dirs(root)) == 2
    return raw, root


def run_build(raw: Path, root: Path, point: str | None = None, timeout: float = 120) -> subprocess.Popen:
    """Start ``python -m build.refresh --force`` (with a planted SIGKILL at ``point``) in a process group."""
    command = [sys.executable, "-c", KILLER, point, "--raw", str(raw), "--out", str(root), "--force"] if point \
        else [sys.executable, "-m", "build.refresh", "--raw", str(raw), "--out", str(root), "--force"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "ARRAYS_BEFORE_THE_KILL": str(ARRAYS_BEFORE_THE_KILL)}
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
    return process.returncode, err.decode(errors="replace")


def assert_recovers(raw: Path, root: Path, before: dict) -> str:
    """The invariants after a killed build; returns what ``current`` serves ("previous" or "new")."""
    current = os.readlink(root / "current")
    served = Recommender.load(root)  # verifies every checksum
    assert served.version == current
    if current == before["current"]:  # not switched: nothing that was there has changed
        after = snapshot(root)["files"]
        assert {name: after.get(name) for name in before["files"]} == before["files"]
        outcome = "previous"
    else:
        outcome = "new"
    for version in version_dirs(root):  # nothing partial is ever in sight
        try:
            Recommender.load(root / version)
        except ArtifactError as exc:
            pytest.fail(f"a partial artifact set is visible after the kill: {version}: {exc}")
    # The next build succeeds and leaves nothing behind.
    rebuilt = refresh(raw, root, force=True)
    assert os.readlink(root / "current") == rebuilt.name and Recommender.load(root).version == rebuilt.name
    assert [p.name for p in root.iterdir() if p.name.startswith(".") and p.name != LOCK_FILE] == []
    assert len(version_dirs(root)) <= 2
    for version in version_dirs(root):
        Recommender.load(root / version)
    return outcome


def test_the_kill_points_are_where_the_build_really_goes(two_sets, tmp_path, monkeypatch):
    """The stages named above are stages of the build (the last one right before the write), and the build
    saves more arrays than the kill lets through -- else the kills below would not land where they say."""
    import build.refresh as build_refresh

    raw, _ = two_sets
    stages, saves, real_stage, real_save = [], [], build_refresh.StageTimer.stage, np.save

    def stage(self, name):
        stages.append(name)
        return real_stage(self, name)

    def save(*args, **kwargs):
        saves.append(args[0])
        return real_save(*args, **kwargs)

    monkeypatch.setattr(build_refresh.StageTimer, "stage", stage)
    monkeypatch.setattr(np, "save", save)
    refresh(raw, tmp_path / "artifacts")
    assert set(STAGES) <= set(stages), f"the build's stages are {stages}"
    assert stages[-2:] == [STAGES[-1], "write"], f"the build's stages are {stages}"
    assert len(saves) > ARRAYS_BEFORE_THE_KILL


@pytest.mark.parametrize("point", [f"stage:{s}" for s in STAGES] + WRITE_POINTS)
def test_a_build_killed_at_any_point_leaves_a_complete_set_serving(two_sets, tmp_path, point):
    raw, template = two_sets
    root = tmp_path / "artifacts"
    shutil.copytree(template, root, symlinks=True)
    before = snapshot(root)
    code, err = finish(run_build(raw, root, point))
    assert code != 0, f"the build ran to the end: it never reached the kill point {point!r} (renamed or moved?)"
    assert code == -signal.SIGKILL, err[-2000:]
    outcome = assert_recovers(raw, root, before)
    expected = "new" if point in ("pruning an old set",) else "previous"
    assert outcome == expected


def test_a_build_killed_at_random_moments_leaves_a_complete_set_serving(dashboard_artifacts, tmp_path):
    """External SIGKILLs at seeded random moments of a real build of the demo-scale data."""
    raw = dashboard_artifacts.parent / "raw"
    root = tmp_path / "artifacts"
    shutil.copytree(dashboard_artifacts, root, symlinks=True)
    rng = random.Random(7)
    outcomes = []
    for delay in sorted(rng.uniform(1.0, 5.0) for _ in range(2)):
        before = snapshot(root)
        process = run_build(raw, root)
        time.sleep(delay)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        code, err = finish(process)
        assert code in (0, -signal.SIGKILL), err[-2000:]
        outcomes.append((round(delay, 2), "killed" if code else "finished", assert_recovers(raw, root, before)))
    log.info("random kills of a demo-scale build: %s", outcomes)


# --------------------------------------------------------------------------
# Serving under faults
# --------------------------------------------------------------------------

def copy_root(dashboard_artifacts: Path, into: Path) -> Path:
    shutil.copytree(dashboard_artifacts, into, symlinks=True)
    return into


def version_served(server) -> str | None:
    status, text, _ = http_get(f"{server.url}/healthz", timeout=10)
    return json.loads(text)["version"] if status == 200 else None


def wait_for(condition, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


def workers_of(server) -> list[int]:
    try:
        return sorted(c.pid for c in psutil.Process(server.process.pid).children() if c.status() != "zombie")
    except psutil.NoSuchProcess:
        return []


@pytest.fixture
def served(dashboard_artifacts, tmp_path):
    """A gunicorn (2 workers) over a private copy of the session's artifact root, stopped after the test."""
    root = copy_root(dashboard_artifacts, tmp_path / "artifacts")
    server = start_server(root, tmp_path / "gunicorn.log")
    server.root = root
    try:
        assert wait_for(lambda: len(workers_of(server)) >= 2, 30)
        yield server
    finally:
        stop_server(server)


def test_a_refresh_under_load_is_picked_up_without_a_restart_and_no_request_fails(served, dashboard_artifacts):
    raw = dashboard_artifacts.parent / "raw"
    first = version_served(served)
    master = served.process.pid
    versions = [first]
    with Soak(served.url, sessions=6, seed=1) as soak:
        time.sleep(2)
        for _ in range(3):  # the third build prunes the first set while workers may still serve it
            code, err = finish(run_build(raw, served.root))
            assert code == 0, err[-2000:]
            new = os.readlink(served.root / "current")
            seen = wait_for(lambda: all(version_served(served) == new for _ in range(4)), timeout=30)
            assert seen, f"the server still serves {version_served(served)}, not {new}"
            versions.append(new)
            time.sleep(1)
    record = soak.record
    assert served.process.pid == master and served.process.poll() is None  # never restarted
    assert len(set(versions)) == 4 and first not in version_dirs(served.root)
    assert len(record.rows) > 50
    assert record.failures == [], f"{len(record.failures)} of {len(record.rows)} requests failed"
    log.info("refresh under load: %d requests, 0 failed, versions %s", len(record.rows), versions)


def test_a_worker_killed_under_load_is_replaced_and_only_in_flight_requests_fail(served):
    kills, replaced = 3, []
    with Soak(served.url, sessions=6, seed=2) as soak:
        time.sleep(2)
        for _ in range(kills):
            before = workers_of(served)
            victim = before[0]
            os.kill(victim, signal.SIGKILL)
            now = wait_for(lambda: (lambda w: w if len(w) >= 2 and victim not in w else None)(workers_of(served)),
                           timeout=30)
            assert now, f"worker {victim} was not replaced: {workers_of(served)}"
            replaced.append((victim, sorted(set(now) - set(before))))
            time.sleep(2)
    record = soak.record
    failed = len(record.failures)
    log.info("%d workers killed under load: %d of %d requests failed: %s", kills, failed, len(record.rows),
             record.failures)
    assert len(record.rows) > 50
    # A sync worker serves one request at a time: only that one can be lost with it.
    assert failed <= kills, record.failures
    assert version_served(served) is not None and len(workers_of(served)) >= 2
    assert all(new for _, new in replaced)

