"""Specification of ``engine.hybrid``: min-max normalisation over candidates, the alpha blend
and the deterministic ranking (score, then listeners, then catalogue order).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from engine.collaborative import CollaborativeModel
from engine.content import ContentFeatures
from engine.hybrid import HybridScorer, minmax_normalise, top_k
from tests.helpers import SMALL_PLAYS, catalogue_frame, small_catalogue


def reference_ranking(scores, candidates, popularity) -> list[int]:
    """Candidates sorted by score desc, then popularity desc, then index asc."""
    return sorted(np.flatnonzero(candidates).tolist(), key=lambda j: (-scores[j], -popularity[j], j))


@pytest.fixture(scope="module")
def scorer() -> HybridScorer:
    frame = catalogue_frame(small_catalogue())
    content = ContentFeatures().fit(frame)
    tracks, users, counts = zip(*SMALL_PLAYS)
    plays = sp.csr_matrix((np.array(counts, dtype=np.float32), (tracks, users)), shape=(len(frame), 7))
    collab = CollaborativeModel(weighting="log", similarity="cosine").fit(plays)
    return HybridScorer(content.transform_index(frame), collab, np.diff(plays.indptr))


# --------------------------------------------------------------------------
# Normalisation and top-k, by hand
# --------------------------------------------------------------------------

def test_minmax_normalises_over_the_candidates_only():
    values = np.array([0.0, 2.0, 4.0, 10.0, -5.0])
    candidates = np.array([True, True, True, False, False])
    # min 0 and max 4 over the candidates; the excluded 10 and -5 are clipped into [0, 1].
    assert minmax_normalise(values, candidates) == pytest.approx([0.0, 0.5, 1.0, 1.0, 0.0])


def test_minmax_of_a_constant_component_is_zero_everywhere():
    values = np.array([0.3, 0.3, 0.9])
    assert minmax_normalise(values, np.array([True, True, False])) == pytest.approx([0, 0, 0])
    assert minmax_normalise(values, np.zeros(3, dtype=bool)) == pytest.approx([0, 0, 0])


def test_top_k_breaks_ties_by_popularity_then_catalogue_order():
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.9, 0.1])
    popularity = np.array([1, 2, 3, 1, 2, 9])
    candidates = np.ones(6, dtype=bool)
    # 0.9: tracks 1 and 4 (same popularity -> index); 0.5: 2 (pop 3), then 0 and 3 (pop 1 -> index).
    assert top_k(scores, 6, candidates, popularity).tolist() == [1, 4, 2, 0, 3, 5]
    assert top_k(scores, 3, candidates, popularity).tolist() == [1, 4, 2]
    assert top_k(scores, 4, candidates, popularity).tolist() == [1, 4, 2, 0]


def test_top_k_returns_exactly_k_unless_there_are_fewer_candidates():
    scores = np.zeros(5)
    popularity = np.zeros(5)
    candidates = np.array([True, False, True, True, False])
    assert top_k(scores, 2, candidates, popularity).tolist() == [0, 2]
    assert top_k(scores, 10, candidates, popularity).tolist() == [0, 2, 3]
    assert top_k(scores, 3, np.zeros(5, dtype=bool), popularity).tolist() == []


def test_top_k_never_returns_an_excluded_track_even_with_the_best_score():
    scores = np.array([9.0, 1.0, 2.0])
    assert top_k(scores, 3, np.array([False, True, True]), np.zeros(3)).tolist() == [2, 1]


# --------------------------------------------------------------------------
# The documented formula
# --------------------------------------------------------------------------

@pytest.mark.parametrize(("seeds", "weights"), [([0], None), ([0, 4], None), ([0, 1, 9], [5.0, 1.0, 2.0])])
def test_score_follows_the_documented_formula(scorer, seeds, weights):
    scored = scorer.score(seeds, weights)
    w = np.ones(len(seeds)) if weights is None else np.asarray(weights)
    w = w / w.sum()
    content_raw = scorer.content.similarity(seeds, w)
    collab_raw = scorer.collab.scores(seeds, w)
    candidates = np.ones(scorer.n_tracks, dtype=bool)
    candidates[seeds] = False
    np.testing.assert_array_equal(scored.candidates, candidates)
    np.testing.assert_allclose(scored.content_raw, content_raw)
    np.testing.assert_allclose(scored.collab_raw, collab_raw)
    for raw, normalised in ((content_raw, scored.content), (collab_raw, scored.collab)):
        lo, hi = raw[candidates].min(), raw[candidates].max()
        np.testing.assert_allclose(normalised[candidates], (raw[candidates] - lo) / (hi - lo), atol=1e-12)
        assert normalised[candidates].max() == pytest.approx(1.0)  # the best candidate, not the seed
        assert normalised[candidates].min() == pytest.approx(0.0)
    for alpha in (0.0, 0.3, 1.0):
        np.testing.assert_allclose(scored.blend(alpha), alpha * scored.content + (1 - alpha) * scored.collab)


def test_excluded_tracks_are_not_candidates_and_do_not_shape_the_normalisation(scorer):
    scored = scorer.score([0], exclude=[1, 7])
    assert not scored.candidates[[0, 1, 7]].any() and scored.candidates.sum() == scorer.n_tracks - 3
    raw = scored.content_raw
    best_left = raw[scored.candidates].max()
    assert scored.content[scored.candidates].max() == pytest.approx(1.0)
    assert scored.content[int(np.flatnonzero(raw == best_left)[0])] == pytest.approx(1.0)
    assert 1 not in scorer.rank(scored, 1.0, 10) and 7 not in scorer.rank(scored, 1.0, 10)


@pytest.mark.parametrize("seeds", [[0], [3], [4], [7], [0, 5]])
def test_alpha_one_ranks_by_content_and_alpha_zero_by_listening(scorer, seeds):
    scored = scorer.score(seeds)
    n = scorer.n_tracks - len(seeds)
    assert scorer.rank(scored, 1.0, n).tolist() == reference_ranking(
        scored.content_raw, scored.candidates, scorer.popularity)
    assert scorer.rank(scored, 0.0, n).tolist() == reference_ranking(
        scored.collab_raw, scored.candidates, scorer.popularity)


def test_a_cold_seed_at_alpha_zero_falls_back_to_popularity(scorer):
    scored = scorer.score([7])  # track 7 has no listeners
    assert not scored.collab.any()
    ranking = scorer.rank(scored, 0.0, 9).tolist()
    assert ranking == sorted(ranking, key=lambda j: (-scorer.popularity[j], j))
    assert ranking[:2] == [0, 4]  # three listeners each; catalogue order breaks the tie


def test_the_rank_of_a_track_agrees_with_the_ranked_list(scorer):
    scored = scorer.score([2])
    for alpha in (0.0, 0.25, 0.5, 1.0):
        ranking = scorer.rank(scored, alpha, scorer.n_tracks).tolist()
        for position, track in enumerate(ranking, start=1):
            assert scorer.rank_of(scored, alpha, track) == position
        assert scorer.rank_of(scored, alpha, 2) is None  # the seed is never ranked
