"""Specification of ``engine.hybrid``: the production scorer (``raw_scores`` + ``top_scored``,
what every query runs) against the independent brute-force oracle of ``tests.oracle``.

The scorer is built from the ten-track catalogue of ``tests.helpers`` (tracks 7
and 8 have no listeners) and, for the larger checks, a random catalogue; the
oracle recomputes the documented formula from dense matrices: min-max
normalisation over the candidates, the alpha blend, cold tracks through their
content neighbours, and the order (score, then listeners, then catalogue position).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from engine.cold_start import ContentNeighbours
from engine.collaborative import CollaborativeModel
from engine.content import ContentFeatures
from engine.hybrid import CONSTANT_RANGE, HybridScorer, component_range
from tests import oracle
from tests.helpers import SMALL_PLAYS, catalogue_frame, small_catalogue
from tests.test_collaborative import reference_similarity, reference_weighting

PARAMS = {"weighting": "log", "similarity": "cosine"}


def world(frame: pd.DataFrame, plays: sp.csr_matrix, n_neighbours: int = 3):
    """``(scorer, content, collab, listeners)``: the production scorer and the oracle's dense matrices."""
    features = ContentFeatures().fit(frame)
    index = features.transform_index(frame)
    listeners = np.diff(plays.indptr)
    model = CollaborativeModel(**PARAMS).fit(plays)
    cold = ContentNeighbours(n_neighbours, n_threads=1).fit(index, listeners)
    scorer = HybridScorer(index, model, listeners, cold=cold).prepare()
    X = features.transform(frame).astype(np.float64)
    content = (X @ X.T).toarray()
    measured = reference_similarity(reference_weighting(PARAMS["weighting"], plays.toarray()), "cosine")
    table = oracle.checked_neighbours({int(j): cold.neighbours_of(int(j)) for j in cold.rows_}, content,
                                      listeners, n_neighbours)
    return scorer, content, oracle.collab_with_cold(measured, table), listeners


@pytest.fixture(scope="module")
def small():
    frame = catalogue_frame(small_catalogue())
    tracks, users, counts = zip(*SMALL_PLAYS)
    plays = sp.csr_matrix((np.array(counts, dtype=np.float32), (tracks, users)), shape=(len(frame), 7))
    return world(frame, plays)


@pytest.fixture(scope="module")
def random_world():
    """60 tracks in 6 tag groups, 40 listeners who favour one group each; 12 tracks nobody played."""
    rng = np.random.default_rng(7)
    groups = rng.integers(0, 6, size=60)
    frame = catalogue_frame([{"track_id": f"T{n:03d}", "name": f"Song {n}", "artist": f"A{n % 9}",
                              "tags": f"g{groups[n]}, x{n % 4}", "year": 1990 + n % 20,
                              "energy": float(rng.random()), "danceability": float(rng.random())}
                             for n in range(60)])
    cold = rng.choice(60, size=12, replace=False)
    rows, cols, counts = [], [], []
    for user in range(40):
        liked = np.flatnonzero(groups == user % 6)
        for n in rng.choice(liked, size=min(6, len(liked)), replace=False):
            if n not in cold:
                rows.append(n), cols.append(user), counts.append(int(rng.integers(1, 20)))
    plays = sp.csr_matrix((np.array(counts, dtype=np.float32), (rows, cols)), shape=(60, 40))
    return world(frame, plays, n_neighbours=4)


def production(scorer: HybridScorer, seeds, weights, exclude, alpha: float, k: int):
    raw = scorer.raw_scores(seeds, weights, exclude)
    return scorer.top_scored(raw, alpha, k)


def assert_same_as_oracle(world_, seeds, weights=None, exclude=(), alphas=(0.0, 0.2, 0.5, 0.8, 1.0)):
    scorer, content, collab, listeners = world_
    seed_weights = dict(zip(seeds, np.ones(len(seeds)) if weights is None else weights))
    excluded = set(exclude) | set(seeds)
    n = scorer.n_tracks - len(excluded)
    for alpha in alphas:
        expected, candidates = oracle.hybrid_scores(content, collab, seed_weights, exclude, alpha)
        rows, score, content_part, collab_part = production(scorer, seeds, weights, list(exclude) or None,
                                                            alpha, n)
        assert sorted(rows.tolist()) == np.flatnonzero(candidates).tolist()  # every candidate, nothing else
        np.testing.assert_allclose(score, expected[rows], atol=1e-6)
        np.testing.assert_allclose(score, alpha * content_part + (1 - alpha) * collab_part, atol=1e-12)
        assert (0 <= content_part).all() and (content_part <= 1).all() and (collab_part <= 1).all()
        # The order is the oracle's, except where two scores differ by less than float32 rounding.
        want = oracle.top_k(expected, candidates, listeners, n)
        for a, b in zip(rows.tolist(), want):
            assert a == b or abs(expected[a] - expected[b]) < 1e-6


