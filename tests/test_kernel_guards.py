"""The compiled kernels never see a bad index or a NaN: what a caller or a file gives is checked first.

The kernels (``engine._kernels``) run without bounds checks. Two ways in are guarded:

- **Files**: an artifact set whose checksums match but whose arrays are malformed
  (an index past its dimension, an ``indptr`` that goes back, a NaN score) is refused
  at load with an :class:`ArtifactError` naming the file. Before the structural
  checks the first of these killed the process with SIGSEGV on the first query,
  so each case runs in a subprocess and the test asserts how it ended.
- **Callers**: the public scoring API (``HybridScorer``, ``ContentIndex``,
  ``CollaborativeModel``, ``ContentNeighbours``) refuses out-of-range rows, NaN or
  infinite weights and scores, weights summing to zero and foreign ``RawScores`` with
  :class:`InvalidParameterError`; hypothesis drives it with such inputs.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Recommender
from engine.artifacts import _bytes_of, _xxh3
from engine.errors import InvalidParameterError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def tamper(root: Path, into: Path, name: str, change) -> Path:
    """A copy of the current set of ``root`` with array ``name`` changed and its checksum made to match."""
    source = (root / "current").resolve()
    target = into / source.name
    shutil.copytree(source, target)
    array = np.load(target / f"{name}.npy", allow_pickle=False)
    array = change(array.copy())
    np.save(target / f"{name}.npy", array, allow_pickle=False)
    manifest = json.loads((target / "manifest.json").read_text())
    entry = manifest["arrays"][name]
    entry.update(bytes=(target / f"{name}.npy").stat().st_size, checksum=_xxh3(_bytes_of(array)),
                 dtype=array.dtype.str, shape=list(array.shape))
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def set_value(position: int, value):
    def change(array):
        array.reshape(-1)[position] = value
        return array
    return change


def load_and_query(directory: Path) -> subprocess.CompletedProcess:
    code = ("import sys\nfrom engine import Recommender\nfrom engine.errors import ArtifactError\n"
            "try:\n    rec = Recommender.load(sys.argv[1])\nexcept ArtifactError as exc:\n"
            "    print('REFUSED', exc)\n    sys.exit(0)\n"
            "for t in rec.tracks['track_id'][:50]:\n    rec.recommend(t, k=10)\nprint('SERVED')\n")
    return subprocess.run([sys.executable, "-c", code, str(directory)], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)


MALFORMED = {
    "a listener index past the last listener": ("collab_left.indices", set_value(0, 10**8)),
    "a negative track index": ("collab_right.indices", set_value(3, -5)),
    "an indptr that goes back": ("collab_left.indptr", set_value(5, 0)),
    "an indptr that ends short of the entries": ("collab_right.indptr",
                                                  lambda a: a - (np.arange(len(a)) == len(a) - 1)),
    "a NaN listening weight": ("collab_right.data", set_value(0, np.nan)),
    "an infinite content value": ("content_audio", set_value(7, np.inf)),
    "a tag index past the vocabulary": ("content_tags.indices", set_value(0, 10**6)),
    "a genre code past its block": ("content_genre_codes", set_value(0, 10**4)),
    "a cold track's neighbour past the catalogue": ("cold_neighbours", set_value(0, 60_000)),
    "a negative neighbour weight": ("cold_weights", set_value(0, -1.0)),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_array_with_a_matching_checksum_is_refused_at_load(dashboard_artifacts, tmp_path, case):
    name, change = MALFORMED[case]
    directory = tamper(dashboard_artifacts, tmp_path, name, change)
    run = load_and_query(directory)
    assert run.returncode == 0, f"{case}: the process ended with {run.returncode}\n{run.stderr[-2000:]}"
    assert "REFUSED" in run.stdout and f"{name!r}" in run.stdout, run.stdout
    assert "malformed" in run.stdout or "match" in run.stdout


def test_the_untouched_set_loads_and_serves(dashboard_artifacts):
    run = load_and_query((dashboard_artifacts / "current").resolve())
    assert run.returncode == 0 and "SERVED" in run.stdout, run.stdout + run.stderr


# ----------------------------------------------------------------- callers
@pytest.fixture(scope="module")
def scorer(dashboard_artifacts):
    return Recommender.load(dashboard_artifacts).scorer


def rows_or_junk():
    return st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                     st.just("7"), st.none())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seeds=st.lists(rows_or_junk(), min_size=0, max_size=4),
       weights=st.one_of(st.none(), st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=4)),
       exclude=st.one_of(st.none(), st.lists(rows_or_junk(), max_size=3)))
def test_raw_scores_refuse_what_the_kernels_cannot_take(scorer, seeds, weights, exclude):
    try:
        raw = scorer.raw_scores(seeds, weights, exclude)
    except InvalidParameterError:
        return
    # Accepted: then the input was valid, and the scores are finite over every track.
    n = scorer.n_tracks
    assert all(isinstance(s, (int, np.integer)) or float(s).is_integer() for s in seeds)
    assert all(0 <= int(s) < n for s in seeds)
    assert np.isfinite(raw.content_raw).all() and np.isfinite(raw.collab_raw).all()
    rows = scorer.top(raw, 0.5, 10)
    assert not set(rows.tolist()) & set(int(s) for s in seeds)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alpha=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3), st.just("x")),
       k=st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=True), st.just(True)),
       track=st.integers(-10**9, 10**9))
def test_ranking_calls_refuse_bad_alpha_k_and_track(scorer, alpha, k, track):
    raw = scorer.raw_scores([0])
    for call in (lambda: scorer.top(raw, alpha, k), lambda: scorer.ranks_of(raw, [alpha], track),
                 lambda: scorer.collab_pair(track, 0), lambda: scorer.estimated_from(0, track)):
        try:
            call()
        except InvalidParameterError:
            continue


def test_scores_formed_elsewhere_are_checked_before_the_kernels(scorer):
    n = scorer.n_tracks
    good = np.zeros(n)
    for content, collab, excluded, message in (
            (np.full(n, np.nan), good, [0], "content_raw"), (good, np.r_[good[:-1], np.inf], [0], "collab_raw"),
            (good[:-1], good, [0], "shape"), (good, good, [n], "excluded"), (good, good, [-1], "excluded")):
        with pytest.raises(InvalidParameterError, match=message):
            scorer.scores_from(content, collab, np.asarray(excluded))
    unsorted = scorer.scores_from(good, good, np.array([5, 2, 5]))
    assert unsorted.excluded.tolist() == [2, 5]
    with pytest.raises(InvalidParameterError, match="RawScores"):
        scorer.top("not scores", 0.5, 3)


def test_weights_that_sum_to_zero_or_are_negative_are_refused(scorer):
    for weights in ([0.0, 0.0], [1.0, -1.0], [np.nan, 1.0], [1.0]):
        with pytest.raises(InvalidParameterError, match="weights"):
            scorer.raw_scores([0, 1], weights)


def test_the_parts_refuse_out_of_range_rows_too(scorer):
    n = scorer.n_tracks
    with pytest.raises(InvalidParameterError, match="seeds"):
        scorer.content.similarity([n])
    with pytest.raises(InvalidParameterError, match="seeds"):
        scorer.collab.scores([-1])
    with pytest.raises(InvalidParameterError, match="weights"):
        scorer.collab.scores([0], [np.inf])
    with pytest.raises(InvalidParameterError, match="collab"):
        scorer.cold.estimate(np.zeros(n - 1))
