"""One build at a time per artifact root (``engine.artifacts.BuildLock``, ``build.refresh``).

Several real builds started together on the same data and root: each one either
succeeds or stops at once saying another build is running (exit 4, naming it), and
``current`` always names a complete set whose checksums verify. A queued build
(``--wait``) runs after the first. Staging directories of live builds are never
pruned; those of dead builds are.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import Recommender
from engine.artifacts import LOCK_FILE, BuildLock, write_artifact_set
from engine.errors import BuildLockedError
from tests.dashboard_fixtures import SMALL_SCALE

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    from build import demo_data

    directory = tmp_path_factory.mktemp("lock-raw")
    demo_data.write(demo_data.generate(demo_data.Scale(**SMALL_SCALE), seed=3), directory)
    return directory


def build(raw: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "build.refresh", "--raw", str(raw), "--out", str(out),
                             "--force", "--no-evaluate", *extra], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "LOG_FORMAT": "text"})


def test_builds_started_together_succeed_or_say_another_build_is_running(raw, tmp_path):
    out = tmp_path / "artifacts"
    runs = []
    for _ in range(5):
        runs.append(build(raw, out))
        time.sleep(0.15)
    results = [(run.wait(timeout=300), run.stdout.read()) for run in runs]
    codes = [code for code, _ in results]
    assert set(codes) <= {0, 4} and 0 in codes, results
    for code, output in results:
        if code == 4:
            assert "another build is running" in output and "pid " in output, output
    # The current set is complete and verifies; no staging directory is left behind.
    Recommender.load(out, verify=True)
    assert not list(out.glob(".tmp-*"))


def test_a_waiting_build_runs_after_the_running_one(raw, tmp_path):
    out = tmp_path / "artifacts"
    first = build(raw, out)
    time.sleep(0.3)
    second = build(raw, out, "--wait")
    assert first.wait(timeout=300) == 0
    assert second.wait(timeout=300) == 0, second.stdout.read()
    versions = sorted(p.name for p in out.iterdir() if p.name.startswith("v"))
    assert len(versions) == 2 and (out / "current").resolve().name == versions[-1]
    Recommender.load(out, verify=True)


def test_the_lock_names_its_holder_and_is_released_on_exit(tmp_path):
    with BuildLock(tmp_path) as held:
        holder = held.holder()
        assert holder["pid"] == os.getpid() and "started_at" in holder
        with pytest.raises(BuildLockedError, match=f"another build is running.*pid {os.getpid()}") as error:
            BuildLock(tmp_path).__enter__()
        assert error.value.holder["pid"] == os.getpid()
    with BuildLock(tmp_path):  # released: the next one gets it
        pass
    assert (tmp_path / LOCK_FILE).read_text() == ""


def test_a_killed_build_leaves_no_lock_behind(tmp_path):
    code = (f"from engine.artifacts import BuildLock; import os, time\n"
            f"lock = BuildLock({str(tmp_path)!r}).__enter__(); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(BuildLockedError):
        BuildLock(tmp_path).__enter__()
    holder.kill()
    holder.wait()
    with BuildLock(tmp_path) as lock:  # the kernel released it with the process
        assert lock.holder()["pid"] == os.getpid()


def test_pruning_keeps_a_live_builds_staging_and_removes_a_dead_ones(tmp_path):
    import numpy as np
    import pandas as pd

    live = tmp_path / f".tmp-v1-p{os.getppid()}-abc"   # our parent: alive
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = tmp_path / f".tmp-v0-p{int(dead.stdout)}-xyz"  # exited: dead
    for directory in (live, gone):
        directory.mkdir()
    write_artifact_set(tmp_path, "v2", {"a": np.arange(3)}, pd.DataFrame({"track_id": ["x"]}),
                       {"counts": {}})
    assert live.exists() and not gone.exists()
    assert json.loads((tmp_path / "v2" / "manifest.json").read_text())["version"] == "v2"
