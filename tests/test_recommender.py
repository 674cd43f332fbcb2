"""Specification of the public API, ``engine.Recommender``, over built artifact sets.

Two artifact sets are built through the real pipeline (``build.refresh``):

- the ten-track catalogue of :mod:`tests.helpers`, where neighbours, scores and
  tie-breaks are known by hand or recomputed from the documented formulas
  through ``explain``;
- the demo data set (5,000 tracks, 300,000 rows), where recommendations must
  share the seed's latent style (the generator's ground truth) far more often
  than chance.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from build.refresh import refresh
from engine import Recommender
from engine.collab_cache import HeavyRows, gather_cost
from engine.content import ContentFeatures
from engine.errors import InvalidParameterError, RecommenderError, UnknownTrackError, UnknownUserError
from engine.hybrid import HybridScorer
from tests.helpers import SMALL_PLAYS, catalogue_frame, small_catalogue, tid, track, uid, write_raw, write_small_raw
from tests.oracle import checked_neighbours, collab_with_cold, hybrid_scores

N_TRACKS = 10
LISTENERS = {t: len({u for tt, u, _ in SMALL_PLAYS if tt == t}) for t in range(N_TRACKS)}
HISTORY = {u: {t: c for t, uu, c in SMALL_PLAYS if uu == u} for u in range(1, 7)}


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> Recommender:
    root = tmp_path_factory.mktemp("small")
    refresh(write_small_raw(root / "raw"), root / "artifacts")
    return Recommender.load(root / "artifacts")


def ids(recs) -> list[str]:
    return [r.track_id for r in recs]


def numbers(recs) -> list[int]:
    return [int(r.track_id[-12:]) for r in recs]


def minmax(values: dict) -> dict:
    lo, hi = min(values.values()), max(values.values())
    return {j: 0.0 if hi - lo <= 1e-12 else (v - lo) / (hi - lo) for j, v in values.items()}


def expected_components(rec, seed_weights: dict[int, float], excluded=()) -> tuple[dict, dict]:
    """Normalised content and collab scores of every candidate, recomputed through ``explain``."""
    total = sum(seed_weights.values())
    candidates = [j for j in range(N_TRACKS) if j not in seed_weights and j not in excluded]
    content, collab = {}, {}
    for j in candidates:
        parts = [(w / total, rec.explain(tid(i), tid(j))) for i, w in seed_weights.items()]
        content[j] = sum(w * e.content_similarity for w, e in parts)
        collab[j] = sum(w * e.collab_similarity for w, e in parts)
    return minmax(content), minmax(collab)


def assert_matches_formula(recs, alpha, content, collab):
    for r in recs:
        j = int(r.track_id[-12:])
        assert r.content_score == pytest.approx(content[j], abs=1e-6)
        assert r.collab_score == pytest.approx(collab[j], abs=1e-6)
        assert r.score == pytest.approx(alpha * r.content_score + (1 - alpha) * r.collab_score, abs=1e-12)
        assert 0.0 <= r.content_score <= 1.0 and 0.0 <= r.collab_score <= 1.0 and 0.0 <= r.score <= 1.0


def assert_deterministically_sorted(recs):
    """Score desc, then listeners desc, then catalogue order; ranks 1..n."""
    assert [r.rank for r in recs] == list(range(1, len(recs) + 1))
    keys = [(-r.score, -r.n_listeners, int(r.track_id[-12:])) for r in recs]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------
# recommend: the right neighbours, scores and order
# --------------------------------------------------------------------------

def test_content_only_finds_the_indie_rock_tracks(rec):
    recs = rec.recommend(tid(0), k=3, alpha=1.0)
    # 7 is 0's twin (same tags, artist, year, key; nearest audio); 1 differs in audio; 2 also in artist.
    assert numbers(recs) == [7, 1, 2]
    assert numbers(rec.recommend(tid(4), k=3, alpha=1.0))[:1] == [5]
    assert set(numbers(rec.recommend(tid(4), k=3, alpha=1.0))) == {5, 6, 8}


def test_listening_only_finds_the_tracks_with_shared_listeners(rec):
    recs = rec.recommend(tid(0), k=9, alpha=0.0)
    warm = [n for n in numbers(recs) if LISTENERS[n] > 0]
    # 1 and 2 share two listeners with 0, 3 and 9 one each, 4, 5 and 6 none.
    assert set(warm[:2]) == {1, 2} and set(warm[2:4]) == {3, 9}
    # 7 has no listeners but is 0's content twin: its nearest track with listeners is 0 itself,
    # so its estimated listening score is near the top; 8 (like 4 and 5) gets a little.
    assert 7 in numbers(recs)[:3] and 0.0 < recs[numbers(recs).index(8)].score < 0.2
    # No shared listener and no estimate: all score 0, ordered by listeners, then catalogue order.
    assert numbers(recs)[6:] == [4, 5, 6]
    assert all(r.collab_score == 0.0 and r.score == 0.0 for r in recs[6:])


@pytest.mark.parametrize("alpha", [0.0, 0.2, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("seed", [0, 3, 4, 9])
def test_scores_follow_the_documented_formula(rec, seed, alpha):
    recs = rec.recommend(tid(seed), k=N_TRACKS - 1, alpha=alpha)
    assert len(recs) == N_TRACKS - 1 and tid(seed) not in ids(recs)
    content, collab = expected_components(rec, {seed: 1.0})
    assert_matches_formula(recs, alpha, content, collab)
    assert_deterministically_sorted(recs)


def ranked_by(rec, seed: int, component: str) -> list[int]:
    """Other tracks by one raw similarity of ``explain`` (then listeners, then catalogue order)."""
    values = {j: getattr(rec.explain(tid(seed), tid(j)), component) for j in range(N_TRACKS) if j != seed}
    return sorted(values, key=lambda j: (-round(values[j], 9), -LISTENERS[j], j))


def test_alpha_one_ranks_by_content_only_and_alpha_zero_by_listening_only(rec):
    for seed in range(N_TRACKS):
        assert numbers(rec.recommend(tid(seed), k=9, alpha=1.0)) == ranked_by(rec, seed, "content_similarity")
        assert numbers(rec.recommend(tid(seed), k=9, alpha=0.0)) == ranked_by(rec, seed, "collab_similarity")


def test_ties_are_broken_by_listeners_then_catalogue_order(rec):
    # 4, 5 and 6 share no listener with 0 and have listeners (no estimate): at alpha = 0 they all score 0.
    recs = rec.recommend(tid(0), k=9, alpha=0.0)[6:]
    assert {r.score for r in recs} == {0.0}
    assert numbers(recs) == [4, 5, 6]  # 3, 2, 2 listeners
    assert rec.recommend(tid(0), k=9, alpha=0.0)[6:] == recs  # and the same every time


@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_exactly_k_results_when_the_catalogue_allows(rec, k):
    for alpha in (0.0, 0.5, 1.0):
        recs = rec.recommend(tid(2), k=k, alpha=alpha)
        assert len(recs) == k
        # A shorter list is a prefix of a longer one.
        assert ids(recs) == ids(rec.recommend(tid(2), k=9, alpha=alpha))[:k]


def test_fewer_results_only_when_the_catalogue_has_fewer_tracks(rec):
    assert len(rec.recommend(tid(2), k=50)) == N_TRACKS - 1
    assert len(rec.recommend_for_tracks([tid(0), tid(1), tid(2)], k=50)) == N_TRACKS - 3
    assert len(rec.recommend_for_user(uid(1), k=50)) == N_TRACKS - 3


def test_the_seed_is_never_recommended(rec):
    for seed in range(N_TRACKS):
        for alpha in (0.0, 0.5, 1.0):
            assert tid(seed) not in ids(rec.recommend(tid(seed), k=9, alpha=alpha))


def test_cold_tracks_are_scored_through_their_content_neighbours(rec):
    # 7 has no listeners; its nearest tracks with listeners in content are 0, 1, 2 (same tags), 3, 6.
    neighbours = [int(t.track_id[-12:]) for t in rec.explain(tid(7), tid(4)).estimated_from]
    assert neighbours[:3] == [0, 1, 2] and set(neighbours) <= {0, 1, 2, 3, 6}
    # As a seed it stands for its neighbours: the listening side now speaks for it.
    recs = rec.recommend(tid(7), k=3, alpha=0.5)
    assert numbers(recs) == [0, 1, 2] and all(r.collab_score > 0.5 for r in recs)
    # As a candidate it is estimated from them: 0's content twin comes second for 0, not last.
    assert numbers(rec.recommend(tid(0), k=3, alpha=0.5)) == [1, 7, 2]
    assert rec.recommend(tid(0), k=3, alpha=0.5)[1].is_new
    assert tid(8) in ids(rec.recommend(tid(5), k=3, alpha=1.0))
    assert tid(8) in ids(rec.recommend_for_user(uid(5), k=2, alpha=0.5))


def test_a_build_without_cold_tracks_scores_as_before(tmp_path):
    """Nothing to estimate: the neighbour table is empty and every score is measured."""
    rows = [track(n, tags="rock", artist=f"A{n}") for n in range(4)]
    plays = [(tid(n), uid(u), 1) for n in range(4) for u in range(n + 1)]
    write_raw(tmp_path / "raw", rows, plays)
    refresh(tmp_path / "raw", tmp_path / "artifacts")
    small = Recommender.load(tmp_path / "artifacts")
    assert small.scorer.cold is None
    assert [r.n_listeners for r in small.recommend(tid(3), k=3, alpha=0.0)] == [3, 2, 1]


def test_recommendation_fields_describe_the_track(rec):
    first = rec.recommend(tid(1), k=1, alpha=1.0)[0]
    assert first.track_id == tid(0) or first.track_id == tid(7)
    track = rec.track(first.track_id)
    assert (first.name, first.artist, first.year, first.tags, first.preview_url, first.n_listeners) == \
        (track.name, track.artist, track.year, track.tags, track.preview_url, track.n_listeners)
    assert first.artist == "The Killers" and first.year == 2004 and first.tags == ("rock", "indie", "00s")


# --------------------------------------------------------------------------
# Several seeds and listeners
# --------------------------------------------------------------------------

def test_recommend_for_tracks_blends_several_seeds_equally(rec):
    seeds = [0, 4]
    for alpha in (0.0, 0.5, 1.0):
        recs = rec.recommend_for_tracks([tid(s) for s in seeds], k=8, alpha=alpha)
        assert len(recs) == 8 and not set(ids(recs)) & {tid(0), tid(4)}
        content, collab = expected_components(rec, {0: 1.0, 4: 1.0})
        assert_matches_formula(recs, alpha, content, collab)
        assert_deterministically_sorted(recs)
    top = numbers(rec.recommend_for_tracks([tid(0), tid(4)], k=4, alpha=1.0))
    assert {1, 7} & set(top) and {5, 8} & set(top)  # both styles are served


def test_recommend_for_tracks_ignores_seed_order_and_repeats(rec):
    a = rec.recommend_for_tracks([tid(0), tid(4)], k=5)
    assert rec.recommend_for_tracks([tid(4), tid(0)], k=5) == a
    assert rec.recommend_for_tracks((t for t in [tid(4), tid(0), tid(4)]), k=5) == a
    assert rec.recommend_for_tracks([tid(3)], k=5, alpha=0.3) == rec.recommend(tid(3), k=5, alpha=0.3)


def test_recommend_for_user_weights_the_history_and_skips_played_tracks(rec):
    for user in (1, 3, 6):
        played = set(HISTORY[user])
        weights = {t: 1 + math.log(c) for t, c in HISTORY[user].items()}
        for alpha in (0.0, 0.5, 1.0):
            recs = rec.recommend_for_user(uid(user), k=10, alpha=alpha)
            assert len(recs) == N_TRACKS - len(played)
            assert not played & set(numbers(recs))
            content, collab = expected_components(rec, weights)
            assert_matches_formula(recs, alpha, content, collab)
            assert_deterministically_sorted(recs)


def test_a_rock_listener_gets_rock_and_an_electronic_listener_electronic(rec):
    assert numbers(rec.recommend_for_user(uid(1), k=1, alpha=1.0)) == [7]
    assert set(numbers(rec.recommend_for_user(uid(6), k=1, alpha=1.0))) == {8}


# --------------------------------------------------------------------------
# explain
# --------------------------------------------------------------------------

def test_explain_gives_every_documented_field(rec):
    e = rec.explain(tid(0), tid(2))
    assert e.seed.track_id == tid(0) and e.track.track_id == tid(2)
    assert e.shared_tags == ("rock", "indie")
    assert e.shared_listeners == 2                               # u1 and u3
    assert e.seed_audio == {"energy": 0.92, "valence": 0.24}
    assert e.track_audio == {"energy": 0.85, "valence": 0.50}
    assert list(e.content_by_block) == rec.content_blocks
    assert sum(e.content_by_block.values()) == pytest.approx(e.content_similarity, abs=1e-9)
    assert e.content_by_block["artist"] == 0.0                   # other artist
    assert e.content_by_block["era"] == pytest.approx(rec.manifest["content"]["blocks"][3]["weight"], abs=1e-6)
    assert 0 < e.collab_similarity <= 1


def test_explain_matches_the_engine_computed_from_the_csv_rows(rec):
    # The build must not distort content: compare with ContentFeatures on the raw rows.
    frame = catalogue_frame(small_catalogue())
    index = ContentFeatures().fit(frame).transform_index(frame)
    assert rec.content_blocks == index.block_names
    for i in range(N_TRACKS):
        for j in range(N_TRACKS):
            parts = rec.explain(tid(i), tid(j)).content_by_block
            assert parts == pytest.approx(index.similarity_by_block(i, j), abs=1e-6)


def test_explain_counts_shared_listeners_and_handles_missing_data(rec):
    assert rec.explain(tid(0), tid(1)).shared_listeners == 2     # u1, u2
    assert rec.explain(tid(0), tid(9)).shared_listeners == 1     # u2
    assert rec.explain(tid(0), tid(4)).shared_listeners == 0
    e = rec.explain(tid(0), tid(9))                              # 9 has no tags, year or audio
    assert e.shared_tags == () and e.track_audio == {} and e.track.year is None
    assert e.content_by_block["tags"] == 0.0 and e.content_by_block["era"] == 0.0
    cold = rec.explain(tid(7), tid(0))
    assert cold.shared_listeners == 0 and cold.shared_tags == ("rock", "indie", "00s")
    # 7 has no listeners: its listening similarity to 0 is estimated from its neighbours, 0 first.
    assert cold.collab_similarity > 0 and cold.estimated_from[0].track_id == tid(0)
    assert rec.explain(tid(0), tid(1)).estimated_from == ()


def test_explain_collab_similarity_equals_the_dense_computation(rec):
    from tests.test_collaborative import reference_similarity, reference_weighting

    plays = np.zeros((N_TRACKS, 6))
    for t, u, c in SMALL_PLAYS:
        plays[t, u - 1] = c
    params = rec.manifest["collaborative"]["params"]
    measured = reference_similarity(reference_weighting(params["weighting"], plays), params["similarity"],
                                    beta=params["beta"])
    rows = catalogue_frame(small_catalogue())
    X = ContentFeatures().fit(rows).transform(rows).astype(np.float64)
    cold = rec.scorer.cold
    table = checked_neighbours({int(j): cold.neighbours_of(int(j)) for j in cold.rows_}, (X @ X.T).toarray(),
                               (plays > 0).sum(axis=1), cold.n_neighbours)
    expected = collab_with_cold(measured, table)
    for i in range(N_TRACKS):
        for j in range(N_TRACKS):
            assert rec.explain(tid(i), tid(j)).collab_similarity == pytest.approx(expected[i, j], abs=1e-6)


# --------------------------------------------------------------------------
# Alpha views
# --------------------------------------------------------------------------

def test_rank_by_alpha_and_alpha_sweep_agree_with_recommend(rec):
    alphas = (0.0, 0.25, 0.5, 0.75, 1.0)
    sweep = rec.alpha_sweep(tid(3), k=4, alphas=alphas)
    for a, ranking in zip(alphas, sweep.ranking):
        assert list(ranking) == ids(rec.recommend(tid(3), k=4, alpha=a))
    for j in range(N_TRACKS):
        ranks = rec.rank_by_alpha(tid(3), tid(j), alphas)
        for a, rank in zip(alphas, ranks):
            full = ids(rec.recommend(tid(3), k=9, alpha=a))
            assert rank == (None if j == 3 else full.index(tid(j)) + 1)
    assert sweep.overlap_with(0.0)[0] == 1.0 and len(sweep.overlap_with(0.5)) == len(alphas)


# --------------------------------------------------------------------------
# search and lookups
# --------------------------------------------------------------------------

def search_numbers(rec, text, limit=20):
    return [int(t.track_id[-12:]) for t in rec.search(text, limit)]


def test_search_ranks_exact_then_prefix_then_substring_before_popularity(rec):
    # "Bright" (1 listener) is exact, "Bright (Demo)" (cold) a prefix, "Mr. Brightside" (3) a substring.
    assert search_numbers(rec, "bright") == [9, 7, 0]
    assert search_numbers(rec, "BRIGHT (demo)") == [7]
    assert search_numbers(rec, "  mr.   BRIGHTSIDE ") == [0]  # spaces collapse like the catalogue's


def test_search_is_case_insensitive_and_ranks_equal_matches_by_listeners(rec):
    assert search_numbers(rec, "the killers") == [0, 1, 7]       # 3, 2, 0 listeners
    assert search_numbers(rec, "DAFT") == [4, 5]                   # artist prefix; 3, 2 listeners
    assert search_numbers(rec, "daft punk", limit=1) == [4]


@pytest.mark.parametrize(("text", "expected"), [
    ("(", [7]), ("*", [8]), ("[a-", [8]), ("[a-z]", [8]), ("star* [", [8]),
    (".", [0]),          # a literal dot, not "any character"
    ("e.*", []), ("^mr", []), ("side$", []),
])
def test_search_treats_regex_characters_literally(rec, text, expected):
    assert search_numbers(rec, text) == expected


def test_search_of_blank_text_is_empty_and_limits_are_checked(rec):
    assert rec.search("") == [] and rec.search("   ") == []
    assert len(rec.search("e", limit=2)) == 2
    with pytest.raises(InvalidParameterError, match="limit"):
        rec.search("e", limit=0)
    with pytest.raises(InvalidParameterError, match="None"):
        rec.search(None)


def test_track_lookup_and_listening_history(rec):
    t = rec.track(tid(0))
    assert (t.name, t.artist, t.year, t.tags, t.n_listeners, t.n_plays) == \
        ("Mr. Brightside", "The Killers", 2004, ("rock", "indie", "00s"), 3, 8)
    assert t.audio == {"energy": 0.92, "valence": 0.24}
    history = rec.user_history(uid(1))
    assert [(int(tr.track_id[-12:]), n) for tr, n in history] == [(0, 5), (1, 3), (2, 1)]
    assert len(rec.user_history(uid(1), limit=2)) == 2


def test_users_prefix_search(rec):
    everyone = [uid(n) for n in range(1, 7)]
    assert rec.search_users("0" * 39) == everyone
    assert rec.search_users("0" * 39, limit=2) == everyone[:2]
    assert rec.search_users(uid(3)) == [uid(3)]
    assert rec.search_users("0" * 39 + "9") == []
    assert rec.search_users("f") == [] and rec.search_users("") == []
    assert rec.random_active_user(seed=1, min_tracks=3) in {uid(1), uid(2), uid(3), uid(6)}
    assert rec.random_active_user(seed=1, min_tracks=3) == rec.random_active_user(seed=1, min_tracks=3)


def test_manifest_counts_and_defaults(rec):
    m = rec.manifest
    assert m["counts"] == {"tracks": 10, "users": 6, "rows": 16, "cold_tracks": 2}
    assert m["statistics"]["plays"] == sum(c for *_, c in SMALL_PLAYS)
    assert rec.default_alpha == 0.5 and rec.version == m["version"]
    assert "genre" in m["content"]["absent_blocks"]


# --------------------------------------------------------------------------
# Errors name the bad value
# --------------------------------------------------------------------------

def test_no_alpha_means_the_builds_alpha(rec):
    alpha = rec.default_alpha
    assert alpha == rec.manifest["defaults"]["alpha"]
    assert rec.recommend(tid(0)) == rec.recommend(tid(0), alpha=alpha)
    assert rec.recommend_for_tracks([tid(0), tid(4)]) == rec.recommend_for_tracks([tid(0), tid(4)], alpha=alpha)
    assert rec.recommend_for_user(uid(1)) == rec.recommend_for_user(uid(1), alpha=alpha)


@pytest.mark.parametrize("alpha", [1.3, -0.1, float("nan"), "0.5", True, float("inf")])
def test_alpha_outside_zero_one_is_refused_by_value(rec, alpha):
    for call in (lambda: rec.recommend(tid(0), alpha=alpha),
                 lambda: rec.recommend_for_tracks([tid(0)], alpha=alpha),
                 lambda: rec.recommend_for_user(uid(1), alpha=alpha),
                 lambda: rec.rank_by_alpha(tid(0), tid(1), [alpha]),
                 lambda: rec.alpha_sweep(tid(0), alphas=[0.5, alpha])):
        with pytest.raises(InvalidParameterError, match="alpha") as error:
            call()
        assert isinstance(error.value, ValueError)
        assert repr(alpha) in str(error.value)


@pytest.mark.parametrize("k", [0, -3, 2.5, 2.0, "10", True, None])
def test_k_that_is_not_a_positive_integer_is_refused_by_value(rec, k):
    for call in (lambda: rec.recommend(tid(0), k=k),
                 lambda: rec.recommend_for_tracks([tid(0)], k=k),
                 lambda: rec.recommend_for_user(uid(1), k=k),
                 lambda: rec.alpha_sweep(tid(0), k=k)):
        with pytest.raises(InvalidParameterError, match="k ") as error:
            call()
        assert repr(k) in str(error.value)


def test_numpy_numbers_are_accepted(rec):
    assert len(rec.recommend(tid(0), k=np.int64(3), alpha=np.float64(0.5))) == 3
    assert rec.recommend(tid(0), k=np.int32(3), alpha=np.float32(1.0)) == rec.recommend(tid(0), k=3, alpha=1.0)


@pytest.mark.parametrize("bad", ["TRNOTINTHECATALOG", "", "trtest000000000000", 7, None])
def test_unknown_track_ids_are_refused_by_value(rec, bad):
    for call in (lambda: rec.recommend(bad), lambda: rec.recommend_for_tracks([tid(0), bad]),
                 lambda: rec.explain(bad, tid(0)), lambda: rec.explain(tid(0), bad),
                 lambda: rec.track(bad), lambda: rec.rank_by_alpha(tid(0), bad),
                 lambda: rec.alpha_sweep(bad)):
        with pytest.raises(UnknownTrackError) as error:
            call()
        assert isinstance(error.value, KeyError) and isinstance(error.value, RecommenderError)
        assert repr(bad) in str(error.value)


@pytest.mark.parametrize("bad", ["nobody", uid(99), "", 5, None])
def test_unknown_user_ids_are_refused_by_value(rec, bad):
    for call in (lambda: rec.recommend_for_user(bad), lambda: rec.user_history(bad)):
        with pytest.raises(UnknownUserError) as error:
            call()
        assert isinstance(error.value, KeyError)
        assert repr(bad) in str(error.value)


def test_an_empty_or_malformed_seed_list_is_refused(rec):
    with pytest.raises(InvalidParameterError, match="empty"):
        rec.recommend_for_tracks([])
    with pytest.raises(InvalidParameterError, match=tid(0)):
        rec.recommend_for_tracks(tid(0))  # a string, not a list of ids
    with pytest.raises(InvalidParameterError, match="None"):
        rec.recommend_for_tracks(None)


# --------------------------------------------------------------------------
# Many exact ties: every list against a brute-force oracle
# --------------------------------------------------------------------------
#
# 240 tracks in pairs of content twins (identical metadata); a third of the pairs
# also share their listeners and play counts, the others differ in popularity;
# the last 30 tracks are cold. Scores tie exactly and often, so the ranking's
# tie-breaks and "exactly the top k" are put to work.

N_TWINS = 240


def twins_data():
    rng = np.random.default_rng(3)
    tag_sets = ["rock", "rock, indie", "pop", "pop, dance", "jazz", "jazz, blues", "metal", "house, dance"]
    rows = []
    for n in range(N_TWINS):
        base = n // 2
        rows.append(track(n, f"Twin {n}", f"Artist {base % 12}", tag_sets[base % 8], year=1990 + base % 7,
                          energy=round(0.1 + (base % 9) / 10, 2), key=base % 3, mode=base % 2,
                          time_signature=4))
    plays = {}
    for user in range(60):
        liked = rng.choice(8, size=2, replace=False)
        for n in rng.choice([n for n in range(N_TWINS - 30) if (n // 2) % 8 in liked], size=12, replace=False):
            plays[(int(n), user)] = int(rng.integers(1, 9))
    for (n, user), count in list(plays.items()):
        if n % 2 == 0 and (n // 2) % 3 == 0:  # the twin gets the same listeners
            plays[(n + 1, user)] = count
        if n % 2 == 1 and (n // 2) % 3 == 0 and (n - 1, user) not in plays:
            del plays[(n, user)]
    return rows, plays


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    from tests.helpers import write_raw
    from tests.test_collaborative import reference_similarity, reference_weighting

    rows, plays = twins_data()
    root = tmp_path_factory.mktemp("twins")
    write_raw(root / "raw", rows, [(tid(n), uid(u), c) for (n, u), c in sorted(plays.items())])
    refresh(root / "raw", root / "artifacts")
    rec = Recommender.load(root / "artifacts")
    X = ContentFeatures().fit(catalogue_frame(rows)).transform(catalogue_frame(rows)).astype(np.float64)
    matrix = np.zeros((N_TWINS, 60))
    for (n, u), c in plays.items():
        matrix[n, u] = c
    params = rec.manifest["collaborative"]["params"]
    measured = reference_similarity(reference_weighting(params["weighting"], matrix), params["similarity"],
                                    beta=params["beta"])
    listeners = (matrix > 0).sum(axis=1)
    content = (X @ X.T).toarray()
    cold = rec.scorer.cold
    table = checked_neighbours({int(j): cold.neighbours_of(int(j)) for j in cold.rows_}, content, listeners,
                               cold.n_neighbours)
    return rec, content, collab_with_cold(measured, table), listeners, matrix


def oracle(content, collab, seed_weights: dict, excluded, alpha):
    """Documented scores of every candidate (tests.oracle), computed densely."""
    return hybrid_scores(content, collab, seed_weights, excluded, alpha)


def assert_top_k(recs, k, scores, candidates, listeners) -> int:
    """The list is exactly the top k of the oracle's scores, tie-broken as documented; returns the ties seen.

    The engine stores float32 arrays: scores agree with the float64 oracle to 1e-6.
    """
    assert len(recs) == min(k, candidates.sum())
    rows = numbers(recs)
    assert all(candidates[rows])
    for r, row in zip(recs, rows):
        assert r.score == pytest.approx(scores[row], abs=1e-6)
        assert r.n_listeners == listeners[row]
    ties = 0
    for a, b in itertools.pairwise(recs):
        assert a.score >= b.score - 1e-12
        if a.score == b.score:
            ties += 1
            assert (-a.n_listeners, int(a.track_id[-12:])) < (-b.n_listeners, int(b.track_id[-12:]))
    left_out = candidates.copy()
    left_out[rows] = False
    assert not left_out.any() or scores[left_out].max() <= recs[-1].score + 1e-6
    return ties


def test_recommend_returns_exactly_the_top_k_with_documented_tie_breaks(twins):
    rec, content, collab, listeners, _ = twins
    ties = 0
    for seed in list(range(0, N_TWINS, 17)) + [N_TWINS - 1, N_TWINS - 2]:  # includes cold seeds
        for alpha in (0.0, 0.3, 0.5, 1.0):
            scores, candidates = oracle(content, collab, {seed: 1.0}, (), alpha)
            for k in (1, 7, 40):
                ties += assert_top_k(rec.recommend(tid(seed), k=k, alpha=alpha), k, scores, candidates, listeners)
    assert ties > 50  # the catalogue really does tie


def test_several_seeds_and_users_return_exactly_the_top_k(twins):
    rec, content, collab, listeners, matrix = twins
    for seeds in ([0, 1], [3, 50, 211], [230, 231, 100]):
        for alpha in (0.0, 0.5, 1.0):
            scores, candidates = oracle(content, collab, {s: 1.0 for s in seeds}, (), alpha)
            assert_top_k(rec.recommend_for_tracks([tid(s) for s in seeds], k=25, alpha=alpha), 25,
                         scores, candidates, listeners)
    for user in (0, 7, 33, 59):
        history = {int(n): 1 + math.log(matrix[n, user]) for n in np.flatnonzero(matrix[:, user])}
        for alpha in (0.0, 0.5, 1.0):
            scores, candidates = oracle(content, collab, history, history, alpha)
            assert_top_k(rec.recommend_for_user(uid(user), k=25, alpha=alpha), 25, scores, candidates, listeners)


# --------------------------------------------------------------------------
# The demo data set, end to end
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Generate the demo data once, write its CSVs, build and load (about 15 s)."""
    from build import demo_data

    root = tmp_path_factory.mktemp("demo")
    data = demo_data.generate("demo", seed=42)
    demo_data.write(data, root / "raw")
    refresh(root / "raw", root / "artifacts")
    style_of = dict(zip(data.tracks["track_id"], data.truth.track_style.tolist()))
    return Recommender.load(root / "artifacts"), style_of, data


