"""Exact collaborative rows of the most expensive seeds, computed once at build time.

A collaborative query gathers through the seed's listeners (see
:mod:`engine.collaborative`), so its cost is the number of stored entries of
those listeners' rows of ``R``. Popularity is heavy-tailed: at full scale a
few hundred tracks have tens of thousands of listeners and a query on one of
them touches up to a million entries, while the median track touches a few
hundred. Those heavy seeds are also the ones people pick most often. This
module stores their rows ``s(i, .)`` exactly (float64, computed by the same
:meth:`CollaborativeModel.scores` a query would run) over the tracks that
have any listener, so a query on a heavy seed reads one precomputed row.
Nothing is approximated or truncated.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np

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
    min_entries : int, default 100_000
        A track is heavy when a query on it touches at least this many
        entries of ``R`` (about a millisecond of gathering).
    max_rows : int, default 1000
        At most this many rows are stored (the most expensive first);
        each takes 8 bytes per track with listeners.
    n_threads : int, default 2
        Threads computing the rows in :meth:`fit`.

    Attributes
    ----------
    seeds_ : ndarray of shape (n_heavy,), int32
        Heavy track rows, ascending.
    warm_ : ndarray of shape (n_warm,), int32
        Tracks with at least one listener (the only ones a row can be non-zero on).
    rows_ : ndarray of shape (n_heavy, n_warm), float64
        ``rows_[h, w] = s(seeds_[h], warm_[w])``.
    """

    def __init__(self, min_entries: int = 100_000, max_rows: int = 1000, n_threads: int = 2):
        self.min_entries = min_entries
        self.max_rows = max_rows
        self.n_threads = n_threads

    def fit(self, model) -> "HeavyRows":
        """Compute the rows of ``model`` (a fitted :class:`engine.collaborative.CollaborativeModel`)."""
        left, right = model.left_, model.right_
        n_tracks = left.shape[0]
        cost = gather_cost(left, right)
        heavy = np.flatnonzero(cost >= self.min_entries)
        if heavy.size > self.max_rows:
            heavy = np.sort(heavy[np.argsort(-cost[heavy], kind="stable")[:self.max_rows]])
        self.seeds_ = heavy.astype(np.int32)
        self.warm_ = np.flatnonzero(np.diff(np.asarray(left.indptr)) > 0).astype(np.int32)
        self.rows_ = np.empty((heavy.size, self.warm_.size), dtype=np.float64)

        def compute(slot_seed):
            slot, seed = slot_seed
            self.rows_[slot] = model.scores([seed])[self.warm_]

        # numpy releases the GIL in most of a query's gathering: two threads use both cores.
        with ThreadPoolExecutor(max_workers=self.n_threads) as pool:
            list(pool.map(compute, enumerate(heavy.tolist())))
        self._index(n_tracks)
        log.info("collaborative cache: %d heavy seeds (>= %d entries each, %d entries in all), %.0f MB",
                 heavy.size, self.min_entries, int(cost[heavy].sum()), self.rows_.nbytes / 2**20)
        return self

    def _index(self, n_tracks: int) -> None:
        self.n_tracks = int(n_tracks)
        self._slot = np.full(n_tracks, -1, dtype=np.int32)
        self._slot[np.asarray(self.seeds_)] = np.arange(len(self.seeds_), dtype=np.int32)
        self._warm = np.asarray(self.warm_, dtype=np.intp)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """``{name: ndarray}`` for the artifact writer."""
        return {"collab_heavy_seeds": self.seeds_, "collab_heavy_rows": self.rows_,
                "collab_warm_tracks": self.warm_}

    @classmethod
    def from_arrays(cls, arrays, n_tracks: int) -> "HeavyRows":
        """Rebuild from :meth:`to_arrays` output (arrays may be memory-mapped)."""
        cache = cls()
        cache.seeds_ = arrays["collab_heavy_seeds"]
        cache.rows_ = arrays["collab_heavy_rows"]
        cache.warm_ = arrays["collab_warm_tracks"]
        cache._index(n_tracks)
        return cache

    def slots(self, seeds: np.ndarray) -> np.ndarray:
        """Slot of each seed in ``rows_``, -1 for seeds that are not cached."""
        return self._slot[seeds]

    def add_to(self, out: np.ndarray, slot: int, weight: float = 1.0) -> None:
        """``out += weight * s(seeds_[slot], .)`` for a dense ``out`` of shape (n_tracks,)."""
        row = self.rows_[slot]
        out[self._warm] += row if weight == 1.0 else weight * row

    def value(self, slot: int, track: int) -> float:
        """``s(seeds_[slot], track)``: one stored entry (0 for a track without listeners)."""
        position = int(np.searchsorted(self._warm, track))
        if position < len(self._warm) and self._warm[position] == track:
            return float(self.rows_[slot, position])
        return 0.0

    def row(self, slot: int) -> np.ndarray:
        """The dense row ``s(seeds_[slot], .)``, shape (n_tracks,), float64 (a new array)."""
        out = np.zeros(self.n_tracks, dtype=np.float64)
        out[self._warm] = self.rows_[slot]
        return out
