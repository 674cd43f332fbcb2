"""Every public engine entry point fuzzed with hypothesis: it answers or raises an ``engine.errors`` type.

Inputs are whatever can reach the engine from a URL, a JSON callback payload or
a person typing: real ids and near misses (spaces, case, a NUL), text with
regex and HTML characters, lone surrogates (JSON can carry them), huge and
empty values, numbers of every kind (bool, huge ints, NaN, infinities, numpy
scalars), containers where scalars belong. The contract:

* a call either returns a well-formed result or raises a subclass of
  :class:`engine.errors.RecommenderError` (never ``TypeError``,
  ``OverflowError``, ``UnicodeEncodeError``, an arrow or numpy error...);
* results respect their documented bounds (at most ``k`` items, scores in
  [0, 1], seeds never recommended, search matches literally).

Examples are derandomised (the same inputs on every run) and modest in number
so the module runs in seconds.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from build.refresh import refresh
from dashboard.views import audio_profile, evaluation_rows, evaluation_table, rank_trajectories
from engine import Recommender
from engine.errors import RecommenderError
from engine.search import search_key
from tests.helpers import tid, uid, write_small_raw

FUZZ = settings(max_examples=100, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=40)

TRACKS = [tid(n) for n in range(10)]
USERS = [uid(n) for n in range(1, 7)]
#: Characters that mean something to a regex engine or an HTML parser.
SPECIAL = ".*+?^$()[]{}|\\<>&\"'/=;:%#!`~-_ \t\n\r\x00"

texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(SPECIAL + "abcBright"), max_size=40),
    st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb", "<script>alert(1)</script>", "<b>x</b>", "(", "[a-",
                     "*", ".*", "\\", "%s%n", "${x}", "{{7*7}}", "' OR 1=1 --", "Star* [a-z]", "BRIGHT", "bright ",
                     "İ", "ß", "ﬁ", "\u200b", "a" * 10_000, "🎵" * 1000]),
)
track_ids = st.one_of(
    st.sampled_from(TRACKS),
    st.sampled_from(TRACKS).map(lambda t: f" {t} "),
    st.sampled_from(TRACKS).map(str.lower),
    st.sampled_from(TRACKS).map(lambda t: t + "\x00"),
    texts,
)
user_ids = st.one_of(st.sampled_from(USERS), st.sampled_from(USERS).map(lambda u: u[:-1]),
                     st.sampled_from(USERS).map(lambda u: u + "0"), texts)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 1),
    st.integers(),
    st.integers(min_value=-(10 ** 400), max_value=10 ** 400),
    st.sampled_from([0, 1, -1, 0.5, 1e-320, 10 ** 400, True, False, Fraction(1, 3), np.float32(0.5), np.int64(5),
                     np.float64("nan"), np.uint8(3), np.bool_(True), complex(0.5, 0)]),
)
junk = st.one_of(st.none(), texts, st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3),
                                                                                        st.integers(), max_size=2),
                 st.just(object()), st.just(b"bytes"), st.just(np.array([1, 2])))
alphas = st.one_of(numbers, junk)
ks = st.one_of(numbers, st.integers(-5, 60), junk)
seed_lists = st.one_of(st.lists(track_ids, max_size=5), st.lists(st.sampled_from(TRACKS), min_size=1, max_size=12),
                       st.lists(st.sampled_from(TRACKS), min_size=1001, max_size=1002).map(tuple),
                       st.sets(st.sampled_from(TRACKS), min_size=1), st.frozensets(st.sampled_from(TRACKS)),
                       st.lists(st.lists(st.sampled_from(TRACKS)), max_size=2),
                       st.sampled_from(TRACKS), junk,
                       st.lists(st.sampled_from(TRACKS), min_size=1).map(lambda ts: np.array(ts)))


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> Recommender:
    root = tmp_path_factory.mktemp("fuzz")
    refresh(write_small_raw(root / "raw"), root / "artifacts")
    return Recommender.load(root / "artifacts")


def answer(call, *args, **kwargs):
    """The call's result, or None when it raised a :class:`RecommenderError` (anything else propagates)."""
    try:
        return call(*args, **kwargs)
    except RecommenderError as exc:
        assert str(exc), "an error without a message"
        return None


def check_recommendations(recs, k, excluded=()):
    assert isinstance(recs, list) and len(recs) <= int(k)
    assert [r.rank for r in recs] == list(range(1, len(recs) + 1))
    for r in recs:
        assert r.track_id in TRACKS and r.track_id not in excluded
        for score in (r.score, r.content_score, r.collab_score):
            assert math.isfinite(score) and 0.0 <= score <= 1.0


# --------------------------------------------------------------------------
# Recommendations
# --------------------------------------------------------------------------

@FUZZ
@given(track_id=track_ids, k=ks, alpha=alphas)
@example(track_id=TRACKS[0], k=10 ** 400, alpha=0.5)
@example(track_id=TRACKS[0], k=5, alpha=10 ** 400)
@example(track_id=TRACKS[0], k=5, alpha=-(10 ** 400))
@example(track_id=TRACKS[0], k=5, alpha=complex(0.5, 0))
def test_recommend(rec, track_id, k, alpha):
    recs = answer(rec.recommend, track_id, k=k, alpha=alpha)
    if recs is not None:
        check_recommendations(recs, k, excluded={track_id})


@FUZZ
@given(seeds=seed_lists, k=ks, alpha=alphas)
def test_recommend_for_tracks(rec, seeds, k, alpha):
    recs = answer(rec.recommend_for_tracks, seeds, k=k, alpha=alpha)
    if recs is not None:
        check_recommendations(recs, k, excluded=set(np.asarray(list(seeds), dtype=object).ravel().tolist()))