# --------------------------------------------------------------------------
# The documented formula, through the production path
# --------------------------------------------------------------------------

@pytest.mark.parametrize("seeds", [[0], [3], [4], [9], [0, 5], [0, 1, 9]])
def test_warm_seeds_score_as_the_oracle(small, seeds):
    assert_same_as_oracle(small, seeds)


@pytest.mark.parametrize("seeds", [[7], [8], [7, 8], [7, 2]])
def test_cold_seeds_stand_for_their_content_neighbours(small, seeds):
    assert_same_as_oracle(small, seeds)
    scorer = small[0]
    raw = scorer.raw_scores(seeds)
    assert raw.collab_range is not None  # a listening side, where it used to be constant


def test_weights_and_exclusions_follow_the_formula(small):
    assert_same_as_oracle(small, [0, 1, 9], weights=[5.0, 1.0, 2.0])
    assert_same_as_oracle(small, [0], exclude=(1, 7))


def test_excluded_tracks_do_not_shape_the_normalisation(small):
    scorer = small[0]
    raw = scorer.raw_scores([0], exclude=[1, 7])
    rows, score, content_part, collab_part = scorer.top_scored(raw, 1.0, 10)
    assert not {0, 1, 7} & set(rows.tolist())
    assert content_part.max() == pytest.approx(1.0) and content_part.min() == pytest.approx(0.0)


@pytest.mark.parametrize("seed", range(0, 60, 7))
def test_a_random_catalogue_scores_as_the_oracle(random_world, seed):
    assert_same_as_oracle(random_world, [seed])
    assert_same_as_oracle(random_world, [seed, (seed * 13 + 5) % 60], weights=[2.0, 1.0],
                          exclude=((seed + 1) % 60,))


def test_cold_candidates_compete_on_one_scale(random_world):
    """Never-played tracks reach warm seeds' lists at the blend, not only at alpha = 1."""
    scorer, _, _, listeners = random_world
    cold_in_top = 0
    for seed in np.flatnonzero(listeners > 0)[:20]:
        rows = scorer.top(scorer.raw_scores([int(seed)]), 0.3, 10)
        cold_in_top += int(np.count_nonzero(listeners[rows] == 0))
    assert cold_in_top > 0


def test_without_a_neighbour_table_cold_tracks_score_zero_on_listening(small):
    scorer, *_ = small
    plain = HybridScorer(scorer.content, scorer.collab, scorer.popularity)
    raw = plain.raw_scores([0])
    assert raw.collab_raw[7] == 0.0 and raw.collab_raw[8] == 0.0
    assert scorer.raw_scores([0]).collab_raw[7] > 0.0


# --------------------------------------------------------------------------
# Normalisation and order, by hand
# --------------------------------------------------------------------------

def test_a_constant_component_normalises_to_zero():
    assert component_range(0.3, 0.3) is None
    assert component_range(0.3, 0.3 + CONSTANT_RANGE / 2) is None
    assert component_range(np.inf, -np.inf) is None  # no candidate at all
    assert component_range(0.0, 4.0) == (0.0, 4.0)


def test_ties_are_broken_by_listeners_then_catalogue_order(small):
    scorer, _, _, listeners = small
    rows, score, _, _ = production(scorer, [0], None, None, 0.0, 9)
    tail = rows[score == 0.0].tolist()  # no shared listener and no estimate: all tied at 0
    assert tail == sorted(tail, key=lambda j: (-listeners[j], j)) and len(tail) >= 2


def test_the_rank_of_a_track_agrees_with_the_ranked_list(small):
    scorer = small[0]
    raw = scorer.raw_scores([2])
    alphas = (0.0, 0.25, 0.5, 1.0)
    for alpha in alphas:
        ranking = scorer.top(raw, alpha, scorer.n_tracks).tolist()
        for position, track in enumerate(ranking, start=1):
            assert scorer.ranks_of(raw, [alpha], track) == [position]
    assert scorer.ranks_of(raw, alphas, 2) == [None] * len(alphas)  # the seed is never ranked


def test_a_shorter_list_is_a_prefix_of_a_longer_one(random_world):
    scorer = random_world[0]
    raw = scorer.raw_scores([3, 11])
    full = scorer.top(raw, 0.4, 58).tolist()
    for k in (1, 5, 17):
        assert scorer.top(raw, 0.4, k).tolist() == full[:k]
