"""The hybrid model: content and collaborative scores, normalised and blended by alpha.

For a seed profile (one track, a list of tracks, or a listener's history with
weights ``w_i``) and every candidate track ``j``::

    content_raw(j) = sum_i w_i * content(i, j) / sum_i w_i       (see engine.content)
    collab_raw(j)  = sum_i w_i * collab(i, j)  / sum_i w_i       (see engine.collaborative)
    content(j)     = minmax(content_raw)(j)                       in [0, 1]
    collab(j)      = minmax(collab_raw)(j)                        in [0, 1]
    score(j)       = alpha * content(j) + (1 - alpha) * collab(j)

A track nobody has played (*cold*) has no measured ``collab(i, j)``; its
listening score is estimated from its nearest tracks with listeners in
content (:mod:`engine.cold_start`)::

    collab(i, j) = sum_t omega[j, t] * collab(i, n[j, t])        for a cold candidate j
    collab(i, j) = sum_t omega[i, t] * collab(n[i, t], j)        for a cold seed i

so a new release competes with played tracks on one scale instead of scoring
0 on the listening side at every alpha. An artifact set built without the
neighbour table (``cold=None``) scores cold tracks 0 there.

``minmax`` rescales over the *candidates* (every track that is not excluded:
not a seed, not already played) so the best candidate of each component gets
1 and the worst 0; a component that is constant over the candidates is 0
everywhere. ``alpha = 1`` ranks by content alone and ``alpha = 0`` by listening
behaviour alone. The alpha a caller does not give is the one the build chose
(``Recommender.default_alpha``).

Ranking is by score, then by number of listeners, then by catalogue position,
so equal scores are ordered deterministically.

Fast path (:meth:`HybridScorer.raw_scores` + :meth:`HybridScorer.top_scored`):
the ranking is found on ``content_raw * a + collab_raw * b`` (the blend up to
a constant, two passes over the catalogue instead of a dozen), every track
within a rounding margin of the k-th is kept as a contender, and the
contenders are rescored with the formula above and ordered by it. The result
is exactly the top ``k`` of the documented scoring, with the documented
scores. ``tests/oracle.py`` computes the same scoring by brute force, without
this module, and the tests compare the two.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._kernels import range_over_candidates, ranges_over_candidates, top_contenders
from ._validation import check_alpha, check_alphas, check_rows, check_scores, check_weights
from .cold_start import ContentNeighbours
from .collab_cache import HeavyRows
from .collaborative import CollaborativeModel
from .content import ContentIndex
from .errors import InvalidParameterError

__all__ = ["history_weights", "HybridScorer", "RawScores", "CONSTANT_RANGE", "component_range", "candidate_range",
           "blend_parts"]

#: A component whose range over the candidates is at most this share of its magnitude
#: (``hi - lo <= CONSTANT_RANGE * max(1, |hi|)``) is constant there and normalises to 0.
CONSTANT_RANGE = 1e-12
#: Relative rounding margin of the fast path's contender search (see HybridScorer._contenders).
_ROUNDING = 1e-12

def history_weights(playcounts) -> np.ndarray:
    """Weight of each track of a listener's history: ``1 + ln(playcount)``, shape (n_history,), float64."""
    return 1.0 + np.log(np.maximum(np.asarray(playcounts, dtype=np.float64), 1.0))


def component_range(lo: float, hi: float):
    """``(lo, hi)`` of a component over the candidates, or None when it is constant there.

    The one definition of "constant" (:data:`CONSTANT_RANGE`), shared by the
    batched evaluation (``engine.evaluation``).
    """
    if not np.isfinite(lo) or hi - lo <= CONSTANT_RANGE * max(1.0, abs(hi)):
        return None
    return lo, hi


def candidate_range(values: np.ndarray, excluded: np.ndarray) -> tuple[float, float] | None:
    """:func:`component_range` of ``values`` over the tracks not in ``excluded`` (sorted, unique int64)."""
    return component_range(*range_over_candidates(values, excluded))


def blend_parts(alpha: float, content, collab):
    """``(alpha * content, (1 - alpha) * collab)``: the two addends of ``score`` (floats or arrays).

    The one place the blend is written; their sum is the score.
    """
    return alpha * content, (1.0 - alpha) * collab


def _rescaled(values: np.ndarray, bounds) -> np.ndarray:
    """``values`` mapped from ``bounds`` (see :func:`component_range`) to [0, 1]; all 0 for None."""
    if bounds is None:
        return np.zeros(len(values), dtype=np.float64)
    lo, hi = bounds
    return np.minimum(np.maximum((values - lo) / (hi - lo), 0.0), 1.0)  # np.clip, without its overhead


