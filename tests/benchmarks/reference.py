"""The reference method (the original Streamlit implementation), an exactness check, and the bandwidth floor.

Reference, per seed track ``i`` (as the Streamlit app did it, on the same
artifact set)::

    content = cosine_similarity(X[i], X)          # whole content matrix
    collab  = cosine_similarity(P[i], P)          # whole track x user play-count matrix
    content, collab = minmax(content), minmax(collab)
    hybrid  = alpha * content + (1 - alpha) * collab
    top     = np.argsort(hybrid)[::-1], without the seed, first k

Exactness: our top-k is compared with a brute-force evaluation of the scoring
documented in :mod:`engine.hybrid`, written with scipy and numpy on the stored
matrices and none of the engine's query code: the content rows ``X @ X.T``,
the float64 sparse product ``L[i] @ R`` over the whole catalogue, cold seeds
replaced by their stored content neighbours and cold candidates estimated
from theirs, min-max over the candidates, blend, order by score, listeners,
catalogue position.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity

from engine import Recommender
from engine.hybrid import history_weights
from tests import oracle

from .queries import summarize

log = logging.getLogger(__name__)


# ------------------------------------------------------------- reference
def reference_matrices(rec: Recommender) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The content matrix ``X`` and the raw play-count matrix ``P`` (tracks x users), CSR float32."""
    users = rec.users
    n_tracks, n_users = len(rec.tracks), len(users)
    by_user = sp.csr_matrix((np.asarray(users.playcounts), np.asarray(users.tracks), np.asarray(users.indptr)),
                            shape=(n_users, n_tracks))
    return rec.scorer.content.to_csr(), by_user.T.tocsr()


def _minmax(values: np.ndarray) -> np.ndarray:
    lo, hi = values.min(), values.max()
    return (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)


def reference_recommend(content: sp.csr_matrix, plays: sp.csr_matrix, i: int, k: int = 10,
                        alpha: float = 0.5) -> np.ndarray:
    """Top-``k`` rows for seed ``i`` exactly as the Streamlit predecessor computed them."""
    content_sim = cosine_similarity(content[i], content).ravel()
    collab_sim = cosine_similarity(plays[i], plays).ravel()
    hybrid = alpha * _minmax(content_sim) + (1.0 - alpha) * _minmax(collab_sim)
    order = np.argsort(hybrid)[::-1]
    return order[order != i][:k]


def time_reference(rec: Recommender, seeds: np.ndarray, k: int = 10, alpha: float = 0.5) -> dict:
    """Latency of the reference method over ``seeds`` (rows), after one untimed call."""
    content, plays = reference_matrices(rec)
    reference_recommend(content, plays, int(seeds[0]), k, alpha)
    samples = []
    for i in seeds:
        start = time.perf_counter_ns()
        reference_recommend(content, plays, int(i), k, alpha)
        samples.append(time.perf_counter_ns() - start)
    return summarize(samples)


def time_ours(rec: Recommender, seeds: np.ndarray, k: int = 10, alpha: float = 0.5) -> dict:
    """Latency of ``rec.recommend`` on the same seeds, measured back to back with the reference."""
    ids = rec.tracks["track_id"].to_numpy()
    for i in seeds[:10]:
        rec.recommend(ids[i], k=k, alpha=alpha)
    samples = []
    for i in seeds:
        start = time.perf_counter_ns()
        rec.recommend(ids[i], k=k, alpha=alpha)
        samples.append(time.perf_counter_ns() - start)
    return summarize(samples)


