"""Top-k lists for many listeners at once: popularity and the engine's hybrid scoring, batched.

:func:`rank_hybrid` ranks exactly as ``Recommender.recommend_for_user`` does
on a served artifact set (the formula of :mod:`engine.hybrid`), for a block
of listeners at a time in compiled code; :class:`TruncatedNeighbours` is
an evaluation-only variant of a collaborative model.
"""
from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

from .._kernels import profile_scores, seed_rows
from .._sparse import concat_ranges
from ..collab_cache import gather_cost
from ..cold_start import ContentNeighbours
from ..collaborative import CollaborativeModel
from ..hybrid import HybridScorer, candidate_range, history_weights
from .._validation import check_k
from .split import Split

__all__ = ["rank_popular", "rank_hybrid", "TruncatedNeighbours", "product_size"]


def _history(train_by_user: sp.csr_matrix, user: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = train_by_user.indptr[user], train_by_user.indptr[user + 1]
    return train_by_user.indices[lo:hi].astype(np.int64), train_by_user.data[lo:hi]


def rank_popular(split: Split, users, k: int) -> np.ndarray:
    """Top-``k`` most listened tracks (in training) each listener has not played, shape (n_users, k).

    Ties: catalogue order. ``-1`` pads when fewer tracks are left.
    """
    popularity = np.diff(split.train.indptr).astype(np.float64)
    train_by_user = split.train_by_user
    order = np.lexsort((np.arange(len(popularity)), -popularity))
    out = np.full((len(users), k), -1, dtype=np.int64)
    for row, user in enumerate(np.asarray(users, dtype=np.int64)):
        seeds, _ = _history(train_by_user, user)
        head = order[:k + len(seeds)]  # only these can make the list
        ranked = head[~np.isin(head, seeds)][:k]
        out[row, :len(ranked)] = ranked
    return out


class _SharedRows:
    """Dense rows ``s(i, .)`` of the seeds that many of the evaluated listeners share, formed once per model.

    Gathering a seed through its listeners costs ``cost(i)`` entries of ``R``
    (:func:`engine.collab_cache.gather_cost`) each time a listener has it;
    adding a stored dense row costs ``n_tracks``. A seed used by ``u`` profiles
    saves ``cost(i) * (u - 1) - u * n_tracks`` entries when its row is formed
    once, so the seeds with the largest saving get one, within ``max_bytes``.
    """

    def __init__(self, model, profiles: sp.csr_matrix, cost: np.ndarray | None = None,
                 max_bytes: int = 512 * 2**20, n_threads: int = 2):
        n_tracks = model.n_tracks
        uses = np.bincount(profiles.indices, minlength=n_tracks).astype(np.int64)
        cost = gather_cost(model.left_, model.right_) if cost is None else cost
        saving = cost * (uses - 1) - uses * n_tracks
        chosen = np.flatnonzero(saving > 0)
        chosen = chosen[np.argsort(-saving[chosen], kind="stable")][:max(0, max_bytes // (8 * n_tracks))]
        self.slot = np.full(n_tracks, -1, dtype=np.int64)
        self.slot[chosen] = np.arange(len(chosen))
        self.rows = np.zeros((len(chosen), n_tracks))
        left, right = model.left_, model.right_
        parts = np.array_split(np.arange(len(chosen)), n_threads)

        def fill(part):
            if len(part):
                seed_rows(left.indptr, left.indices, left.data, right.indptr, right.indices, right.data,
                          chosen[part].astype(np.int64), np.zeros(left.shape[1]), self.rows[part[0]:part[-1] + 1])

        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(fill, parts))


def _collab_rows(model, profiles: sp.csr_matrix, shared: _SharedRows | None, cold, n_threads: int = 2,
                 out: np.ndarray | None = None, chunk: int = 8, scratch: _Scratch | None = None) -> np.ndarray:
    """Collaborative scores of a block of listeners, dense (n_listeners, n_tracks), cold tracks estimated.

    Row ``u`` is ``sum_i w_ui s(i, .)``, the sum :meth:`CollaborativeModel.scores`
    forms for one listener: compiled, in chunks of ``chunk`` listeners that
    ``n_threads`` threads take in turn (a listener's cost varies a hundredfold,
    so fixed halves would leave a thread idle), with the rows of shared seeds
    added from ``shared``; then the estimates of the
    tracks nobody played (``cold``, :meth:`ContentNeighbours.estimate`). A
    truncated model (evaluation only) is one sparse product ``profiles @ S``.
    ``out``: a C-ordered float64 buffer of at least ``profiles.shape[0]`` rows to fill (reused from
    block to block: a fresh array of this size is paid again in page faults each time); ``scratch``
    likewise, for the per-listener weights.
    """
    if hasattr(model, "similarity_"):
        out = np.ascontiguousarray((profiles @ model.similarity_).toarray())
        for row in out if cold is not None else ():
            cold.estimate(row)
        return out
    left, right = model.left_, model.right_
    if out is None:
        out = np.zeros(profiles.shape)
    else:
        out = out[:profiles.shape[0]]
        out.fill(0.0)
    scratch = _Scratch(left.shape[1]) if scratch is None else scratch

    def part(lo: int) -> None:
        hi = min(lo + chunk, profiles.shape[0])
        block = profiles[lo:hi]
        with scratch.lend() as user_weight:
            profile_scores(left.indptr, left.indices, left.data, right.indptr, right.indices, right.data,
                           block.indptr, block.indices, block.data, shared.slot, shared.rows, user_weight,
                           out[lo:hi])
        for row in out[lo:hi] if cold is not None else ():
            cold.estimate(row)

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        list(pool.map(part, range(0, profiles.shape[0], chunk)))
    return out


class _Scratch:
    """Zeroed float64 arrays with one slot per listener, lent to one thread at a time.

    The kernels leave them zeroed, so they are reused from chunk to chunk: a
    fresh one each time would be paid in page faults on every listener it touches.
    """

    def __init__(self, n_listeners: int):
        self.n_listeners = n_listeners
        self._free: queue.SimpleQueue = queue.SimpleQueue()

    @contextmanager
    def lend(self):
        try:
            weights = self._free.get_nowait()
        except queue.Empty:
            weights = np.zeros(self.n_listeners)
        try:
            yield weights
        finally:
            self._free.put(weights)


def _profiles(train_by_user: sp.csr_matrix, users: np.ndarray) -> sp.csr_matrix:
    """History weights of ``users``, each row divided by its sum (as HybridScorer does), CSR float64."""
    profiles = sp.csr_matrix(train_by_user[users], dtype=np.float64)
    profiles.sort_indices()
    for row in range(profiles.shape[0]):
        lo, hi = profiles.indptr[row], profiles.indptr[row + 1]
        if hi > lo:
            weights = history_weights(profiles.data[lo:hi])
            profiles.data[lo:hi] = weights / weights.sum()
    return profiles


def rank_hybrid(content, models: dict, split: Split, users, alphas: dict, k: int, block: int = 128,
                cold: ContentNeighbours | None = None, on_progress=None) -> dict:
    """Top-``k`` lists of the engine's hybrid scoring for each model and alpha.

    For every listener: seeds = training history, weights =
    :func:`history_weights`, candidates = every track not played in training;
    the component scores are formed in bulk (content once per listener, the
    collaborative sums of a block of listeners in compiled code, rows of seeds
    many listeners share formed once per model) and ranked by the production
    scorer, :meth:`engine.hybrid.HybridScorer.top`, at every alpha: the same
    normalisation, blend and tie rule as ``Recommender.recommend_for_user``
    on a served artifact set.

    Parameters
    ----------
    content : ContentIndex
        Built from training data only.
    models : dict of str to CollaborativeModel or TruncatedNeighbours
        Fitted on ``split.train``.
    split : Split
    users : array-like of int, shape (n_users,)
    alphas : dict of str to tuple of float
        The alphas to rank at, per model name.
    k : int
    block : int, default 128
        Listeners whose scores are formed at once (memory: ``2 * block * n_tracks`` float64).
    cold : ContentNeighbours, optional
        Fitted on this split's training listeners: the listening scores of the
        tracks nobody played in training are estimated from their content
        neighbours, as the engine does (:mod:`engine.cold_start`). Without it they score 0.
    on_progress : callable, optional
        Called with the number of (listener, model) pairs of each block ranked.

    Returns
    -------
    dict of (str, float) to ndarray of shape (n_users, k), int64
        ``-1`` pads lists of listeners with fewer than ``k`` candidates.
    """
    popularity = np.diff(split.train.indptr)
    train_by_user = split.train_by_user
    n_tracks = train_by_user.shape[1]
    users = np.asarray(users, dtype=np.int64)
    out = {(name, a): np.full((len(users), k), -1, dtype=np.int64) for name in models for a in alphas[name]}
    profiles = _profiles(train_by_user, users)
    with_content = any(a > 0 for name in models for a in alphas[name])
    scorers = {name: HybridScorer(content, model, popularity) for name, model in models.items()}
    shared = {name: None if hasattr(model, "similarity_") else _SharedRows(model, profiles, split.gather_cost)
              for name, model in models.items()}
    no_content = np.zeros(n_tracks)
    starts = range(0, len(users), block)
    # Two buffers per model: the block being ranked and the one being gathered ahead.
    buffers = [{name: np.empty((min(block, len(users)), n_tracks)) for name in models} for _ in range(2)]
    scratch = _Scratch(split.train.shape[1])

    def collab_of(number: int) -> dict:
        rows = profiles[starts[number]:starts[number] + block]
        return {name: _collab_rows(model, rows, shared[name], cold, out=buffers[number % 2][name], scratch=scratch)
                for name, model in models.items()}

    # The next block's collaborative scores (compiled, GIL released) are formed while this block is ranked.
    with ThreadPoolExecutor(max_workers=1) as ahead:
        upcoming = ahead.submit(collab_of, 0) if len(starts) else None
        for number, start in enumerate(starts):
            collab = upcoming.result()
            if number + 1 < len(starts):
                upcoming = ahead.submit(collab_of, number + 1)
            rows = profiles[start:start + block]
            for r in range(rows.shape[0]):
                history = slice(rows.indptr[r], rows.indptr[r + 1])
                excluded = rows.indices[history].astype(np.int64)  # sorted and unique (_profiles)
                if with_content:
                    content_raw = content.similarity(excluded, rows.data[history])
                    content_range = candidate_range(content_raw, excluded)  # once per listener, for every model
                else:
                    content_raw, content_range = no_content, None  # constant: normalises to 0
                for name in models:
                    raw = scorers[name].scores_from_unchecked(content_raw, collab[name][r], excluded, content_range)
                    for a in alphas[name]:
                        top = scorers[name].top(raw, a, k)
                        out[(name, a)][start + r, :len(top)] = top
            if on_progress is not None:
                on_progress(rows.shape[0] * len(models))
    return out


class TruncatedNeighbours:
    """Evaluation-only variant: a fitted model's similarity cut to each seed's ``n_neighbours`` best tracks.

    This is the neighbourhood-size option of item-kNN libraries (implicit's
    ``K``). The engine serves exact, untruncated scores; this class exists
    to measure what truncation would change. It forms the item x item
    product, so it is only built for catalogues where that is small.

    Parameters
    ----------
    model : CollaborativeModel
        Fitted (``left_`` and ``right_``).
    n_neighbours : int
    block : int, default 512
        Rows of the item x item product formed at once.
    """

    def __init__(self, model: CollaborativeModel, n_neighbours: int, block: int = 512):
        self.model = model
        self.n_neighbours = check_k(n_neighbours, name="n_neighbours")
        self.block = block

    def fit(self) -> "TruncatedNeighbours":
        """Form ``left_ @ right_`` a block of rows at a time and keep each row's best entries."""
        left, right = self.model.left_, self.model.right_
        pieces = []
        for start in range(0, left.shape[0], self.block):
            product = (left[start:start + self.block].astype(np.float64) @ right).tocsr()
            pieces.append(_top_per_row(product, self.n_neighbours))
        self.similarity_ = sp.vstack(pieces, format="csr")
        return self

    @property
    def n_tracks(self) -> int:
        return self.similarity_.shape[0]

    def scores(self, seeds, weights=None) -> np.ndarray:
        """``sum_i weights[i] * s_K(seeds[i], .)``, shape (n_tracks,)."""
        seeds = np.atleast_1d(np.asarray(seeds, dtype=np.int64))
        weights = np.ones(len(seeds)) if weights is None else np.asarray(weights, dtype=np.float64)
        s = self.similarity_
        starts, stops = s.indptr[seeds], s.indptr[seeds + 1]
        positions = concat_ranges(starts, stops)
        contrib = s.data[positions] * np.repeat(weights, stops - starts)
        return np.bincount(s.indices[positions], weights=contrib, minlength=self.n_tracks)


def _top_per_row(matrix: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Keep the ``n`` largest entries of each row (ties: lower column first)."""
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), lengths)
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rank = np.empty(matrix.nnz, dtype=np.int64)
    rank[order] = np.arange(matrix.nnz) - matrix.indptr[rows[order]]
    keep = rank < n
    return sp.csr_matrix((matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape)


def product_size(model: CollaborativeModel) -> int:
    """Upper bound on the stored entries of the item x item product ``left_ @ right_``."""
    per_user = np.diff(model.right_.indptr).astype(np.int64)
    return int(np.sum(per_user * per_user))