def style_agreement(rec, style_of, seeds, alpha, k=10) -> float:
    same = total = 0
    for seed in seeds:
        recs = rec.recommend(seed, k=k, alpha=alpha)
        assert len(recs) == k and seed not in ids(recs)
        same += sum(style_of[r.track_id] == style_of[seed] for r in recs)
        total += len(recs)
    return same / total


@pytest.mark.slow
def test_demo_recommendations_share_the_seeds_latent_style(demo):
    rec, style_of, _ = demo
    styles = np.array(list(style_of.values()))
    chance = float(((np.bincount(styles) / len(styles)) ** 2).sum())
    rng = np.random.default_rng(0)
    warm = rec.tracks.loc[rec.tracks["n_listeners"] >= 5, "track_id"].to_numpy()
    seeds = rng.choice(warm, size=60, replace=False).tolist()
    content_only = style_agreement(rec, style_of, seeds, alpha=1.0)
    collab_only = style_agreement(rec, style_of, seeds, alpha=0.0)
    hybrid = style_agreement(rec, style_of, seeds, alpha=0.5)
    assert chance < 0.06  # 28 styles
    assert content_only > 0.6 and collab_only > 0.6 and hybrid > 0.6  # > 10x chance


@pytest.mark.slow
def test_demo_cold_tracks_get_recommendations_in_style(demo):
    rec, style_of, _ = demo
    cold = rec.tracks.loc[rec.tracks["n_listeners"] == 0, "track_id"].to_numpy()
    assert len(cold) > 0
    seeds = cold[:30].tolist()
    for seed in seeds:  # a cold seed's listening side comes from its content neighbours
        assert any(r.collab_score > 0.0 for r in rec.recommend(seed, k=10, alpha=0.5))
    assert style_agreement(rec, style_of, seeds, alpha=0.5) > 0.5


