"""Specification of ``engine.collaborative``: play-count weightings and exact item-item similarity.

Every weighting is checked against hand values and a dense numpy version of its
documented formula; cosine and rp3beta scores against a dense item x item
computation (which the engine itself never forms).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from engine.collaborative import WEIGHTINGS, CollaborativeModel, bm25_weight, log_weight, raw_weight, tfidf_weight
from engine.errors import InvalidParameterError

# Six tracks x six users. Every listened track's mean play count is 2, so a track's
# "length" is proportional whether it is counted in listeners or in plays.
PLAYS = np.array([
    # u0 u1 u2 u3 u4 u5
    [1, 3, 0, 0, 0, 0],   # track 0
    [2, 0, 0, 0, 0, 0],   # track 1
    [0, 1, 2, 3, 0, 0],   # track 2
    [0, 0, 0, 2, 2, 0],   # track 3
    [0, 0, 0, 0, 0, 0],   # track 4: cold, no listeners
    [0, 0, 1, 0, 3, 2],   # track 5
], dtype=np.float64)
N_TRACKS = PLAYS.shape[0]


def csr(dense) -> sp.csr_matrix:
    return sp.csr_matrix(np.asarray(dense, dtype=np.float32))


def user_idf(plays: np.ndarray) -> np.ndarray:
    """Documented idf of a user: ln(n_tracks) - ln(1 + tracks the user played)."""
    return np.log(plays.shape[0]) - np.log1p((plays > 0).sum(axis=0))


def reference_weighting(name: str, plays: np.ndarray, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    played = plays > 0
    safe = np.where(played, plays, 1.0)
    if name == "raw":
        return plays.copy()
    if name == "log":
        return np.where(played, 1.0 + np.log(safe), 0.0)
    if name == "tfidf":
        return np.sqrt(plays) * user_idf(plays)
    if name == "bm25":
        length = played.sum(axis=1)
        norm = (1 - b) + b * length / length.mean()
        return np.where(played, plays * (k1 + 1) / (k1 * norm[:, None] + plays), 0.0) * user_idf(plays)
    raise AssertionError(name)


def reference_similarity(weighted: np.ndarray, similarity: str, beta: float = 0.5) -> np.ndarray:
    """Dense (n_tracks, n_tracks) item-item similarity of the documented formulas."""
    if similarity == "cosine":
        norms = np.linalg.norm(weighted, axis=1, keepdims=True)
        unit = np.divide(weighted, norms, out=np.zeros_like(weighted), where=norms > 0)
        return unit @ unit.T
    track_totals = weighted.sum(axis=1, keepdims=True)
    p_user_given_track = np.divide(weighted, track_totals, out=np.zeros_like(weighted), where=track_totals > 0)
    user_totals = weighted.sum(axis=0, keepdims=True)
    p_track_given_user = np.divide(weighted, user_totals, out=np.zeros_like(weighted), where=user_totals > 0)
    popularity = (weighted != 0).sum(axis=1).astype(float)
    penalty = np.divide(1.0, popularity ** beta, out=np.zeros_like(popularity), where=popularity > 0)
    return (p_user_given_track @ p_track_given_user.T) * penalty[None, :]


# --------------------------------------------------------------------------
# Weightings
# --------------------------------------------------------------------------

def test_weightings_by_hand():
    idf_u1 = math.log(6) - math.log(3)        # user 1 played 2 tracks
    assert raw_weight(csr(PLAYS))[0, 1] == 3.0
    assert log_weight(csr(PLAYS))[0, 1] == pytest.approx(1 + math.log(3))
    assert log_weight(csr(PLAYS))[0, 0] == pytest.approx(1.0)  # one play counts 1
    assert tfidf_weight(csr(PLAYS))[0, 1] == pytest.approx(math.sqrt(3) * idf_u1, rel=1e-6)
    # BM25 of track 0 (2 listeners; mean over tracks 11/6): saturating count times idf.
    norm = 0.25 + 0.75 * 2 / (11 / 6)
    assert bm25_weight(csr(PLAYS))[0, 1] == pytest.approx(3 * 2.2 / (1.2 * norm + 3) * idf_u1, rel=1e-6)


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_each_weighting_matches_its_formula(name):
    weighted = WEIGHTINGS[name](csr(PLAYS))
    assert sp.isspmatrix_csr(weighted) and weighted.dtype == np.float32
    assert weighted.shape == PLAYS.shape
    np.testing.assert_allclose(weighted.toarray(), reference_weighting(name, PLAYS), rtol=1e-6, atol=1e-7)
    # A weighting reweights the plays that exist and invents none.
    assert set(zip(*weighted.nonzero())) <= set(zip(*PLAYS.nonzero()))


@pytest.mark.parametrize("name", ["log", "bm25", "tfidf"])
def test_weightings_damp_repeated_plays(name):
    # Three one-track listeners of track 0 with 1, 10 and 100 plays; nine more tracks
    # so that every user's idf is positive.
    counts = np.zeros((10, 3))
    counts[0] = [1, 10, 100]
    weighted = WEIGHTINGS[name](csr(counts)).toarray()[0]
    assert weighted[0] < weighted[1] < weighted[2]
    assert weighted[2] / weighted[0] < 11  # raw would be 100


def test_weightings_do_not_modify_their_input():
    plays = csr(PLAYS)
    before = plays.toarray().copy()
    for function in WEIGHTINGS.values():
        function(plays)
    np.testing.assert_array_equal(plays.toarray(), before)


# --------------------------------------------------------------------------
# Similarities by hand
# --------------------------------------------------------------------------

def test_cosine_by_hand():
    #              u0 u1 u2
    plays = csr([[1, 1, 0],    # A
                 [1, 0, 0],    # B
                 [0, 1, 1]])   # C
    model = CollaborativeModel(weighting="raw", similarity="cosine").fit(plays)
    assert model.scores([0]) == pytest.approx([1.0, 1 / math.sqrt(2), 0.5])
    assert model.scores([1]) == pytest.approx([1 / math.sqrt(2), 1.0, 0.0])
    assert model.similarity_pair(2, 0) == pytest.approx(0.5)


def test_rp3beta_by_hand():
    # s(i, j) = sum_u P(u|i) P(j|u) / popularity(j) ** beta
    plays = csr([[1, 1, 0],    # A: P(u0|A) = P(u1|A) = 1/2
                 [1, 0, 0],    # B
                 [0, 1, 1]])   # C
    model = CollaborativeModel(weighting="raw", similarity="rp3beta", beta=0.5).fit(plays)
    # P(A|u0) = P(B|u0) = 1/2, P(A|u1) = P(C|u1) = 1/2, popularity A = C = 2, B = 1.
    assert model.scores([0]) == pytest.approx([0.5 / math.sqrt(2), 0.25, 0.25 / math.sqrt(2)])
    no_penalty = CollaborativeModel(weighting="raw", similarity="rp3beta", beta=0.0).fit(plays)
    assert no_penalty.scores([0]) == pytest.approx([0.5, 0.25, 0.25])
    assert no_penalty.scores([0]).sum() == pytest.approx(1.0)  # a random walk's probabilities


def test_shared_listeners_by_hand():
    model = CollaborativeModel(weighting="log").fit(csr(PLAYS))
    assert model.shared_listeners(0, 2) == 1      # u1
    assert model.shared_listeners(2, 3) == 1      # u3
    assert model.shared_listeners(0, 1) == 1      # u0
    assert model.shared_listeners(2, 2) == 3
    assert model.shared_listeners(0, 4) == 0      # cold track
    assert model.shared_listeners(0, 3) == 0


# --------------------------------------------------------------------------
# Exact scores against a dense computation
# --------------------------------------------------------------------------

@pytest.mark.parametrize("similarity", ["cosine", "rp3beta"])
@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_scores_equal_the_dense_item_item_similarity(weighting, similarity):
    model = CollaborativeModel(weighting=weighting, similarity=similarity, beta=0.7).fit(csr(PLAYS))
    expected = reference_similarity(reference_weighting(weighting, PLAYS), similarity, beta=0.7)
    for seed in range(N_TRACKS):
        np.testing.assert_allclose(model.scores([seed]), expected[seed], rtol=1e-5, atol=1e-6)
    # Several weighted seeds sharing listeners: the weighted sum of their rows.
    seeds, weights = [0, 2, 5], np.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(model.scores(seeds, weights), weights @ expected[seeds], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.scores(seeds), expected[seeds].sum(axis=0), rtol=1e-5, atol=1e-6)


def test_scores_on_a_random_matrix_equal_the_dense_computation():
    rng = np.random.default_rng(7)
    plays = rng.integers(1, 50, size=(40, 60)) * (rng.random((40, 60)) < 0.15)
    plays[5] = 0  # a cold track
    for weighting in WEIGHTINGS:
        for similarity in ("cosine", "rp3beta"):
            model = CollaborativeModel(weighting=weighting, similarity=similarity).fit(csr(plays))
            expected = reference_similarity(reference_weighting(weighting, plays.astype(float)), similarity)
            seeds = [0, 3, 5, 17]
            weights = np.array([1.0, 2.0, 0.5, 1.5])
            np.testing.assert_allclose(model.scores(seeds, weights), weights @ expected[seeds],
                                       rtol=1e-4, atol=1e-6, err_msg=f"{weighting}/{similarity}")


def test_cosine_of_a_track_with_itself_is_one_and_cold_tracks_score_zero():
    model = CollaborativeModel(weighting="bm25", similarity="cosine").fit(csr(PLAYS))
    for seed in (0, 1, 2, 3, 5):
        assert model.scores([seed])[seed] == pytest.approx(1.0, abs=1e-6)
        assert model.scores([seed])[4] == 0.0
    cold = model.scores([4])  # a cold seed: no listeners to walk through
    assert cold.shape == (N_TRACKS,) and cold.dtype == np.float64 and not cold.any()


@pytest.mark.parametrize("similarity", ["cosine", "rp3beta"])
def test_no_nan_with_cold_tracks_and_users_without_plays(similarity):
    plays = np.zeros((4, 5))
    plays[0, 1] = plays[1, 1] = 3  # users 0, 2, 3, 4 never played anything; tracks 2, 3 cold
    model = CollaborativeModel(weighting="bm25", similarity=similarity).fit(csr(plays))
    for seed in range(4):
        assert np.isfinite(model.scores([seed])).all()
    assert np.isfinite(model.left_.data).all() and np.isfinite(model.right_.data).all()


def test_a_heavy_listener_no_longer_dominates_once_weighted():
    # One listener played A and B 500 times each; twenty listeners each played A and C
    # once; seven more tracks nobody played. By raw counts B is as similar to A as A
    # itself and C hardly at all; every weighting gives C at least 10 times more
    # weight relative to B.
    plays = np.zeros((10, 21))
    plays[0, 0] = plays[1, 0] = 500
    plays[0, 1:] = plays[2, 1:] = 1
    raw = CollaborativeModel(weighting="raw").fit(csr(plays)).scores([0])
    assert raw[1] > 0.99 and raw[2] < 0.01
    for weighting in ("log", "bm25", "tfidf"):
        weighted = CollaborativeModel(weighting=weighting).fit(csr(plays)).scores([0])
        assert weighted[2] / weighted[1] > 10 * raw[2] / raw[1], weighting


def test_fitted_matrices_are_compact_csr_with_the_play_pattern():
    model = CollaborativeModel(weighting="bm25", similarity="rp3beta").fit(csr(PLAYS))
    for matrix in (model.left_, model.right_):
        assert sp.isspmatrix_csr(matrix) and matrix.dtype == np.float32
        assert matrix.indices.dtype == np.int32
    assert model.left_.shape == (6, 6) and model.right_.shape == (6, 6)
    pattern = csr(PLAYS).T.tocsr()
    pattern.sort_indices()
    np.testing.assert_array_equal(model.right_.indices, pattern.indices)
    np.testing.assert_array_equal(model.right_.indptr, pattern.indptr)


def test_a_model_around_stored_matrices_scores_the_same():
    model = CollaborativeModel(weighting="log", similarity="cosine").fit(csr(PLAYS))
    again = CollaborativeModel.from_matrices(model.left_.copy(), model.right_.copy(),
                                             weighting="log", similarity="cosine", beta=0.5)
    assert again.n_tracks == N_TRACKS
    for seed in range(N_TRACKS):
        np.testing.assert_array_equal(again.scores([seed]), model.scores([seed]))


# --------------------------------------------------------------------------
# Parameter checks
# --------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "bad"), [
    ({"weighting": "sqrt"}, "sqrt"),
    ({"similarity": "jaccard"}, "jaccard"),
])
def test_unknown_weighting_or_similarity_is_refused_by_name(params, bad):
    with pytest.raises(InvalidParameterError, match=bad):
        CollaborativeModel(**params).fit(csr(PLAYS))


def test_dense_plays_are_refused():
    with pytest.raises(InvalidParameterError, match="sparse"):
        CollaborativeModel().fit(PLAYS)


def test_models_sharing_weightings_are_the_models_fitted_alone():
    """An evaluation fits many models on one play matrix: shared weightings change nothing."""
    rng = np.random.default_rng(4)
    plays = sp.csr_matrix(np.where(rng.random((30, 20)) < 0.3, rng.integers(1, 9, (30, 20)), 0).astype(np.float32))
    shared: dict = {}
    for params in ({"similarity": "cosine", "weighting": "bm25"},
                   {"similarity": "cosine", "weighting": "bm25", "asymmetry": 0.7},
                   {"similarity": "rp3beta", "weighting": "log", "right_weighting": "bm25", "k1": 5.0},
                   {"similarity": "rp3beta", "weighting": "bm25", "beta": 0.4},
                   {"similarity": "rp3beta", "weighting": "log", "right_weighting": "bm25", "k1": 5.0,
                    "seed_shrink": 1.0}):
        alone = CollaborativeModel(**params).fit(plays)
        together = CollaborativeModel(**params).fit(plays, shared=shared)
        for a, b in ((alone.left_, together.left_), (alone.right_, together.right_)):
            assert (a != b).nnz == 0
    assert ("bm25", 1.2, 0.75) in shared and ("bm25", 5.0, 0.75, "T") in shared
