"""The hybrid model: content and collaborative scores, normalised and blended by alpha.

For a seed profile (one track, a list of tracks, or a listener's history with
weights ``w_i``) and every candidate track ``j``::

    content_raw(j) = sum_i w_i * content(i, j) / sum_i w_i       (see engine.content)
    collab_raw(j)  = sum_i w_i * collab(i, j)  / sum_i w_i       (see engine.collaborative)
    content(j)     = minmax(content_raw)(j)                       in [0, 1]
    collab(j)      = minmax(collab_raw)(j)                        in [0, 1]
    score(j)       = alpha * content(j) + (1 - alpha) * collab(j)

``minmax`` rescales over the *candidates* (every track that is not excluded:
not a seed, not already played) so the best candidate of each component gets
1 and the worst 0; a component that is constant over the candidates (a cold
seed has no collaborative signal) is 0 everywhere. ``alpha = 1`` ranks by
content alone and ``alpha = 0`` by listening behaviour alone.

Ranking is by score, then by number of listeners, then by catalogue position,
so equal scores are ordered deterministically (a cold seed at ``alpha = 0``
falls back to popularity).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .collaborative import CollaborativeModel
from .content import ContentIndex

__all__ = ["HybridScorer", "ScoredTracks", "minmax_normalise", "top_k"]


def minmax_normalise(values: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Rescale ``values`` to [0, 1] over ``candidates`` (bool mask); 0 when constant there."""
    lo = np.min(values, where=candidates, initial=np.inf)
    hi = np.max(values, where=candidates, initial=-np.inf)
    if not np.isfinite(lo) or hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return np.zeros_like(values, dtype=np.float64)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0)


def top_k(scores: np.ndarray, k: int, candidates: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Indices of the ``k`` best candidates by (score desc, popularity desc, index asc).

    Returns fewer than ``k`` only when there are fewer candidates.
    """
    n_candidates = int(np.count_nonzero(candidates))
    k = min(k, n_candidates)
    if k == 0:
        return np.empty(0, dtype=np.int64)
    masked = np.where(candidates, scores, -np.inf)
    kth = np.argpartition(-masked, k - 1)[:k]
    threshold = masked[kth].min()
    # Every candidate tied with the k-th score takes part in the tie-break.
    contenders = np.flatnonzero(masked >= threshold)
    order = np.lexsort((contenders, -popularity[contenders], -masked[contenders]))
    return contenders[order[:k]]


@dataclass
class ScoredTracks:
    """Per-track component scores of one query, over the whole catalogue.

    Attributes
    ----------
    content, collab : ndarray of shape (n_tracks,), float64
        Normalised component scores in [0, 1] (meaningful for candidates only).
    content_raw, collab_raw : ndarray of shape (n_tracks,), float64
        The unnormalised similarities.
    candidates : ndarray of shape (n_tracks,), bool
        Tracks that may be recommended.
    """

    content: np.ndarray
    collab: np.ndarray
    content_raw: np.ndarray
    collab_raw: np.ndarray
    candidates: np.ndarray

    def blend(self, alpha: float) -> np.ndarray:
        """``alpha * content + (1 - alpha) * collab``, shape (n_tracks,)."""
        return alpha * self.content + (1.0 - alpha) * self.collab


class HybridScorer:
    """Composes a :class:`ContentIndex` and a :class:`CollaborativeModel` into ranked lists.

    Parameters
    ----------
    content : ContentIndex
    collab : CollaborativeModel
    popularity : ndarray of shape (n_tracks,)
        Number of listeners per track, the tie-breaker.
    """

    def __init__(self, content: ContentIndex, collab: CollaborativeModel, popularity: np.ndarray):
        self.content = content
        self.collab = collab
        self.popularity = np.asarray(popularity)

    @property
    def n_tracks(self) -> int:
        return self.content.n_tracks

    def score(self, seeds, weights=None, exclude=None) -> ScoredTracks:
        """Component scores of every track for a weighted seed profile.

        Parameters
        ----------
        seeds : array-like of int, shape (n_seeds,)
        weights : array-like of float, shape (n_seeds,), optional
        exclude : array-like of int, optional
            Track indices never recommended, in addition to the seeds.
        """
        seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int64))
        weights = np.ones(len(seeds)) if weights is None else np.asarray(weights, dtype=np.float64)
        weights = weights / weights.sum()
        candidates = np.ones(self.n_tracks, dtype=bool)
        candidates[seeds] = False
        if exclude is not None:
            candidates[np.asarray(exclude, dtype=np.int64)] = False
        content_raw = self.content.similarity(seeds, weights)
        collab_raw = self.collab.scores(seeds, weights)
        return ScoredTracks(minmax_normalise(content_raw, candidates),
                            minmax_normalise(collab_raw, candidates),
                            content_raw, collab_raw, candidates)

    def rank(self, scored: ScoredTracks, alpha: float, k: int) -> np.ndarray:
        """Top-``k`` track indices at ``alpha``, best first."""
        return top_k(scored.blend(alpha), k, scored.candidates, self.popularity)

    def rank_of(self, scored: ScoredTracks, alpha: float, track: int) -> int | None:
        """1-based rank of ``track`` at ``alpha`` under the same ordering as :meth:`rank` (None if excluded)."""
        if not scored.candidates[track]:
            return None
        scores = np.where(scored.candidates, scored.blend(alpha), -np.inf)
        s, p = scores[track], self.popularity[track]
        better = (scores > s) | ((scores == s) & ((self.popularity > p) |
                                                  ((self.popularity == p) & (np.arange(len(scores)) < track))))
        return int(np.count_nonzero(better)) + 1