@pytest.mark.slow
def test_demo_never_played_tracks_reach_warm_seeds_lists(demo):
    rec, style_of, _ = demo
    rng = np.random.default_rng(1)
    warm = rec.tracks.loc[rec.tracks["n_listeners"] >= 5, "track_id"].to_numpy()
    seeds = rng.choice(warm, size=30, replace=False).tolist()
    lists = [rec.recommend(seed, k=10) for seed in seeds]
    new = [r for recs in lists for r in recs if r.is_new]
    assert 0.05 < len(new) / (10 * len(seeds)) < 0.9  # present at the defaults, not the whole list
    assert np.mean([style_of[r.track_id] == style_of[seed] for seed, recs in zip(seeds, lists)
                    for r in recs if r.is_new]) > 0.5  # and in the seed's style


@pytest.mark.slow
def test_demo_users_get_unplayed_tracks_from_their_tastes(demo):
    rec, style_of, data = demo
    taste = data.truth.user_taste
    user_codes = dict(zip(data.listens["user_id"].cat.categories, range(len(data.listens["user_id"].cat.categories))))
    in_taste = total = 0
    for n in range(20):
        user = rec.random_active_user(seed=n, min_tracks=20)
        played = {t.track_id for t, _ in rec.user_history(user, limit=100_000)}
        recs = rec.recommend_for_user(user, k=10, alpha=0.5)
        assert len(recs) == 10 and not played & set(ids(recs))
        liked = set(np.flatnonzero(taste[user_codes[user]] >= 0.2).tolist())
        in_taste += sum(style_of[r.track_id] in liked for r in recs)
        total += len(recs)
    assert in_taste / total > 0.6


