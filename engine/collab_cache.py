"""Exact collaborative rows of the most expensive seeds, computed once at build time.

A collaborative query gathers through the seed's listeners (see
:mod:`engine.collaborative`), so its cost is the number of stored entries of
those listeners' rows of ``R``, and each listener's row starts at a random
place in memory. Popularity is heavy-tailed: at full scale a few thousand
tracks touch 10 thousand to a million entries each, while the median track
touches a few hundred. Those heavy seeds are also the ones people pick most
often, and a listener's history is full of them. This module stores their
rows ``s(i, .)`` exactly (float64, computed by the same
:meth:`CollaborativeModel.scores` a query would run) as a sparse matrix of
their non-zero entries, so a query reads a heavy seed's row in one sequential
pass instead of gathering it through tens of thousands of listeners. Nothing
is approximated or truncated.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._kernels import scatter_rows

__all__ = ["HeavyRows", "gather_cost"]

log = logging.getLogger(__name__)


def gather_cost(left, right) -> np.ndarray:
    """Entries of ``R`` a single-seed query on each track touches, shape (n_tracks,), int64."""
    per_user = np.diff(np.asarray(right.indptr)).astype(np.int64)
    cumulative = np.concatenate(([0], np.cumsum(per_user[np.asarray(left.indices)])))
    indptr = np.asarray(left.indptr)
    return cumulative[indptr[1:]] - cumulative[indptr[:-1]]


class HeavyRows:
    """Precomputed exact rows ``s(i, .)`` of the seeds whose query would touch the most entries.

    Parameters
    ----------
    min_entries : int, default 10_000
        A track is heavy when a query on it touches at least this many
        entries of ``R`` (a few hundred microseconds of gathering).
    max_rows : int, default 10_000
        At most this many rows are stored (the most expensive first).
    n_threads : int, default 2
        Threads computing the rows in :meth:`fit`.

    Attributes
    ----------
    seeds_ : ndarray of shape (n_heavy,), int32
        Heavy track rows, ascending.
    indptr_ : ndarray of shape (n_heavy + 1,), int64
    indices_ : ndarray of shape (n_stored,), the smallest unsigned integer type that holds a track row
    data_ : ndarray of shape (n_stored,), float64
        The rows as CSR: ``s(seeds_[h], indices_[p]) = data_[p]`` for
        ``indptr_[h] <= p < indptr_[h + 1]``; every other entry is 0.
    """

    def __init__(self, min_entries: int = 10_000, max_rows: int = 10_000, n_threads: int = 2):
        self.min_entries = min_entries
        self.max_rows = max_rows
        self.n_threads = n_threads

    def fit(self, model) -> "HeavyRows":
        """Compute the rows of ``model`` (a fitted :class:`engine.collaborative.CollaborativeModel`)."""
        left, right = model.left_, model.right_
        cost = gather_cost(left, right)
        heavy = np.flatnonzero(cost >= self.min_entries)
        if heavy.size > self.max_rows:
            heavy = np.sort(heavy[np.argsort(-cost[heavy], kind="stable")[:self.max_rows]])

        index_type = np.min_scalar_type(max(left.shape[0] - 1, 0))  # uint16 up to 65,536 tracks

        def nonzeros(seed):
            row = model.scores([seed])
            columns = np.flatnonzero(row)
            return columns.astype(index_type), row[columns]

        # The kernels release the GIL: two threads use both cores.
        with ThreadPoolExecutor(max_workers=self.n_threads) as pool:
            rows = list(pool.map(nonzeros, heavy.tolist()))
        self.seeds_ = heavy.astype(np.int32)
        self.indptr_ = np.concatenate(([0], np.cumsum([len(c) for c, _ in rows], dtype=np.int64)))
        self.indices_ = np.concatenate([c for c, _ in rows] or [np.empty(0, dtype=index_type)])
        self.data_ = np.concatenate([v for _, v in rows] or [np.empty(0, dtype=np.float64)])
        self._index(left.shape[0])
        log.info("collaborative cache: %d heavy seeds (>= %d entries each, %d entries in all), %d stored "
                 "values, %.0f MB", heavy.size, self.min_entries, int(cost[heavy].sum()), self.data_.size,
                 (self.indices_.nbytes + self.data_.nbytes) / 2**20)
        return self

    def _index(self, n_tracks: int) -> None:
        self.n_tracks = int(n_tracks)
        self._slot = np.full(n_tracks, -1, dtype=np.int32)
        self._slot[np.asarray(self.seeds_)] = np.arange(len(self.seeds_), dtype=np.int32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """``{name: ndarray}`` for the artifact writer."""
        return {"collab_heavy_seeds": self.seeds_, "collab_heavy.indptr": self.indptr_,
                "collab_heavy.indices": self.indices_, "collab_heavy.data": self.data_}

    @classmethod
    def from_arrays(cls, arrays, n_tracks: int) -> "HeavyRows":
        """Rebuild from :meth:`to_arrays` output (arrays may be memory-mapped)."""
        cache = cls()
        cache.seeds_ = arrays["collab_heavy_seeds"]
        cache.indptr_ = arrays["collab_heavy.indptr"]
        cache.indices_ = arrays["collab_heavy.indices"]
        cache.data_ = arrays["collab_heavy.data"]
        cache._index(n_tracks)
        return cache

    def slots(self, seeds: np.ndarray) -> np.ndarray:
        """Slot of each seed in the stored rows, -1 for seeds that are not cached."""
        return self._slot[seeds]

    def add_to(self, out: np.ndarray, slots: np.ndarray, weights: np.ndarray) -> None:
        """``out += sum_h weights[h] * s(seeds_[slots[h]], .)`` for a dense ``out`` of shape (n_tracks,)."""
        scatter_rows(self.indptr_, self.indices_, self.data_, np.asarray(slots, dtype=np.int64),
                     np.asarray(weights, dtype=np.float64), out)

    def value(self, slot: int, track: int) -> float:
        """``s(seeds_[slot], track)``: one stored entry (0 where the row has none)."""
        lo, hi = int(self.indptr_[slot]), int(self.indptr_[slot + 1])
        position = lo + int(np.searchsorted(self.indices_[lo:hi], track))
        if position < hi and self.indices_[position] == track:
            return float(self.data_[position])
        return 0.0

    def row(self, slot: int) -> np.ndarray:
        """The dense row ``s(seeds_[slot], .)``, shape (n_tracks,), float64 (a new array)."""
        out = np.zeros(self.n_tracks, dtype=np.float64)
        self.add_to(out, np.array([slot]), np.ones(1))
        return out