@FUZZ
@given(user_id=st.one_of(user_ids, junk), k=ks, alpha=alphas)
def test_recommend_for_user(rec, user_id, k, alpha):
    recs = answer(rec.recommend_for_user, user_id, k=k, alpha=alpha)
    if recs is not None:
        played = {t.track_id for t, _ in rec.user_history(user_id.strip(), limit=100)}
        check_recommendations(recs, k, excluded=played)


# --------------------------------------------------------------------------
# Explanations and alpha views
# --------------------------------------------------------------------------

@FUZZ
@given(seed=st.one_of(track_ids, junk), track=st.one_of(track_ids, junk))
def test_explain(rec, seed, track):
    e = answer(rec.explain, seed, track)
    if e is not None:
        assert math.isfinite(e.content_similarity) and math.isfinite(e.collab_similarity)
        assert sum(e.content_by_block.values()) == pytest.approx(e.content_similarity, abs=1e-9)
        assert e.shared_listeners >= 0


alpha_lists = st.one_of(st.lists(alphas, max_size=6), st.lists(st.floats(0, 1), min_size=1, max_size=30), junk,
                        st.just(()), st.just(np.linspace(0, 1, 5)), st.just(range(2)), st.floats(0, 1))


@FUZZ
@given(seed=track_ids, track=track_ids, alphas=alpha_lists)
def test_rank_by_alpha(rec, seed, track, alphas):
    ranks = answer(rec.rank_by_alpha, seed, track, alphas)
    if ranks is not None:
        assert all(r is None or 1 <= r <= len(TRACKS) - 1 for r in ranks)


@FUZZ
@given(track_id=track_ids, k=ks, alphas=alpha_lists)
def test_alpha_sweep(rec, track_id, k, alphas):
    sweep = answer(rec.alpha_sweep, track_id, k=k, alphas=alphas)
    if sweep is not None:
        assert len(sweep.ranking) == len(sweep.alphas)
        assert all(len(r) <= int(k) and track_id not in r for r in sweep.ranking)
        trajectories = rank_trajectories(sweep)
        assert all(len(v) == len(sweep.alphas) for v in trajectories.values())
        if sweep.alphas:
            assert all(0 <= share <= 1 for share in sweep.overlap_with(0.5))


# --------------------------------------------------------------------------
# Search and lookups
# --------------------------------------------------------------------------

@FUZZ
@given(text=st.one_of(texts, junk), limit=ks)
@example(text="Star* [a-z]", limit=5)
@example(text="(", limit=5)
@example(text="\ud800", limit=5)
def test_search_matches_literally(rec, text, limit):
    found = answer(rec.search, text, limit=limit)
    if found is not None:
        assert len(found) <= int(limit)
        query = search_key(text)
        for track in found:
            assert query in search_key(track.name) or query in search_key(track.artist)


@FUZZ
@given(track_id=st.one_of(track_ids, junk))
def test_track(rec, track_id):
    track = answer(rec.track, track_id)
    if track is not None:
        assert track.track_id == track_id


@FUZZ
@given(user_id=st.one_of(user_ids, junk), limit=ks)
@example(user_id="\ud800", limit=5)
def test_user_history(rec, user_id, limit):
    history = answer(rec.user_history, user_id, limit=limit)
    if history is not None:
        assert len(history) <= int(limit) and all(count > 0 for _, count in history)


@FUZZ
@given(prefix=st.one_of(user_ids, junk), limit=ks)
@example(prefix="0\udfff", limit=5)
def test_search_users(rec, prefix, limit):
    found = answer(rec.search_users, prefix, limit=limit)
    if found is not None:
        assert len(found) <= int(limit) and all(u.startswith(prefix.strip()) for u in found)


@FEW
@given(seed=st.one_of(st.none(), st.integers(), junk), min_tracks=ks)
def test_random_active_user(rec, seed, min_tracks):
    user = answer(rec.random_active_user, seed, min_tracks)
    if user is not None:
        assert user in USERS


@FEW
@given(path=st.one_of(texts, st.just("/"), st.just("/dev/null"), st.just("/proc/self"), junk))
def test_load_of_anything_that_is_not_an_artifact_set(path):
    assert answer(Recommender.load, path, verify=False) is None


# --------------------------------------------------------------------------
# Display helpers over data from disk (the build's evaluation.json) and results
# --------------------------------------------------------------------------

json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), st.text(max_size=8)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.sampled_from(
                                                       ["runs", "results", "methods", "method", "alpha", "k",
                                                        "metrics", "ndcg@10", "x"]), inner, max_size=4)),
                           max_leaves=20)


@FUZZ
@given(evaluation=json_values)
def test_evaluation_rows_and_table_take_any_json(evaluation):
    rows = evaluation_rows(evaluation if isinstance(evaluation, dict) else None)
    assert all(math.isfinite(r["value"]) or math.isinf(r["value"]) for r in rows)
    metrics, records = evaluation_table(rows)
    assert len(records) <= len(rows) and len(metrics) <= len(rows)


@FUZZ
@given(audio=st.dictionaries(st.one_of(st.sampled_from(["energy", "tempo", "loudness"]), st.text(max_size=5)),
                             st.one_of(st.floats(), st.integers(-10 ** 30, 10 ** 30), st.none(), st.text(max_size=3)),
                             max_size=6))
def test_audio_profile_takes_any_values(audio):
    profile = audio_profile(audio)
    assert all(0.0 <= v <= 1.0 for v in profile.values())