@pytest.mark.slow
def test_demo_manifest_and_search(demo):
    rec, _, data = demo
    m = rec.manifest
    assert m["counts"]["tracks"] == len(data.tracks)
    assert m["counts"]["rows"] == len(data.listens)
    assert m["counts"]["cold_tracks"] > 0
    assert m["cleaning"]["catalogue"]["duplicate_spotify_id"] > 0
    name = rec.tracks["name"].iloc[0]
    assert rec.tracks["track_id"].iloc[0] in [t.track_id for t in rec.search(name.upper(), limit=50)]


@pytest.mark.slow
def test_precomputed_heavy_rows_give_exactly_what_gathering_through_listeners_gives(demo):
    rec, _, _ = demo
    collab, content = rec.scorer.collab, rec.scorer.content
    cost = gather_cost(collab.left_, collab.right_)
    heavy = HeavyRows(min_entries=int(np.median(cost[cost > 0])), max_rows=2000).fit(collab)
    assert 100 < len(heavy.seeds_) <= 2000
    for slot, seed in enumerate(heavy.seeds_[:50].tolist()):
        exact = collab.scores([seed])
        assert np.array_equal(heavy.row(slot), exact)
        for column in np.flatnonzero(exact)[:5].tolist() + [int(np.argmin(exact))]:
            assert heavy.value(slot, column) == exact[column]
    cached = HybridScorer(content, collab, rec.scorer.popularity, heavy)
    gathered = HybridScorer(content, collab, rec.scorer.popularity, None)
    rng = np.random.default_rng(3)
    queries = [[int(s)] for s in heavy.seeds_[:20]]  # single heavy seeds
    queries += [rng.choice(len(cost), 12, replace=False).tolist() for _ in range(20)]  # mixed sets
    for seeds in queries:
        weights = rng.uniform(1.0, 3.0, len(seeds))
        mine = cached.top_scored(cached.raw_scores(seeds, weights), 0.5, 10)
        theirs = gathered.top_scored(gathered.raw_scores(seeds, weights), 0.5, 10)
        assert mine[0].tolist() == theirs[0].tolist(), seeds
        np.testing.assert_allclose(mine[1], theirs[1], rtol=0, atol=1e-12)
