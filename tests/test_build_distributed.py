"""The build on a real ``dask.distributed`` cluster gives exactly the local build's artifacts.

A scheduler and two single-threaded workers are started as subprocesses on
127.0.0.1 (free ports, no dashboards) and always torn down. The listening
history is split into many small partitions so that the per-partition work
(parsing, validation, catalogue lookup), the shuffle by user range and the
assembly of the play matrix by track range really are spread over both workers
and over many ranges (:mod:`build.listening_cluster`).
"""
from __future__ import annotations

import contextlib
import functools
import json
import mmap
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

import build.listening_cluster as listening_cluster
import build.refresh as refresh_module
from build import settings
from build.ingest import MAX_PLAYCOUNT, read_catalogue, read_listening
from build.interactions import play_matrix
from engine.artifacts import LOCK_FILE
from build.refresh import refresh
from engine import Recommender
from engine.errors import InputDataError
from tests.helpers import tid, track, uid, write_listening, write_raw

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


def without_timings(document):
    if isinstance(document, dict):
        return {key: without_timings(value) for key, value in document.items() if "seconds" not in key}
    if isinstance(document, list):
        return [without_timings(value) for value in document]
    return document


def test_the_evaluation_of_a_cluster_build_equals_a_local_one(cluster, raw, tmp_path, monkeypatch):
    """The evaluation works on the play matrix the cluster assembled (memory-mapped) as on a local one."""
    monkeypatch.setattr(refresh_module, "read_listening", functools.partial(read_listening, blocksize=SMALL_BLOCKS))
    local = refresh(raw, tmp_path / "local", evaluate=True)
    distributed = refresh(raw, tmp_path / "distributed", scheduler=cluster, evaluate=True)

    assert_same_artifacts(local, distributed)
    evaluations = [json.loads((d / "evaluation.json").read_text()) for d in (local, distributed)]
    assert without_timings(evaluations[0]) == without_timings(evaluations[1])


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


# ---------------------------------------------------------------- the listening stage on its own
def read_both_ways(raw: Path, cluster: str, blocksize: str = SMALL_BLOCKS):
    """``(local, on_cluster)`` listening of ``raw``, both read in partitions of ``blocksize``."""
    from distributed import Client

    tracks, _ = read_catalogue(raw / settings.CATALOGUE_FILE)
    track_ids = pd.Index(tracks["track_id"])
    local = read_listening(raw / settings.LISTENING_FILE, track_ids, blocksize=blocksize)
    with Client(cluster, timeout="10s"):
        on_cluster = read_listening(raw / settings.LISTENING_FILE, track_ids, blocksize=blocksize)
    return local, on_cluster, len(tracks)


def assert_same_matrix(expected, actual) -> None:
    for name in ("data", "indices", "indptr"):
        assert getattr(expected, name).dtype == getattr(actual, name).dtype, name
        np.testing.assert_array_equal(getattr(expected, name), getattr(actual, name), err_msg=name)
    assert expected.shape == actual.shape


@pytest.fixture(scope="module")
def awkward_raw(tmp_path_factory) -> Path:
    """Rows whose cleaning needs every block at once: repeats far apart, users that sort unusually.

    Exact duplicate rows and repeated (track, user) pairs sit in the first and last blocks;
    user ids include non-ASCII text (UTF-8 byte order is not the order of the letters), ids
    that differ only in case and ids written with spaces around them; one listener's every
    row is dropped.
    """
    rng = np.random.default_rng(5)
    rows = [track(n, f"Song {n}", f"Artist {n % 9}", "rock" if n % 2 else "jazz", year=1990 + n % 30)
            for n in range(120)]
    users = [uid(n) for n in range(300)] + ["Zoë", "zoe", "ZOE", "éa", "ea", "日本", "Ωmega", "a b"]
    listens = [(tid(int(n)), user, int(rng.integers(1, 30)))
               for user in users for n in rng.choice(100, size=12, replace=False)]
    first, last = listens[:3], listens[-3:]
    listens = ([(tid(110), "  Zoë ", 7)] + listens + first  # exact repeats of the first rows, at the end
               + [(t, u, c + 1) for t, u, c in last]  # the last pairs again with other counts: summed
               + [(tid(111), "gone", 0), (tid(112), "gone", -3)]  # a listener with no usable row
               + [(tid(110), "Zoë", 7)])  # the spaced row again, stripped: an exact duplicate
    return write_raw(tmp_path_factory.mktemp("awkward"), rows, listens)


def test_the_cluster_reduces_the_listening_history_exactly_like_the_local_reader(cluster, awkward_raw):
    local, on_cluster, n_tracks = read_both_ways(awkward_raw, cluster)

    assert on_cluster.cleaning == local.cleaning
    assert local.cleaning["dropped_duplicate_rows"] == 4 and local.cleaning["merged_repeated_pairs"] == 3
    np.testing.assert_array_equal(on_cluster.user_id_bytes, local.user_id_bytes)
    assert on_cluster.user_id_bytes.dtype == local.user_id_bytes.dtype
    np.testing.assert_array_equal(on_cluster.user_ids, local.user_ids)
    assert "gone" not in set(on_cluster.user_ids)
    assert_same_matrix(play_matrix(local, n_tracks), play_matrix(on_cluster, n_tracks))


