"""An independent oracle of the documented hybrid scoring, by brute force on dense matrices.

It follows the formula in ``engine/hybrid.py``'s docstring and nothing of
the engine's query code: the caller gives the dense content similarity
(``X @ X.T`` of the content rows) and the dense collaborative similarity
(from ``tests.test_collaborative``'s reference formulas); this module adds the
cold-track estimates (``engine.cold_start``'s docstring), normalises over the
candidates and blends. Plain float64 numpy throughout, so a slip in the
engine's kernels, its fast path or its stored tables shows up as a
difference.
"""
from __future__ import annotations

import numpy as np

#: Relative tolerance of "the same similarity" when the engine's float32 tables meet float64 here.
TOLERANCE = 1e-6


def checked_neighbours(engine_table: dict, content: np.ndarray, listeners: np.ndarray, m: int) -> dict:
    """Assert the engine's neighbours are right, and return them with the oracle's float64 weights.

    ``engine_table`` maps each cold track to its neighbours with a positive
    weight. They must be tracks with listeners, among the ``m`` most similar
    (up to float rounding at ties, where either choice is correct), and be
    exactly those of the top ``m`` with a positive similarity.
    """
    warm = listeners > 0
    assert set(engine_table) == set(np.flatnonzero(~warm).tolist())
    checked = {}
    for j, (neighbours, omega) in engine_table.items():
        similarity = content[j]
        assert warm[neighbours].all() and len(set(neighbours.tolist())) == len(neighbours)
        ranked = np.sort(similarity[warm])[::-1]
        mth = ranked[min(m, len(ranked)) - 1]
        assert (similarity[neighbours] >= mth - TOLERANCE).all()
        expected_count = int(np.count_nonzero(ranked[:m] > TOLERANCE))
        assert abs(len(neighbours) - expected_count) <= int(np.count_nonzero(np.abs(ranked[:m]) <= TOLERANCE))
        positive = np.maximum(similarity[neighbours], 0.0)
        weights = positive / positive.sum() if positive.sum() > 0 else np.zeros(len(neighbours))
        np.testing.assert_allclose(omega, weights, atol=TOLERANCE)
        checked[int(j)] = (np.asarray(neighbours, dtype=np.int64), weights)
    return checked


def collab_with_cold(collab: np.ndarray, table: dict) -> np.ndarray:
    """``collab(i, j)`` for every pair: cold seeds stand for their neighbours, then cold candidates are estimated."""
    seeds_side = collab.copy()
    for i, (neighbours, omega) in table.items():
        seeds_side[i, :] = omega @ collab[neighbours, :]
    full = seeds_side.copy()
    for j, (neighbours, omega) in table.items():
        full[:, j] = seeds_side[:, neighbours] @ omega
    return full


def normalised_blend(content_raw: np.ndarray, collab_raw: np.ndarray, candidates: np.ndarray,
                     alpha: float) -> np.ndarray:
    """The documented score of every track from the raw components: min-max over ``candidates``, blended."""
    def normalised(raw):
        lo, hi = raw[candidates].min(), raw[candidates].max()
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            return np.zeros_like(raw)
        return np.clip((raw - lo) / (hi - lo), 0.0, 1.0)

    return alpha * normalised(content_raw) + (1 - alpha) * normalised(collab_raw)


def hybrid_scores(content: np.ndarray, collab: np.ndarray, seed_weights: dict, excluded, alpha: float):
    """``(score, candidates)`` over all tracks: the documented blend of min-max normalised components.

    ``collab`` is the full matrix of :func:`collab_with_cold`.
    """
    weights = np.array(list(seed_weights.values()), dtype=float)
    weights /= weights.sum()
    seeds = list(seed_weights)
    candidates = np.ones(content.shape[0], dtype=bool)
    candidates[seeds] = False
    candidates[list(excluded)] = False
    return normalised_blend(weights @ content[seeds], weights @ collab[seeds], candidates, alpha), candidates


def top_k(scores: np.ndarray, candidates: np.ndarray, listeners: np.ndarray, k: int) -> list[int]:
    """The documented order: score desc, then listeners desc, then catalogue position."""
    rows = np.flatnonzero(candidates)
    order = np.lexsort((rows, -listeners[rows], -scores[rows]))[:k]
    return rows[order].tolist()