@dataclass
class RawScores:
    """Unnormalised component scores of one query and what normalising them needs.

    Attributes
    ----------
    content_raw, collab_raw : ndarray of shape (n_tracks,), float64
        The unnormalised similarities (values at excluded tracks are not meaningful).
    excluded : ndarray of shape (n_excluded,), int64
        Sorted track indices that are not candidates (the seeds and ``exclude``).
    n_candidates : int
    content_range, collab_range : (float, float) or None
        ``(min, max)`` over the candidates; None for a component constant there.
    """

    content_raw: np.ndarray
    collab_raw: np.ndarray
    excluded: np.ndarray
    n_candidates: int
    content_range: tuple[float, float] | None
    collab_range: tuple[float, float] | None

    def at(self, rows: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(score, content, collab)`` of candidate ``rows`` exactly as the module docstring defines them."""
        content = _rescaled(self.content_raw[rows], self.content_range)
        collab = _rescaled(self.collab_raw[rows], self.collab_range)
        content_part, collab_part = blend_parts(alpha, content, collab)
        return content_part + collab_part, content, collab


class HybridScorer:
    """Composes a :class:`ContentIndex` and a :class:`CollaborativeModel` into ranked lists.

    Parameters
    ----------
    content : ContentIndex
    collab : CollaborativeModel
    popularity : ndarray of shape (n_tracks,)
        Number of listeners per track, the tie-breaker.
    heavy : HeavyRows, optional
        Precomputed exact collaborative rows of the most expensive seeds.
    cold : ContentNeighbours, optional
        Content neighbours of the tracks without listeners, which estimate their
        listening scores (module docstring); without it they score 0 there.
    """

    def __init__(self, content: ContentIndex, collab: CollaborativeModel, popularity: np.ndarray,
                 heavy: HeavyRows | None = None, cold: ContentNeighbours | None = None):
        self.content = content
        self.collab = collab
        self.popularity = np.asarray(popularity)
        self.heavy = heavy
        self.cold = cold if cold is not None and len(cold.rows_) else None
        self._popularity_rank: np.ndarray | None = None

    def prepare(self) -> "HybridScorer":
        """Build the query structures now rather than on the first query (numpy only, nothing compiled)."""
        self.content.prepare()
        self._tie_rank()
        return self

    def warm_up(self) -> "HybridScorer":
        """Run one query of each kind, which compiles the kernels for these arrays' types (or loads them
        from numba's disk cache): seconds on a new machine, which must not land on a person's first query.

        The kernels do not check bounds: call this only on verified arrays.
        """
        self.prepare()
        some = [0] if self.heavy is None or not len(self.heavy.seeds_) else [int(self.heavy.seeds_[0])]
        for seeds in (some, some + [self.n_tracks - 1]):
            if self.n_tracks > len(seeds):
                self.top(self.raw_scores(np.unique(seeds)), 0.5, 1)
        return self

    def _tie_rank(self) -> np.ndarray:
        """Position of each track in the tie-break order (more listeners first, then catalogue order)."""
        if self._popularity_rank is None:
            order = np.lexsort((np.arange(len(self.popularity)), -self.popularity))
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            self._popularity_rank = rank
        return self._popularity_rank

    def collab_scores(self, seeds: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``collab.scores(seeds, weights)``, reading precomputed rows for heavy seeds."""
        if self.heavy is None:
            return self.collab.scores(seeds, weights)
        slots = self.heavy.slots(seeds)
        cached = slots >= 0
        if not cached.any():
            return self.collab.scores(seeds, weights)
        light = ~cached
        out = self.collab.scores(seeds[light], weights[light]) if light.any() else \
            np.zeros(self.n_tracks, dtype=np.float64)
        self.heavy.add_to(out, slots[cached], weights[cached])
        return out

    def _check_raw(self, raw) -> None:
        """``raw`` is scores of this catalogue (from :meth:`raw_scores` or :meth:`scores_from`)."""
        if not isinstance(raw, RawScores) or len(raw.content_raw) != self.n_tracks \
                or len(raw.collab_raw) != self.n_tracks:
            raise InvalidParameterError("raw must be the RawScores of this scorer's catalogue "
                                        "(from raw_scores or scores_from)")

    def collab_pair(self, i: int, j: int) -> float:
        """``collab(i, j)`` as the module docstring defines it, cold tracks through their neighbours."""
        i, j = (int(r) for r in check_rows([i, j], self.n_tracks, name="tracks"))
        return self._collab_pair(i, j)

    def _collab_pair(self, i: int, j: int) -> float:
        if self.cold is not None and self.cold.is_cold([i])[0]:  # a cold seed stands for its neighbours
            neighbours, omega = self.cold.neighbours_of(i)
            return float(sum(w * self._collab_pair(int(n), j) for n, w in zip(neighbours, omega)))
        if self.cold is not None and self.cold.is_cold([j])[0]:  # a cold candidate is estimated from its own
            neighbours, omega = self.cold.neighbours_of(j)
            return float(sum(w * self._measured_pair(i, int(n)) for n, w in zip(neighbours, omega)))
        return self._measured_pair(i, j)

    def estimated_from(self, i: int, j: int) -> np.ndarray:
        """The tracks whose measured scores :meth:`collab_pair` ``(i, j)`` estimates from, most similar first:
        the neighbours of ``j`` when it has no listeners, else of ``i`` when it has none; else empty."""
        i, j = (int(r) for r in check_rows([i, j], self.n_tracks, name="tracks"))
        for track in (j, i):
            if self.cold is not None and self.cold.is_cold([track])[0]:
                return self.cold.neighbours_of(track)[0]
        return np.empty(0, dtype=np.int64)

    def _measured_pair(self, i: int, j: int) -> float:
        """``collab(i, j)`` from listening: a stored row's entry for a heavy seed, else the shared-listener sum."""
        if self.heavy is not None:
            slot = int(self.heavy.slots(np.array([i]))[0])
            if slot >= 0:
                return self.heavy.value(slot, j)
        return self.collab.similarity_pair(i, j)

    # ----------------------------------------------------------- fast path
    def raw_scores(self, seeds, weights=None, exclude=None) -> RawScores:
        """Unnormalised component scores of a seed profile and their ranges over the candidates.

        ``seeds`` (n_seeds,) track rows, ``weights`` (n_seeds,) (default 1 each;
        divided by their sum), ``exclude`` track rows never recommended besides the seeds.
        """
        seeds = check_rows(seeds, self.n_tracks, name="seeds")
        weights = np.ones(len(seeds)) if weights is None else check_weights(weights, len(seeds))
        weights = weights / weights.sum()
        if exclude is None and len(seeds) == 1:  # one seed: skip the set operations
            excluded = seeds
        else:
            excluded = np.unique(seeds) if exclude is None else \
                np.union1d(seeds, check_rows(exclude, self.n_tracks, name="exclude", allow_empty=True))
        content_raw = self.content.similarity(seeds, weights)
        if self.cold is None:
            collab_raw = self.collab_scores(seeds, weights)
        else:
            collab_raw = self.cold.estimate(self.collab_scores(*self.cold.expand(seeds, weights)))
        return self._raw(content_raw, collab_raw, excluded)

    def scores_from(self, content_raw: np.ndarray, collab_raw: np.ndarray, excluded: np.ndarray) -> RawScores:
        """:class:`RawScores` of component scores formed elsewhere (the batched evaluation forms many at once).

        ``content_raw`` and ``collab_raw`` (n_tracks,) float64 as :meth:`raw_scores`
        defines them, cold tracks' estimates included; ``excluded`` int64 rows (sorted and unique
        here if they are not).
        """
        content_raw = check_scores(content_raw, self.n_tracks, name="content_raw")
        collab_raw = check_scores(collab_raw, self.n_tracks, name="collab_raw")
        excluded = check_rows(excluded, self.n_tracks, name="excluded", allow_empty=True)
        if len(excluded) > 1 and not np.all(excluded[1:] > excluded[:-1]):
            excluded = np.unique(excluded)
        return self._raw(content_raw, collab_raw, excluded)

    def _raw(self, content_raw: np.ndarray, collab_raw: np.ndarray, excluded: np.ndarray) -> RawScores:
        content_lo, content_hi, collab_lo, collab_hi = ranges_over_candidates(content_raw, collab_raw, excluded)
        return RawScores(content_raw, collab_raw, excluded, self.n_tracks - len(excluded),
                         component_range(content_lo, content_hi), component_range(collab_lo, collab_hi))

    def scores_from_unchecked(self, content_raw: np.ndarray, collab_raw: np.ndarray, excluded: np.ndarray,
                              content_range: tuple[float, float] | None) -> RawScores:
        """:meth:`scores_from` without its checks, for inputs the engine formed itself; ``content_range`` is
        :func:`candidate_range` of ``content_raw`` (the batched evaluation finds it once per listener and pairs
        it with many models)."""
        return RawScores(content_raw, collab_raw, excluded, self.n_tracks - len(excluded),
                         content_range, candidate_range(collab_raw, excluded))

    def top(self, raw: RawScores, alpha: float, k: int) -> np.ndarray:
        """Top-``k`` track indices at ``alpha``, best first (the rows of :meth:`top_scored`)."""
        return self.top_scored(raw, alpha, k)[0]

    def top_scored(self, raw: RawScores, alpha: float, k: int):
        """``(rows, score, content, collab)`` of the top ``k`` at ``alpha``, best first (see :meth:`RawScores.at`)."""
        self._check_raw(raw)
        alpha = check_alpha(alpha)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise InvalidParameterError(f"k must be an integer >= 0, got {k!r}")
        k = min(int(k), raw.n_candidates)
        if k <= 0:
            empty = np.empty(0, dtype=np.float64)
            return np.empty(0, dtype=np.int64), empty, empty, empty
        contenders = self._contenders(raw, alpha, k)
        score, content, collab = raw.at(contenders, alpha)
        if len(contenders) > k:
            kth = np.partition(score, len(score) - k)[len(score) - k]
            above = np.flatnonzero(score > kth)
            tied = np.flatnonzero(score == kth)
            need = k - len(above)
            if len(tied) > need:  # ties at the k-th score: more listeners, then catalogue order, win
                tie_rank = self._tie_rank()[contenders[tied]]
                tied = tied[np.argpartition(tie_rank, need - 1)[:need]]
            keep = np.concatenate((above, tied))
            contenders, score, content, collab = contenders[keep], score[keep], content[keep], collab[keep]
        order = np.lexsort((contenders, -self.popularity[contenders], -score))[:k]
        return contenders[order], score[order], content[order], collab[order]

    def ranks_of(self, raw: RawScores, alphas, track: int) -> list[int | None]:
        """1-based rank of ``track`` at each alpha in the order of :meth:`top_scored` (None if excluded).

        Normalises once and compares over the candidates only, instead of
        rebuilding the full score arrays for every alpha.
        """
        self._check_raw(raw)
        alphas = check_alphas(alphas)
        track = int(check_rows([track], self.n_tracks, name="track")[0])
        position = np.searchsorted(raw.excluded, track)
        if position < len(raw.excluded) and raw.excluded[position] == track:
            return [None for _ in alphas]
        candidates = np.ones(self.n_tracks, dtype=bool)
        candidates[raw.excluded] = False
        rows = np.flatnonzero(candidates)
        _, content, collab = raw.at(rows, 0.0)
        tie_rank = self._tie_rank()[rows]
        mine = int(np.searchsorted(rows, track))
        ranks = []
        for alpha in alphas:
            content_part, collab_part = blend_parts(alpha, content, collab)  # as RawScores.at
            score = content_part + collab_part
            own = score[mine]
            better = int(np.count_nonzero(score > own))
            equal = score == own
            if np.count_nonzero(equal) > 1:  # ties: more listeners, then catalogue order, rank first
                better += int(np.count_nonzero(tie_rank[equal] < tie_rank[mine]))
            ranks.append(better + 1)
        return ranks

    def _contenders(self, raw: RawScores, alpha: float, k: int) -> np.ndarray:
        """Candidates that may be in the top ``k``: a superset of the exact top-k and of its ties.

        Ranks on ``content_raw * a + collab_raw * b``, which differs from the
        documented score by a constant plus rounding; ``margin`` bounds twice
        that rounding, so no track of the exact top-k (or tied with its k-th)
        falls below the k-th approximate score minus the margin.
        """
        a = alpha / (raw.content_range[1] - raw.content_range[0]) if raw.content_range and alpha > 0 else 0.0
        b = (1.0 - alpha) / (raw.collab_range[1] - raw.collab_range[0]) \
            if raw.collab_range and alpha < 1 else 0.0
        magnitude = 1.0
        for factor, bounds in ((a, raw.content_range), (b, raw.collab_range)):
            if factor:
                magnitude += factor * max(abs(bounds[0]), abs(bounds[1]))
        return top_contenders(raw.content_raw, raw.collab_raw, a, b, raw.excluded, k, _ROUNDING * magnitude)

    @property
    def n_tracks(self) -> int:
        return self.content.n_tracks
