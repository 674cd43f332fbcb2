"""Offline evaluation: one seeded leak-free split, ranking metrics in one pass, and a method comparison.

Protocol
--------
* **Split** (:func:`train_test_split`): every listener with at least
  ``min_items`` (5) distinct tracks is a *test listener*; ``floor(0.2 * n + 0.5)``
  of their ``n`` tracks (at least one) are held out, chosen uniformly at
  random by a seeded generator. The held-out (listener, track) pairs are
  removed from the training play matrix; every model, every popularity count
  and every side input (:meth:`Split.is_held_out` filters the listener's own
  tag assignments) is built from training data only.
* **Recommendations**: for each test listener the engine's hybrid scoring
  (:mod:`engine.hybrid`: both components min-max normalised over the
  candidates, blended by alpha) with the training history as seeds, each
  track weighted by :func:`history_weights`, as
  ``Recommender.recommend_for_user`` ranks; tracks played in training are
  never recommended (:func:`rank_hybrid`).
* **Relevance**: every held-out track of the listener counts, with gain 1.

Metrics (:func:`ranking_metrics`, all averaged over test listeners unless
said otherwise; ``rec_k`` is the top-k list, ``rel`` the held-out set)::

    precision@k  = |rec_k & rel| / k
    recall@k     = |rec_k & rel| / |rel|
    ndcg@k       = DCG / IDCG,  DCG = sum_{r <= k} [rec_r in rel] / log2(r + 1),
                   IDCG = sum_{r <= min(k, |rel|)} 1 / log2(r + 1)
    map@k        = (1 / min(k, |rel|)) * sum_{r <= k} precision@r * [rec_r in rel]
    hit_rate@k   = share of listeners with |rec_k & rel| >= 1
    coverage@k   = |union of all rec_k| / n_tracks                 (catalogue coverage)
    novelty@k    = mean over recommended tracks of -log2(p_j),
                   p_j = max(listeners_j, 1) / n_listeners        (training listeners; bits)
    diversity@k  = mean over lists of the mean over pairs of 1 - cos(x_i, x_j)
                   on the content rows x (intra-list diversity; 1 for unrelated tracks)
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ._sparse import concat_ranges, safe_inverse, to_csr32
from ._validation import check_alpha, check_k
from .collaborative import CollaborativeModel
from .hybrid import history_weights
from .errors import InvalidParameterError

__all__ = [
    "Split", "train_test_split", "history_weights", "ranking_metrics",
    "precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k", "hit_rate_at_k",
    "catalogue_coverage", "novelty", "intra_list_diversity",
    "rank_popular", "rank_hybrid", "TruncatedNeighbours", "Comparison", "compare_methods", "choose_defaults",
    "ALPHA_GRID", "METRICS",
]

log = logging.getLogger(__name__)

#: The alpha grid of the comparison: 0, 0.1, ..., 1.
ALPHA_GRID = tuple(round(a / 10, 1) for a in range(11))
#: Keys of the dict returned by :func:`ranking_metrics`, in display order.
METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty", "diversity")


# ------------------------------------------------------------------ split
@dataclass(frozen=True)
class Split:
    """A train/test split of a play matrix.

    Attributes
    ----------
    train : csr_matrix of shape (n_tracks, n_users), float32
        Play counts without the held-out pairs (same orientation as the engine's play matrix).
    test : csr_matrix of shape (n_users, n_tracks), float32
        1 at every held-out (listener, track) pair; rows of other listeners are empty.
    test_users : ndarray of shape (n_test_users,), int64
        Listeners with held-out tracks, ascending.
    seed, test_fraction, min_items
        The parameters that made the split.
    """

    train: sp.csr_matrix
    test: sp.csr_matrix
    test_users: np.ndarray
    seed: int
    test_fraction: float
    min_items: int

    def is_held_out(self, users, tracks) -> np.ndarray:
        """Whether each (listener, track) pair is held out, as a bool array.

        Used to drop side data a test listener produced about a held-out track
        (a tag they gave it) before building features from that side data.

        Parameters
        ----------
        users, tracks : array-like of int, shape (n_pairs,)
            Listener codes and track rows; negative codes (unknown) are never held out.
        """
        users = np.asarray(users, dtype=np.int64)
        tracks = np.asarray(tracks, dtype=np.int64)
        n_users, n_tracks = self.test.shape
        known = (users >= 0) & (users < n_users) & (tracks >= 0) & (tracks < n_tracks)
        out = np.zeros(len(users), dtype=bool)
        test = self.test.tocoo()
        held = test.row.astype(np.int64) * n_tracks + test.col
        out[known] = np.isin(users[known] * n_tracks + tracks[known], held)
        return out

    def summary(self) -> dict:
        """JSON-ready description of the split (what evaluation.json records)."""
        return {"seed": self.seed, "test_fraction": self.test_fraction, "min_items": self.min_items,
                "test_listeners": int(len(self.test_users)), "held_out_pairs": int(self.test.nnz),
                "train_pairs": int(self.train.nnz)}


def train_test_split(plays: sp.spmatrix, test_fraction: float = 0.2, min_items: int = 5,
                     seed: int = 0) -> Split:
    """Hold out a random ``test_fraction`` of each active listener's tracks.

    Parameters
    ----------
    plays : sparse matrix of shape (n_tracks, n_users)
        Play counts (> 0 where a listener played a track).
    test_fraction : float, default 0.2
        Share of each test listener's tracks held out: ``floor(test_fraction * n + 0.5)``, at least 1.
    min_items : int, default 5
        Listeners with fewer distinct tracks keep them all in training and are not tested.
    seed : int, default 0
        Seed of the generator; the same matrix and seed always give the same split.

    Returns
    -------
    Split
    """
    if not 0.0 < float(test_fraction) < 1.0:
        raise InvalidParameterError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    min_items = check_k(min_items, name="min_items")
    by_user = to_csr32(sp.csr_matrix(plays).T)
    by_user.eliminate_zeros()
    n_users, n_tracks = by_user.shape
    per_user = np.diff(by_user.indptr).astype(np.int64)
    n_test = np.where(per_user >= min_items,
                      np.maximum(1, np.floor(test_fraction * per_user + 0.5)).astype(np.int64), 0)
    # One random key per stored pair, drawn in the canonical (user, track) order:
    # each listener's n_test pairs with the smallest keys are held out.
    keys = np.random.default_rng(seed).random(by_user.nnz)
    rows = np.repeat(np.arange(n_users), per_user)
    order = np.lexsort((keys, rows))
    position = np.empty(by_user.nnz, dtype=np.int64)
    position[order] = np.arange(by_user.nnz) - by_user.indptr[rows[order]]
    held = position < n_test[rows]
    test = sp.csr_matrix((np.ones(int(held.sum()), dtype=np.float32),
                          (rows[held], by_user.indices[held])), shape=(n_users, n_tracks))
    train = sp.csr_matrix((by_user.data[~held], (rows[~held], by_user.indices[~held])),
                          shape=(n_users, n_tracks))
    return Split(train=to_csr32(train.T.tocsr()), test=to_csr32(test),
                 test_users=np.flatnonzero(n_test > 0).astype(np.int64),
                 seed=int(seed), test_fraction=float(test_fraction), min_items=min_items)


# ---------------------------------------------------------------- metrics
def ranking_metrics(recommended, relevant: sp.spmatrix, k: int = 10, *, popularity=None,
                    n_listeners: int | None = None, item_features: sp.spmatrix | None = None) -> dict:
    """All ranking metrics of top-k lists in one pass (definitions in the module docstring).

    Parameters
    ----------
    recommended : array-like of int, shape (n_users, n_recommended)
        Track indices, best first; ``-1`` pads short lists. Only the first ``k`` count.
    relevant : sparse matrix of shape (n_users, n_tracks)
        Nonzero at each relevant (held-out) track; row ``u`` belongs to ``recommended[u]``.
        Users without relevant tracks are skipped.
    k : int, default 10
    popularity : array-like of shape (n_tracks,), optional
        Training listeners per track; needed for ``novelty``.
    n_listeners : int, optional
        Number of training listeners (default: ``max(popularity)``); the novelty denominator.
    item_features : sparse matrix of shape (n_tracks, n_features), optional
        Content rows; needed for ``diversity``.

    Returns
    -------
    dict
        ``precision, recall, ndcg, map, hit_rate, coverage`` and, when their
        inputs are given, ``novelty`` and ``diversity`` (floats), plus ``users``
        (number of users averaged over, int).
    """
    k = check_k(k)
    recommended = np.asarray(recommended, dtype=np.int64)
    if recommended.ndim != 2:
        raise InvalidParameterError(f"recommended must be 2-D (n_users, n_recommended), got shape "
                                    f"{recommended.shape}")
    relevant = sp.csr_matrix(relevant)
    if relevant.shape[0] != recommended.shape[0]:
        raise InvalidParameterError(f"recommended has {recommended.shape[0]} rows but relevant has "
                                    f"{relevant.shape[0]}")
    relevant.eliminate_zeros()
    n_relevant = np.diff(relevant.indptr)
    users = np.flatnonzero(n_relevant > 0)
    recs = np.full((len(users), k), -1, dtype=np.int64)
    width = min(k, recommended.shape[1])
    recs[:, :width] = recommended[users, :width]
    n_relevant = n_relevant[users]
    n_tracks = relevant.shape[1]

    hits = _hits(recs, relevant[users])
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)[np.minimum(k, n_relevant) - 1]
    n_hits = hits.sum(axis=1)
    precision_at_r = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    valid = recs[recs >= 0]
    out = {
        "precision": float(np.mean(n_hits / k)),
        "recall": float(np.mean(n_hits / n_relevant)),
        "ndcg": float(np.mean((hits * discount).sum(axis=1) / ideal)),
        "map": float(np.mean((precision_at_r * hits).sum(axis=1) / np.minimum(k, n_relevant))),
        "hit_rate": float(np.mean(n_hits > 0)),
        "coverage": float(np.unique(valid).size / n_tracks),
    }
    if popularity is not None:
        popularity = np.asarray(popularity, dtype=np.float64)
        n_listeners = float(n_listeners if n_listeners is not None else max(popularity.max(), 1.0))
        out["novelty"] = float(np.mean(-np.log2(np.maximum(popularity[valid], 1.0) / n_listeners))) \
            if valid.size else 0.0
    if item_features is not None:
        out["diversity"] = _intra_list_diversity(recs, item_features)
    out["users"] = int(len(users))
    return out


def _hits(recs: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """``hits[u, r] = 1.0`` when ``recs[u, r]`` is relevant for user ``u`` (padding never is)."""
    n_tracks = relevant.shape[1]
    rows = np.repeat(np.arange(relevant.shape[0], dtype=np.int64), np.diff(relevant.indptr))
    keys = np.sort(rows * n_tracks + relevant.indices)
    query = np.arange(len(recs), dtype=np.int64)[:, None] * n_tracks + recs
    found = np.isin(query, keys) & (recs >= 0)
    return found.astype(np.float64)


def _intra_list_diversity(recs: np.ndarray, item_features: sp.spmatrix) -> float:
    """Mean over lists of the mean pairwise cosine distance of the listed tracks' content rows.

    With unit rows ``x``, the sum over ordered pairs ``i != j`` of ``cos(i, j)``
    is ``|sum_i x_i|^2 - sum_i |x_i|^2``: two sparse products for all lists at once.
    """
    features = sp.csr_matrix(item_features, dtype=np.float64)
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    unit = sp.csr_matrix(sp.diags(safe_inverse(norms)) @ features)
    unit_norm2 = np.asarray(unit.multiply(unit).sum(axis=1)).ravel()  # 1, or 0 for an empty row
    valid = recs >= 0
    lengths = valid.sum(axis=1)
    rows = np.repeat(np.arange(len(recs)), lengths)
    member = sp.csr_matrix((np.ones(len(rows)), (rows, recs[valid])), shape=(len(recs), features.shape[0]))
    totals = member @ unit
    pair_sum = np.asarray(totals.multiply(totals).sum(axis=1)).ravel() - member @ unit_norm2
    scored = lengths >= 2
    if not scored.any():
        return 0.0
    m = lengths[scored].astype(np.float64)
    return float(np.mean(1.0 - pair_sum[scored] / (m * (m - 1))))


def precision_at_k(recommended, relevant, k: int = 10) -> float:
    """Mean share of the top-k that is relevant (see :func:`ranking_metrics`)."""
    return ranking_metrics(recommended, relevant, k)["precision"]


def recall_at_k(recommended, relevant, k: int = 10) -> float:
    """Mean share of the relevant tracks found in the top-k (see :func:`ranking_metrics`)."""
    return ranking_metrics(recommended, relevant, k)["recall"]


def ndcg_at_k(recommended, relevant, k: int = 10) -> float:
    """Mean normalised discounted cumulative gain with binary gains (see :func:`ranking_metrics`)."""
    return ranking_metrics(recommended, relevant, k)["ndcg"]


def map_at_k(recommended, relevant, k: int = 10) -> float:
    """Mean average precision at k (see :func:`ranking_metrics`)."""
    return ranking_metrics(recommended, relevant, k)["map"]


def hit_rate_at_k(recommended, relevant, k: int = 10) -> float:
    """Share of users with at least one relevant track in the top-k (see :func:`ranking_metrics`)."""
    return ranking_metrics(recommended, relevant, k)["hit_rate"]


def catalogue_coverage(recommended, relevant, k: int = 10) -> float:
    """Share of the catalogue in at least one top-k list (see :func:`ranking_metrics`)."""
    return ranking_metrics(recommended, relevant, k)["coverage"]


def novelty(recommended, relevant, popularity, k: int = 10, n_listeners: int | None = None) -> float:
    """Mean self-information, in bits, of the recommended tracks (see :func:`ranking_metrics`)."""
    return ranking_metrics(recommended, relevant, k, popularity=popularity, n_listeners=n_listeners)["novelty"]


def intra_list_diversity(recommended, relevant, item_features, k: int = 10) -> float:
    """Mean pairwise content distance inside each top-k list (see :func:`ranking_metrics`)."""
    return ranking_metrics(recommended, relevant, k, item_features=item_features)["diversity"]


# -------------------------------------------------------- recommendations
def _history(train_by_user: sp.csr_matrix, user: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = train_by_user.indptr[user], train_by_user.indptr[user + 1]
    return train_by_user.indices[lo:hi].astype(np.int64), train_by_user.data[lo:hi]


def rank_popular(split: Split, users, k: int) -> np.ndarray:
    """Top-``k`` most listened tracks (in training) each listener has not played, shape (n_users, k).

    Ties: catalogue order. ``-1`` pads when fewer tracks are left.
    """
    popularity = np.diff(split.train.indptr).astype(np.float64)
    train_by_user = to_csr32(split.train.T.tocsr())
    order = np.lexsort((np.arange(len(popularity)), -popularity))
    out = np.full((len(users), k), -1, dtype=np.int64)
    for row, user in enumerate(np.asarray(users, dtype=np.int64)):
        seeds, _ = _history(train_by_user, user)
        head = order[:k + len(seeds)]  # only these can make the list
        ranked = head[~np.isin(head, seeds)][:k]
        out[row, :len(ranked)] = ranked
    return out


def _tie_rank(popularity: np.ndarray) -> np.ndarray:
    """Position of each track in the tie-break order: more listeners first, then catalogue order."""
    order = np.lexsort((np.arange(len(popularity)), -popularity))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


# The block helpers below hold a block of listeners as the *columns* of an
# (n_tracks, n_listeners) array: the collaborative product comes out in that
# layout, and every reduction then runs over contiguous rows.
def _block_top(scores: np.ndarray, k: int, tie_rank: np.ndarray, chunk: int = 64) -> np.ndarray:
    """Top-``k`` tracks of each column by (score desc, listeners desc, index asc), shape (n_columns, k).

    ``scores`` is (n_tracks, n_columns) with ``-inf`` at excluded tracks;
    columns with fewer than ``k`` finite scores are padded with ``-1``. The
    k-th largest of a column's group maxima bounds its k-th score from below,
    so only the tracks at or above it (the top k and every tie) are sorted.
    """
    n, n_cols = scores.shape
    out = np.full((n_cols, k), -1, dtype=np.int64)
    full = n - n % chunk
    # Strided groups: group j holds tracks j, j + n//chunk, ... (one fast pass over the rows).
    maxima = scores[:full].reshape(chunk, -1, n_cols).max(axis=0) if full else np.empty((0, n_cols))
    if full < n:
        maxima = np.vstack((maxima, scores[full:].max(axis=0, keepdims=True)))
    width = maxima.shape[0]
    bound = np.partition(maxima, width - k, axis=0)[width - k] if k <= width else np.full(n_cols, -np.inf)
    # A column with fewer than k finite scores has bound -inf: keep only its finite scores.
    bound = np.where(np.isfinite(bound), bound, np.nextafter(-np.inf, 0.0))
    tracks, cols = np.nonzero(scores >= bound)
    values = scores[tracks, cols]
    order = np.lexsort((tie_rank[tracks], -values, cols))
    tracks, cols = tracks[order], cols[order]
    first = np.searchsorted(cols, np.arange(n_cols))
    position = np.arange(len(cols)) - first[cols]
    keep = position < k
    out[cols[keep], position[keep]] = tracks[keep]
    return out


def _minmax_columns(values: np.ndarray, excluded: np.ndarray, filler: np.ndarray) -> np.ndarray:
    """Each column rescaled to [0, 1] over its candidates, 0 where constant (``engine.hybrid.minmax_normalise``).

    ``excluded`` holds flat indices of the excluded entries and ``filler`` the
    flat index of a candidate of the same column; excluded entries are
    overwritten with it so that plain minima and maxima see candidates only.
    ``values`` is modified in place and returned normalised.
    """
    values.flat[excluded] = values.flat[filler]
    lo = values.min(axis=0)
    hi = values.max(axis=0)
    flat = hi - lo <= 1e-12 * np.maximum(1.0, np.abs(hi))
    values -= lo
    values /= np.where(flat, 1.0, hi - lo)
    np.clip(values, 0.0, 1.0, out=values)
    values[:, flat] = 0.0
    return values


def _exclusions(profiles: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Flat (track, column) indices of each listener's played tracks and of the listener's first candidate."""
    n_cols, n = profiles.shape
    lengths = np.diff(profiles.indptr)
    cols = np.repeat(np.arange(n_cols, dtype=np.int64), lengths)
    # Sorted distinct tracks: the first candidate is the number of leading tracks 0, 1, 2, ...
    position = np.arange(profiles.nnz) - np.repeat(profiles.indptr[:-1], lengths)
    fillers = np.bincount(cols, weights=profiles.indices == position, minlength=n_cols).astype(np.int64)
    if np.any(fillers >= n):
        raise InvalidParameterError("a test listener has played every track: nothing left to recommend")
    return profiles.indices.astype(np.int64) * n_cols + cols, fillers[cols] * n_cols + cols


_DENSE_ENTRIES = 8_000_000


def _collab_columns(model, transposed: sp.csr_matrix, profiles: sp.csr_matrix,
                    dense_entries: int = _DENSE_ENTRIES, seed_chunk: int = 256) -> np.ndarray:
    """Collaborative scores of a block of listeners, dense (n_tracks, n_listeners), C-ordered.

    Column ``u`` is ``sum_i w_ui s(i, .)``: the sum :meth:`CollaborativeModel.scores`
    forms for one listener, done for the block in compiled code. ``transposed``
    is ``S.T`` (truncated model) or ``R.T`` as CSR, so products write contiguous rows.

    * Truncated model: ``(profiles @ S).T``.
    * Few listeners in all (``n_block * n_users <= dense_entries``): ``R.T @ (profiles @ L).T``,
      one sparse @ dense product.
    * Otherwise seed by seed: the rows ``s(i, .) = L[i] @ R`` of the block's
      distinct seeds, a chunk at a time, each added to the listeners that have
      the seed. A popular seed is shared by many listeners, so its row, the
      expensive part, is formed once per block instead of once per listener.
    """
    if hasattr(model, "similarity_"):
        return np.asarray(transposed @ np.ascontiguousarray(profiles.T.toarray()))
    n_block, n_tracks = profiles.shape
    if n_block * model.left_.shape[1] <= dense_entries:
        per_listener = (profiles @ model.left_).toarray()
        return np.asarray(transposed @ np.ascontiguousarray(per_listener.T))
    by_seed = sp.csc_matrix(profiles)
    seeds = np.flatnonzero(np.diff(by_seed.indptr))
    out = np.zeros((n_block, n_tracks))
    for first in range(0, len(seeds), seed_chunk):
        chunk = seeds[first:first + seed_chunk]
        # float64 like the scorer's sums (L and R are stored as float32)
        rows = (model.left_[chunk].astype(np.float64) @ model.right_).toarray()  # (n_chunk, n_tracks)
        weights = sp.csr_matrix(by_seed[:, chunk])
        listeners = np.flatnonzero(np.diff(weights.indptr))
        out[listeners] += weights[listeners] @ rows
    return np.ascontiguousarray(out.T)


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


def _block(train_by_user: sp.csr_matrix, chunk: np.ndarray, content=None):
    """Profiles (normalised history weights), exclusions and normalised content scores of a block of listeners."""
    n_tracks = train_by_user.shape[1]
    profiles = _profiles(train_by_user, chunk)
    excluded, filler = _exclusions(profiles)
    content_norm = np.zeros((n_tracks, len(chunk))) if content is not None else None
    for offset in range(len(chunk) if content is not None else 0):
        lo, hi = profiles.indptr[offset], profiles.indptr[offset + 1]
        if hi > lo:
            content_norm[:, offset] = content.similarity(profiles.indices[lo:hi].astype(np.int64),
                                                         profiles.data[lo:hi])
    if content is not None:
        _minmax_columns(content_norm, excluded, filler)
    return profiles, excluded, filler, content_norm


def rank_hybrid(content, models: dict, split: Split, users, alphas: dict, k: int,
                block_entries: int = 8_000_000, collab_entries: int = 50_000_000) -> dict:
    """Top-``k`` lists of the engine's hybrid scoring for each model and alpha.

    For every listener: seeds = training history, weights =
    :func:`history_weights`, candidates = every track not played in training,
    then the formula of :mod:`engine.hybrid` (both components min-max
    normalised over the candidates, blended by alpha, ties by listeners then
    catalogue position), as ``Recommender.recommend_for_user`` ranks on a
    served artifact set. Listeners are processed in blocks, the collaborative
    scores of a block by sparse products, the content scores by
    ``content.similarity`` one listener at a time.

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
    block_entries : int, default 8_000_000
        Listeners per (inner) block are chosen so its dense scores stay below this many entries.
    collab_entries : int, default 50_000_000
        The same for the outer blocks whose collaborative scores are formed together.

    Returns
    -------
    dict of (str, float) to ndarray of shape (n_users, k), int64
        ``-1`` pads lists of listeners with fewer than ``k`` candidates.
    """
    popularity = np.diff(split.train.indptr).astype(np.float64)
    tie_rank = _tie_rank(popularity)
    train_by_user = to_csr32(split.train.T.tocsr())
    n_tracks = train_by_user.shape[1]
    users = np.asarray(users, dtype=np.int64)
    out = {(name, a): np.full((len(users), k), -1, dtype=np.int64) for name in models for a in alphas[name]}
    size = int(max(1, min(256, block_entries // n_tracks)))
    # Collaborative scores are formed for an outer block of listeners at once (a popular
    # seed's row is then shared by all of them); content, normalisation and ranking by inner block.
    outer = size if size * train_by_user.shape[0] <= _DENSE_ENTRIES else \
        int(max(size, min(len(users), collab_entries // n_tracks)))
    for name, model in models.items():
        with_content = any(a > 0 for a in alphas[name])
        transposed = (model.similarity_ if hasattr(model, "similarity_") else model.right_).T.tocsr()
        for start in range(0, len(users), outer):
            group = users[start:start + outer]
            collab = _collab_columns(model, transposed, _profiles(train_by_user, group))
            for first in range(0, len(group), size):
                chunk = group[first:first + size]
                profiles, excluded, filler, content_norm = _block(train_by_user, chunk,
                                                                  content if with_content else None)
                collab_norm = _minmax_columns(np.array(collab[:, first:first + size]), excluded, filler)
                for a in alphas[name]:
                    if a == 0.0:  # 0 * content + 1 * collab is collab exactly
                        scores = collab_norm.copy()
                    else:
                        scores = a * content_norm
                        scores += (1.0 - a) * collab_norm
                    scores.flat[excluded] = -np.inf
                    out[(name, a)][start + first:start + first + len(chunk)] = _block_top(scores, k, tie_rank)
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


# ------------------------------------------------------------- comparison
@dataclass
class Comparison:
    """Everything one comparison measured, ready for ``evaluation.json``.

    Attributes
    ----------
    runs : list of dict
        ``{"method", "alpha", "k", "metrics"}`` for popularity, content only,
        collaborative only and the hybrid alpha grid of the chosen model.
    variants : list of dict
        ``{"name", "params", "alpha", "k", "metrics"}`` for every other model measured.
    chosen : dict
        The defaults picked by :func:`choose_defaults`.
    protocol : dict
        Split, sampling and timing.
    """

    runs: list = field(default_factory=list)
    variants: list = field(default_factory=list)
    chosen: dict = field(default_factory=dict)
    protocol: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "chosen": self.chosen, "runs": self.runs, "variants": self.variants}


def choose_defaults(candidates: list[dict], k: int = 10, min_coverage: float = 0.10,
                    coverage_ceiling: float = 1.0) -> dict:
    """Pick the (model, alpha) with the best ndcg@k among those with enough catalogue coverage@k.

    The floor is ``min_coverage * coverage_ceiling``: when the evaluated lists
    have fewer slots than the catalogue has tracks (``n_listeners * k <
    n_tracks``, a sample of a large catalogue), no method can cover more than
    that share, so the floor shrinks with it. Ties go to higher coverage, then
    to the earlier candidate. When no candidate reaches the floor the best
    ndcg@k wins and the rule says so.

    Parameters
    ----------
    candidates : list of dict
        ``{"name", "params", "alpha", "k", "metrics"}`` entries.
    k : int, default 10
    min_coverage : float, default 0.10
    coverage_ceiling : float, default 1.0
        ``min(1, n_listeners * k / n_tracks)``.
    """
    pool = [c for c in candidates if c["k"] == k]
    if not pool:
        raise InvalidParameterError(f"no candidate was measured at k={k}")
    floor = min_coverage * min(1.0, coverage_ceiling)
    eligible = [c for c in pool if c["metrics"]["coverage"] >= floor]
    best = max(eligible or pool, key=lambda c: (c["metrics"]["ndcg"], c["metrics"]["coverage"]))
    scaled = "" if floor == min_coverage else f" ({min_coverage:g} x {coverage_ceiling:.3f} list slots per track)"
    rule = (f"highest ndcg@{k} among the {len(eligible)} of {len(pool)} measured (model, alpha) pairs "
            f"with coverage@{k} >= {floor:.4g}{scaled}")
    if not eligible:
        rule = f"no measured pair reached coverage@{k} >= {floor:.4g}{scaled}; highest ndcg@{k} overall"
    return {"name": best["name"], "alpha": best["alpha"], "collaborative": dict(best["params"]),
            "rule": rule, "metrics": dict(best["metrics"]), "k": k}


def compare_methods(split: Split, content, candidates: dict, *, alphas=ALPHA_GRID, ks=(10, 20),
                    tune_alphas: int = 2, neighbourhoods=(), max_product: int = 50_000_000,
                    max_users: int | None = None, seed: int = 0, min_coverage: float = 0.10,
                    item_features: sp.spmatrix | None = None) -> Comparison:
    """Compare popularity, content only, collaborative only and the hybrid over an alpha grid.

    Steps: every collaborative candidate is fitted on ``split.train`` and
    ranked alone (alpha = 0); the ``tune_alphas`` best by ndcg@k (first of
    ``ks``) also get the whole alpha grid; the defaults are the best
    (model, alpha) pair by :func:`choose_defaults`; the chosen model's grid
    becomes the ``collaborative`` (alpha 0), ``content`` (alpha 1) and
    ``hybrid`` runs.

    Parameters
    ----------
    split : Split
    content : ContentIndex
        Content of the catalogue built without held-out information.
    candidates : dict of str to dict
        ``{name: CollaborativeModel params}``.
    alphas : tuple of float, default ALPHA_GRID
    ks : tuple of int, default (10, 20)
        Cut-offs; lists are ranked once at ``max(ks)`` and cut.
    tune_alphas : int, default 2
        How many of the best collaborative candidates get the alpha grid.
    neighbourhoods : tuple of int, default ()
        Neighbourhood sizes measured on the best candidate (evaluation only;
        skipped when the item x item product would exceed ``max_product`` entries).
    max_users : int, optional
        Sample at most this many test listeners (seeded); all by default.
    seed : int, default 0
        Seed of the listener sample.
    min_coverage : float, default 0.10
        Coverage floor of :func:`choose_defaults`.
    item_features : sparse matrix of shape (n_tracks, n_features), optional
        Content rows for intra-list diversity (default ``content.to_csr()``).
    """
    alphas = tuple(check_alpha(a) for a in alphas)
    ks = tuple(sorted(check_k(k) for k in ks))
    start = time.perf_counter()
    users = split.test_users
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    measure = _Measure(split, users, ks, content.to_csr() if item_features is None else item_features)
    models = {name: CollaborativeModel(**params).fit(split.train) for name, params in candidates.items()}
    log.info("evaluation: %d test listeners (of %d), %d collaborative candidates", len(users),
             len(split.test_users), len(models))

    # Every model alone, then the alpha grid for the best few.
    alone = rank_hybrid(content, models, split, users, {n: (0.0,) for n in models}, measure.depth)
    measured = {key: measure(recs) for key, recs in alone.items()}
    first = ks[0]
    best = sorted(models, key=lambda n: -measured[(n, 0.0)][first]["ndcg"])[:max(1, tune_alphas)]
    grid = rank_hybrid(content, {n: models[n] for n in best}, split, users, {n: alphas for n in best},
                       measure.depth)
    measured.update({key: measure(recs) for key, recs in grid.items()})
    entries = [{"name": n, "params": dict(candidates[n]), "alpha": a, "k": k, "metrics": m[k]}
               for (n, a), m in measured.items() for k in ks]
    chosen = choose_defaults([e for e in entries if e["name"] in best], first, min_coverage,
                             coverage_ceiling=len(users) * first / split.train.shape[0])

    name = chosen["name"]
    popular = measure(rank_popular(split, users, measure.depth))
    comparison = Comparison(chosen=chosen)
    comparison.runs += [_run("popularity", None, k, popular[k]) for k in ks]
    comparison.runs += [_run("content", None, k, measured[(name, 1.0)][k]) for k in ks if 1.0 in alphas]
    comparison.runs += [_run("collaborative", None, k, measured[(name, 0.0)][k]) for k in ks]
    comparison.runs += [_run("hybrid", a, k, measured[(name, a)][k]) for a in alphas for k in ks]
    comparison.variants = [e for e in entries if e["name"] != name]
    comparison.variants += _neighbourhood_variants(content, models[best[0]], best[0], candidates[best[0]],
                                                   split, users, measure, neighbourhoods, max_product,
                                                   comparison.protocol)
    comparison.protocol.update({
        **split.summary(), "evaluated_listeners": int(len(users)), "sampled": len(users) < len(split.test_users),
        "sample_seed": seed, "relevance": "every held-out track of the listener (gain 1)",
        "excluded": "tracks the listener played in training",
        "history_weights": "1 + ln(playcount), as recommend_for_user", "ks": list(ks), "alphas": list(alphas),
        "novelty_base": "training listeners", "diversity_features": "content rows (cosine distance)",
        "seconds": round(time.perf_counter() - start, 2)})
    log.info("evaluation: chose %s at alpha=%s (ndcg@%d %.4f, coverage@%d %.4f) in %.1f s", name,
             chosen["alpha"], first, chosen["metrics"]["ndcg"], first, chosen["metrics"]["coverage"],
             comparison.protocol["seconds"])
    return comparison


class _Measure:
    """``ranking_metrics`` of top lists for every cut-off, against one split's held-out tracks."""

    def __init__(self, split: Split, users: np.ndarray, ks: tuple, item_features):
        self.ks, self.depth = ks, ks[-1]
        self.relevant = split.test[users]
        self.popularity = np.diff(split.train.indptr).astype(np.float64)
        self.n_listeners = int(np.count_nonzero(np.diff(split.train.T.tocsr().indptr)))
        self.item_features = item_features

    def __call__(self, recs: np.ndarray) -> dict:
        out = {}
        for k in self.ks:
            out[k] = ranking_metrics(recs, self.relevant, k, popularity=self.popularity,
                                     n_listeners=self.n_listeners, item_features=self.item_features)
            del out[k]["users"]  # recorded once, in the protocol
        return out


def _neighbourhood_variants(content, model, name: str, params: dict, split: Split, users, measure: _Measure,
                            sizes, max_product: int, protocol: dict) -> list[dict]:
    """The model cut to each neighbourhood size, alone; none when the item x item product is too large."""
    if not sizes:
        return []
    if product_size(model) > max_product:
        protocol["neighbourhoods_skipped"] = (f"the item x item product would have up to {product_size(model)} "
                                              f"entries (> {max_product})")
        log.info("evaluation: neighbourhood sizes skipped: %s", protocol["neighbourhoods_skipped"])
        return []
    variants = []
    for size in sizes:
        truncated = TruncatedNeighbours(model, size).fit()
        recs = rank_hybrid(content, {"t": truncated}, split, users, {"t": (0.0,)}, measure.depth)[("t", 0.0)]
        metrics = measure(recs)
        variants += [{"name": f"{name}, {size} neighbours", "params": {**params, "neighbours": size},
                      "alpha": 0.0, "k": k, "metrics": metrics[k]} for k in measure.ks]
    return variants


def _run(method: str, alpha, k: int, metrics: dict) -> dict:
    return {"method": method, "alpha": alpha, "k": k, "metrics": dict(metrics)}
