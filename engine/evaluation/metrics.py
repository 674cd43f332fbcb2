"""Ranking metrics of top-k lists against held-out tracks, all in one pass.

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
    new_share@k  = share of the recommended tracks with no training listener (never played)
    diversity@k  = mean over lists of the mean over pairs of 1 - cos(x_i, x_j)
                   on the content rows x (intra-list diversity; 1 for unrelated tracks)
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._sparse import safe_inverse
from .._validation import check_k
from ..errors import InvalidParameterError

__all__ = ["METRICS", "ranking_metrics", "precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k",
           "hit_rate_at_k", "catalogue_coverage", "novelty", "intra_list_diversity"]

#: Keys of the dict returned by :func:`ranking_metrics`, in display order.
METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty", "new_share", "diversity")


def ranking_metrics(recommended, relevant: sp.spmatrix, k: int = 10, *, popularity=None,
                    n_listeners: int | None = None, item_features: sp.spmatrix | None = None,
                    per_listener: bool = False) -> dict:
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
        inputs are given, ``novelty``, ``new_share`` and ``diversity`` (floats), plus ``users``
        (number of users averaged over, int); with ``per_listener``, also
        ``ndcg_by_listener``, shape (users,), in the row order of ``relevant``.
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
    ndcg = (hits * discount).sum(axis=1) / ideal
    out = {
        "precision": float(np.mean(n_hits / k)),
        "recall": float(np.mean(n_hits / n_relevant)),
        "ndcg": float(np.mean(ndcg)),
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
    if popularity is not None:
        out["new_share"] = float(np.mean(popularity[valid] == 0)) if valid.size else 0.0
    out["users"] = int(len(users))
    if per_listener:
        out["ndcg_by_listener"] = ndcg
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
    is ``|sum_i x_i|^2 - sum_i |x_i|^2``: two sparse products for all lists at once,
    over the rows of the listed tracks only.
    """
    valid = recs >= 0
    listed, position = np.unique(recs[valid], return_inverse=True)
    features = sp.csr_matrix(sp.csr_matrix(item_features)[listed], dtype=np.float64)
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    unit = sp.csr_matrix(sp.diags(safe_inverse(norms)) @ features)
    unit_norm2 = np.asarray(unit.multiply(unit).sum(axis=1)).ravel()  # 1, or 0 for an empty row
    lengths = valid.sum(axis=1)
    rows = np.repeat(np.arange(len(recs)), lengths)
    member = sp.csr_matrix((np.ones(len(rows)), (rows, position)), shape=(len(recs), len(listed)))
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