# ------------------------------------------------------------- exactness
class BruteForce:
    """The documented scoring evaluated the slow, obvious way, for checking the fast path."""

    def __init__(self, rec: Recommender):
        self.rec = rec
        self.content = sp.csr_matrix(rec.scorer.content.to_csr(), dtype=np.float64)
        collab = rec.scorer.collab
        self.left = sp.csr_matrix(collab.left_, dtype=np.float64)
        self.right = sp.csr_matrix(collab.right_, dtype=np.float64)
        self.popularity = rec.tracks["n_listeners"].to_numpy()
        cold = rec.scorer.cold  # the stored neighbour table: data, read the obvious way
        self.cold = {} if cold is None else {
            int(j): (np.asarray(n, dtype=np.int64), np.asarray(w, dtype=np.float64))
            for j, n, w in zip(cold.rows_, cold.neighbours_, cold.weights_)}

    def top_k(self, seeds, weights, exclude, k: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, scores)`` of the exact top-``k``."""
        n = self.content.shape[0]
        w = np.asarray(weights, dtype=np.float64)
        w = w / w.sum()
        seeds = np.asarray(seeds, dtype=np.int64)
        content_raw = np.asarray((sp.csr_matrix(w[None, :]) @ self.content[seeds] @ self.content.T).todense()).ravel()
        profile = np.zeros(n)  # the seeds' weights, cold seeds spread over their neighbours
        for seed, weight in zip(seeds, w):
            if seed in self.cold:
                np.add.at(profile, self.cold[seed][0], weight * self.cold[seed][1])
            else:
                profile[seed] += weight
        used = np.flatnonzero(profile)
        collab_raw = np.asarray((sp.csr_matrix(profile[used][None, :]) @ self.left[used] @ self.right)
                                .todense()).ravel()
        for track, (neighbours, omega) in self.cold.items():
            collab_raw[track] = omega @ collab_raw[neighbours]
        candidates = np.ones(n, dtype=bool)
        candidates[seeds] = False
        candidates[exclude] = False
        score = oracle.normalised_blend(content_raw, collab_raw, candidates, alpha)
        rows = np.array(oracle.top_k(score, candidates, self.popularity, k), dtype=np.int64)
        return rows, score[rows]


def check_exactness(rec: Recommender, seeds: np.ndarray, users: np.ndarray, sets: np.ndarray,
                    k: int = 10, alpha: float = 0.5) -> dict:
    """Compare our top-k with the brute force for single seeds, listeners and seed sets.

    Returns
    -------
    dict
        Per kind: ``queries``, ``identical_lists`` (same tracks in the same
        order), ``recall`` (mean share of the exact top-k we return) and
        ``max_score_error``.
    """
    brute = BruteForce(rec)
    ids = rec.tracks["track_id"].to_numpy()
    row_of = {t: r for r, t in enumerate(ids)}
    out = {}

    def compare(kind, ours, exact_rows, exact_scores):
        entry = out.setdefault(kind, {"queries": 0, "identical_lists": 0, "recall_sum": 0.0,
                                      "max_score_error": 0.0})
        rows = np.array([row_of[r.track_id] for r in ours])
        entry["queries"] += 1
        entry["identical_lists"] += int(np.array_equal(rows, exact_rows))
        entry["recall_sum"] += len(set(rows.tolist()) & set(exact_rows.tolist())) / max(len(exact_rows), 1)
        scores = np.array([r.score for r in ours])
        if len(scores) == len(exact_scores):
            entry["max_score_error"] = max(entry["max_score_error"], float(np.abs(scores - exact_scores).max()))

    for i in seeds:
        exact = brute.top_k(np.array([i]), [1.0], np.empty(0, dtype=np.int64), k, alpha)
        compare("recommend", rec.recommend(ids[i], k=k, alpha=alpha), *exact)
    for code in users:
        rows, counts = rec.users.history(int(code))
        exact = brute.top_k(rows, history_weights(counts), rows, k, alpha)
        compare("recommend_for_user", rec.recommend_for_user(rec.users.user_id(int(code)), k=k, alpha=alpha),
                *exact)
    for seed_set in sets:
        unique = np.unique(seed_set)
        exact = brute.top_k(unique, np.ones(len(unique)), np.empty(0, dtype=np.int64), k, alpha)
        compare("recommend_for_tracks", rec.recommend_for_tracks(list(ids[seed_set]), k=k, alpha=alpha), *exact)
    for entry in out.values():
        entry["recall"] = entry.pop("recall_sum") / max(entry["queries"], 1)
    return out


# -------------------------------------------------------- bandwidth floor
def bytes_touched(rec: Recommender, row: int) -> dict:
    """Bytes a single-seed query must read: the collaborative gather and one pass over the content data.

    ``collab``: the seed's row of ``L`` and the rows of ``R`` of its listeners
    (index + value per entry, plus the row pointers). ``content``: every
    per-track content array scanned once, plus the entries of the tag columns
    of the seed's tags. ``output``: one float64 score per track.
    """
    collab = rec.scorer.collab
    left, right = collab.left_, collab.right_
    lo, hi = int(left.indptr[row]), int(left.indptr[row + 1])
    listeners = np.asarray(left.indices[lo:hi])
    entry = left.data.itemsize + left.indices.itemsize
    user_entries = int((np.asarray(right.indptr[listeners + 1]) - np.asarray(right.indptr[listeners])).sum())
    collab_bytes = (hi - lo) * entry + user_entries * entry + 2 * listeners.size * right.indptr.itemsize
    n = len(rec.tracks)
    content_index = rec.scorer.content
    content_bytes = 0
    for name, part in content_index.parts.items():
        if sp.issparse(part):
            continue
        if getattr(part, "shape", (0,))[0] == n:
            content_bytes += part.nbytes
    tags = content_index.parts.get("tags")
    if tags is not None:
        csc = content_index.parts["tags_csc"]
        columns = np.asarray(tags.indices[tags.indptr[row]:tags.indptr[row + 1]])
        entries = int((np.asarray(csc.indptr[columns + 1]) - np.asarray(csc.indptr[columns])).sum())
        content_bytes += entries * (csc.data.itemsize + csc.indices.itemsize)
    return {"collab": collab_bytes, "collab_entries": user_entries, "content": content_bytes, "output": 8 * n,
            "total": collab_bytes + content_bytes + 8 * n}


def bandwidth_floor(rec: Recommender, seeds: np.ndarray, bandwidth: float) -> dict:
    """Bytes touched and the implied minimum time (bytes / bandwidth) at the median and p99 seed."""
    touched = [bytes_touched(rec, int(i)) for i in seeds]
    totals = np.array([t["total"] for t in touched], dtype=np.float64)
    entries = np.array([t["collab_entries"] for t in touched], dtype=np.float64)
    out = {}
    for label, q in (("p50", 50), ("p99", 99), ("max", 100)):
        total = float(np.percentile(totals, q))
        out[label] = {"bytes": total, "floor_ms": total / bandwidth * 1e3,
                      "collab_entries": float(np.percentile(entries, q))}
    return out


def reference_bytes(content: sp.csr_matrix, plays: sp.csr_matrix) -> int:
    """Bytes the reference reads per query at least: both whole matrices once."""
    return sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in (content, plays))


def user_gather_entries(rec: Recommender, codes: np.ndarray) -> dict:
    """Entries of ``R`` a listener query gathers: over the union of the listeners of the history
    tracks that have no precomputed row (median and p95 over ``codes``)."""
    collab, heavy = rec.scorer.collab, rec.scorer.heavy
    left, right = collab.left_, collab.right_
    per_user = np.diff(np.asarray(right.indptr))
    entries, cached = [], []
    for code in codes:
        rows, _ = rec.users.history(int(code))
        light = rows if heavy is None else rows[heavy.slots(rows) < 0]
        cached.append(len(rows) - len(light))
        users = np.unique(np.concatenate([np.asarray(left.indices[left.indptr[r]:left.indptr[r + 1]])
                                          for r in light])) if len(light) else np.empty(0, dtype=np.int64)
        entries.append(int(per_user[users].sum()))
    return {"p50": float(np.median(entries)), "p95": float(np.percentile(entries, 95)),
            "cached_rows_p50": float(np.median(cached))}