def file_mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is (a view of) a memory-mapped file."""
    while array is not None and not isinstance(array, (np.memmap, mmap.mmap)):
        array = getattr(array, "base", None)
    return array is not None


def test_the_client_gets_the_play_matrix_as_files_it_wrote_range_by_range(cluster, awkward_raw, monkeypatch):
    """The pairs never come back to the client as arrays: it appends ranges to files and maps them."""
    ranges, appended = [], []
    cut = listening_cluster.user_boundaries
    monkeypatch.setattr(listening_cluster, "user_boundaries", lambda *a: ranges.append(cut(*a)) or ranges[-1])
    append = listening_cluster._NpyAppender.append
    monkeypatch.setattr(listening_cluster._NpyAppender, "append",
                        lambda self, piece: appended.append((self.path.name, len(piece))) or append(self, piece))

    _, on_cluster, n_tracks = read_both_ways(awkward_raw, cluster)

    assert on_cluster.tracks is None and on_cluster.users is None and on_cluster.playcounts is None
    plays = play_matrix(on_cluster, n_tracks)
    assert file_mapped(plays.data) and file_mapped(plays.indices) and file_mapped(on_cluster.user_id_bytes)
    n_ranges = len(ranges[0]) + 1
    assert n_ranges >= 5  # one user range per partition of the file (a few lost to repeated sample ids)
    pieces = {name: [n for file, n in appended if file == name] for name in ("user_ids.npy", "data.npy")}
    assert len(pieces["user_ids.npy"]) == n_ranges and sum(pieces["user_ids.npy"]) == on_cluster.n_users
    assert len(pieces["data.npy"]) >= 5 and sum(pieces["data.npy"]) == plays.nnz
    assert max(pieces["data.npy"]) < plays.nnz / 2  # no piece is most of the matrix


def test_user_ranges_cut_the_rows_evenly_and_in_order(tmp_path):
    rng = np.random.default_rng(1)
    activity = rng.zipf(1.6, size=2_000).clip(max=200)  # a few very active listeners, many quiet ones
    listens = [(tid(int(rng.integers(0, 50))), uid(int(user)), 1)
               for user in rng.permutation(np.repeat(np.arange(2_000), activity))]
    path = tmp_path / settings.LISTENING_FILE
    pd.DataFrame(listens, columns=["track_id", "user_id", "playcount"]).to_csv(path, index=False)

    boundaries = listening_cluster.user_boundaries(path, 1, n_ranges=8)

    assert list(boundaries) == sorted(set(boundaries)) and len(boundaries) == 7
    rows_per_range = np.bincount(np.searchsorted(boundaries, np.array([u for _, u, _ in listens], dtype=object),
                                                 side="right"), minlength=8)
    # A range is cut at a user id, so it can exceed an even share by one user's rows (at most 200).
    assert rows_per_range.max() <= len(listens) / 8 + activity.max()


def test_track_ranges_cover_every_track_once_with_about_equal_pairs():
    pairs_per_track = np.array([0, 50, 1, 1, 1, 0, 30, 2, 2, 2, 10, 0])
    indptr = np.concatenate(([0], np.cumsum(pairs_per_track)))

    edges = listening_cluster._track_edges(indptr, 4)

    assert edges[0] == 0 and edges[-1] == len(pairs_per_track) and (np.diff(edges) > 0).all()
    assert len(edges) - 1 <= 4


@pytest.mark.parametrize("listens, message", [
    ([(tid(1), uid(1), 0), (tid(2), "", 3)] * 400, "no usable rows"),
    ([(tid(1), uid(1), int(MAX_PLAYCOUNT))] + [(tid(n % 5), uid(n), 2) for n in range(900)]
     + [(tid(1), uid(1), 3)], "add up to more than"),
], ids=["every row dropped", "repeated rows beyond float32"])
def test_unusable_listening_stops_the_cluster_build_as_it_stops_a_local_one(cluster, raw, tmp_path, listens,
                                                                          message):
    from distributed import Client

    bad = tmp_path / "raw"
    bad.mkdir()
    (bad / settings.CATALOGUE_FILE).write_bytes((raw / settings.CATALOGUE_FILE).read_bytes())
    write_listening(bad, listens)
    errors = []
    for scheduler in (None, cluster):
        with pytest.raises(InputDataError, match=message) as error:
            with Client(scheduler, timeout="10s") if scheduler else contextlib.nullcontext():
                tracks, _ = read_catalogue(bad / settings.CATALOGUE_FILE)
                read_listening(bad / settings.LISTENING_FILE, pd.Index(tracks["track_id"]), blocksize=SMALL_BLOCKS)
        errors.append(str(error.value))
    assert errors[0] == errors[1]
