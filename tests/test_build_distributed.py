"""The build on a real ``dask.distributed`` cluster gives exactly the local build's artifacts.

A scheduler and two single-threaded workers are started as subprocesses on
127.0.0.1 (free ports, no dashboards) and always torn down. The listening
history is split into many small partitions so that the per-partition work
(parsing, validation, catalogue lookup, user hashing) really is spread over
both workers.
"""
from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import build.refresh as refresh_module
from build import settings
from build.ingest import read_listening
from engine.artifacts import LOCK_FILE
from build.refresh import refresh
from engine import Recommender
from engine.errors import InputDataError
from tests.helpers import tid, track, uid, write_raw

pytestmark = pytest.mark.slow

DASK = Path(sys.executable).parent / "dask"
SMALL_BLOCKS = "8KB"  # about a dozen partitions of the listening file below


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(settings.PROJECT_ROOT)}
    with open(log, "wb") as handle:
        # A session of its own, so teardown can stop the process and anything it started.
        return subprocess.Popen([str(DASK), *args], stdout=handle, stderr=subprocess.STDOUT,
                                cwd=settings.PROJECT_ROOT, env=env, start_new_session=True)


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every process group we started, then SIGKILL whatever is still running after 15 s."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``tcp://127.0.0.1:PORT`` of a scheduler with two workers (one thread each).

    Torn down after the module; should the test run itself be killed, the
    workers exit once the scheduler is gone and the scheduler after 10 idle minutes.
    """
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    processes = [start(["scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                        "--no-dashboard", "--idle-timeout", "600"], logs / "scheduler.log")]
    try:
        for n in range(2):
            processes.append(start(["worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                    "--no-dashboard", "--no-nanny", "--death-timeout", "60",
                                    "--local-directory", str(logs / f"w{n}")],
                                   logs / f"worker{n}.log"))
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    logs_text = "\n".join(f.read_text(errors="replace") for f in sorted(logs.glob("*.log")))
                    pytest.fail(f"dask cluster did not start:\n{logs_text}")
                time.sleep(0.5)
        yield address
    finally:
        stop(processes[::-1])  # workers first


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """300 tracks of 6 styles, 150 listeners, ~4,000 rows (with some rows to clean)."""
    rng = np.random.default_rng(11)
    styles = ["rock", "pop", "jazz", "metal", "house", "folk"]
    rows = [track(n, f"Song {n}", f"Artist {n % 40}", f"{styles[n % 6]}, {styles[(n + 1) % 6]}",
                  year=1960 + n % 60, energy=round(float(rng.random()), 3),
                  valence=round(float(rng.random()), 3), key=n % 12, mode=n % 2, time_signature=4)
            for n in range(300)]
    listens = []
    for user in range(150):
        liked = rng.choice(6, size=2, replace=False)
        candidates = [n for n in range(250) if n % 6 in liked]  # tracks 250+ stay cold
        for n in rng.choice(candidates, size=25, replace=False):
            listens.append((tid(int(n)), uid(user), int(rng.integers(1, 40))))
    listens += [(tid(1), uid(1), 0), ("TRNOTINTHECATALOG", uid(2), 3), listens[10], (tid(3), uid(3), -1)]
    return write_raw(tmp_path_factory.mktemp("raw"), rows, listens)


def arrays(directory: Path) -> dict[str, np.ndarray]:
    return {f.name: np.load(f, allow_pickle=False) for f in sorted(directory.glob("*.npy"))}


def assert_same_artifacts(a: Path, b: Path) -> None:
    first, second = arrays(a), arrays(b)
    assert list(first) == list(second)
    for name in first:
        assert first[name].dtype == second[name].dtype, name
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    pd.testing.assert_frame_equal(pd.read_feather(a / "tracks.arrow"), pd.read_feather(b / "tracks.arrow"))
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    for key in ("counts", "cleaning", "content", "collaborative", "statistics", "build_key"):
        assert ma[key] == mb[key], key
    assert {n: e["checksum"] for n, e in ma["arrays"].items()} == {n: e["checksum"] for n, e in mb["arrays"].items()}


def test_the_distributed_build_equals_the_local_build(cluster, raw, tmp_path, monkeypatch):
    from distributed import Client

    local_one_partition = refresh(raw, tmp_path / "local")
    monkeypatch.setattr(refresh_module, "read_listening", functools.partial(read_listening, blocksize=SMALL_BLOCKS))
    local = refresh(raw, tmp_path / "local-partitioned")
    distributed = refresh(raw, tmp_path / "distributed", scheduler=cluster)

    assert_same_artifacts(local_one_partition, local)
    assert_same_artifacts(local, distributed)
    manifest = json.loads((distributed / "manifest.json").read_text())
    assert manifest["scheduler"] == cluster
    assert manifest["cleaning"]["listening"]["dropped_bad_playcount"] == 2
    assert manifest["cleaning"]["listening"]["dropped_unknown_track"] == 1
    assert manifest["cleaning"]["listening"]["dropped_duplicate_rows"] == 1

    # The partitions really ran on the cluster's workers, and on both of them.
    with Client(cluster, timeout="10s") as client:
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(executed) == 2 and all(count > 0 for count in executed.values())

    rec = Recommender.load(tmp_path / "distributed")
    assert rec.recommend(tid(0), k=10) == Recommender.load(tmp_path / "local").recommend(tid(0), k=10)


def test_bad_input_on_the_cluster_is_reported_like_a_local_build(cluster, raw, tmp_path, monkeypatch):
    monkeypatch.setattr(refresh_module, "read_listening", functools.partial(read_listening, blocksize=SMALL_BLOCKS))
    bad = tmp_path / "raw"
    bad.mkdir()
    (bad / settings.CATALOGUE_FILE).write_bytes((raw / settings.CATALOGUE_FILE).read_bytes())
    lines = (raw / settings.LISTENING_FILE).read_text(encoding="utf-8").splitlines()
    lines[2000] = f"{tid(5)},{uid(5)},twelve"
    (bad / settings.LISTENING_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputDataError) as error:
        refresh(bad, tmp_path / "out", scheduler=cluster)
    assert (error.value.column, error.value.row, error.value.value) == ("playcount", 2001, "twelve")
    # nothing written but the build lock (kept: removing a lock file another build may be waiting on is racy)
    assert not (tmp_path / "out").exists() or [p.name for p in (tmp_path / "out").iterdir()] == [LOCK_FILE]
