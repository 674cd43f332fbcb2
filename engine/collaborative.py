"""Item-item collaborative filtering on the track x user play-count matrix.

Raw play counts let a few heavy listeners dominate every similarity, so counts
are first reweighted by one of the pure functions in :data:`WEIGHTINGS`
(``raw``, ``log``, ``bm25``, ``tfidf``). Two similarities are offered:

``cosine``
    ``s(i, j) = <W_i, W_j> / (|W_i| |W_j|)`` on the weighted rows ``W``
    (or the asymmetric ``|W_i| ** (2a) |W_j| ** (2 - 2a)``, parameter ``asymmetry``).
``rp3beta``
    The random-walk similarity of Paudel et al. (2017): the probability of
    walking track i -> listener u -> track j, ``P(u|i) P(j|u)``, summed over
    listeners and divided by ``popularity(j) ** beta`` to favour the long tail.
    Options (all exact): the two steps may use different weightings, the
    probabilities a power (``exponent``), the penalty a shift
    (``(popularity(j) + popularity_shift) ** beta``) and seeds known from few
    listeners a shrinkage (``n / (n + seed_shrink)``).

Both are ``s(i, .) = L[i] @ R`` for a track x user matrix ``L`` and a
user x track matrix ``R`` with the sparsity pattern of the play matrix, so a
query touches only the seed's listeners and their tracks, and the scores are
exact (no neighbour truncation).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._kernels import scatter_rows_through
from ._sparse import column_scale, concat_ranges, row_scale, safe_inverse, to_csr32
from ._validation import check_choice, check_rows, check_weights
from .errors import InvalidParameterError

__all__ = ["WEIGHTINGS", "SIMILARITIES", "CollaborativeModel",
           "raw_weight", "log_weight", "bm25_weight", "tfidf_weight"]


# ------------------------------------------------------------- weightings
def raw_weight(plays: sp.csr_matrix) -> sp.csr_matrix:
    """Play counts as they are. ``plays``: CSR (n_tracks, n_users)."""
    return to_csr32(plays)


def log_weight(plays: sp.csr_matrix) -> sp.csr_matrix:
    """``1 + ln(count)``: a listener's 100th play counts far less than the first."""
    out = to_csr32(plays)
    out.data = (1.0 + np.log(np.maximum(out.data, 1.0))).astype(np.float32)
    return out


def tfidf_weight(plays: sp.csr_matrix) -> sp.csr_matrix:
    """``sqrt(count) * idf(user)``, ``idf = ln(n_tracks / n_tracks_of_user)``: omnivorous listeners count less."""
    out = to_csr32(plays)
    n_tracks = out.shape[0]
    tracks_per_user = np.bincount(out.indices, minlength=out.shape[1]).astype(np.float64)
    idf = np.log(n_tracks) - np.log1p(tracks_per_user)
    out.data = (np.sqrt(out.data) * idf[out.indices]).astype(np.float32)
    return out


def bm25_weight(plays: sp.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """Okapi BM25 over listeners: saturating counts, length-normalised per track, idf per user."""
    out = to_csr32(plays)
    n_tracks = out.shape[0]
    tracks_per_user = np.bincount(out.indices, minlength=out.shape[1]).astype(np.float64)
    idf = np.log(n_tracks) - np.log1p(tracks_per_user)
    listeners_per_track = np.diff(out.indptr).astype(np.float64)  # a track's "document length"
    length_norm = (1.0 - b) + b * listeners_per_track / max(listeners_per_track.mean(), 1e-12)
    per_entry_norm = np.repeat(length_norm, np.diff(out.indptr))
    data = out.data.astype(np.float64)
    out.data = (data * (k1 + 1.0) / (k1 * per_entry_norm + data) * idf[out.indices]).astype(np.float32)
    return out


def _power(matrix: sp.csr_matrix, exponent: float) -> sp.csr_matrix:
    """Stored entries raised to ``exponent`` (the pattern is kept)."""
    if exponent == 1.0:
        return matrix
    out = matrix.copy()
    out.data = np.power(out.data, exponent, dtype=np.float64).astype(np.float32)
    return out


WEIGHTINGS = {"raw": raw_weight, "log": log_weight, "bm25": bm25_weight, "tfidf": tfidf_weight}
SIMILARITIES = ("cosine", "rp3beta")


@dataclass
class CollaborativeModel:
    """Exact item-item collaborative similarity, queried through the seeds' listeners.

    Parameters
    ----------
    weighting : {"raw", "log", "bm25", "tfidf"}, default "bm25"
        How play counts are reweighted before similarity.
    similarity : {"cosine", "rp3beta"}, default "cosine"
        Similarity of two tracks' listener vectors (see module docstring).
    beta : float, default 0.5
        Popularity penalty exponent of ``rp3beta`` (ignored by cosine).
    exponent : float, default 1.0
        ``rp3beta`` only: the transition probabilities are raised to this
        power (the "alpha" of RP3beta; 1 is the plain random walk).
    popularity_shift : float, default 0.0
        ``rp3beta`` only: the penalty is ``(listeners(j) + popularity_shift) ** beta``,
        so the rarest tracks are not boosted as much as plain ``listeners ** beta`` would.
    seed_shrink : float, default 0.0
        ``rp3beta`` only: a seed with ``n`` listeners counts ``n / (n + seed_shrink)``,
        so a seed known from one or two listeners weighs less (a shrinkage term
        that stays exact because it scales rows of ``L``).
    right_weighting : {"raw", "log", "bm25", "tfidf"} or None, default None
        ``rp3beta`` only: weighting of the listener -> track step ``P(j | u)``
        (``None``: same as ``weighting``, which then weights the track -> listener step).
    k1, b : float, default 1.2 and 0.75
        Saturation and length normalisation of the ``bm25`` weighting.
    asymmetry : float, default 0.5
        ``cosine`` only: ``s(i, j) = <W_i, W_j> / (|W_i| ** (2 a) |W_j| ** (2 (1 - a)))``;
        0.5 is the plain (symmetric) cosine.

    Attributes
    ----------
    left_ : csr_matrix of shape (n_tracks, n_users), float32
        ``L``; rows are unit-norm weighted listener vectors (cosine) or
        transition probabilities P(u | i) (rp3beta).
    right_ : csr_matrix of shape (n_users, n_tracks), float32
        ``R``, with the sparsity pattern of the transposed play matrix.
    """

    weighting: str = "bm25"
    similarity: str = "cosine"
    beta: float = 0.5
    exponent: float = 1.0
    popularity_shift: float = 0.0
    seed_shrink: float = 0.0
    right_weighting: str | None = None
    k1: float = 1.2
    b: float = 0.75
    asymmetry: float = 0.5

    def _weigh(self, name: str, plays: sp.csr_matrix, shared: dict | None, transposed: bool = False):
        """The weighted play matrix (or its transpose, CSR), from ``shared`` when another model made it."""
        key = (name, self.k1, self.b) if name == "bm25" else (name,)
        if shared is None:
            shared = {}
        if key not in shared:
            shared[key] = bm25_weight(plays, k1=self.k1, b=self.b) if name == "bm25" else WEIGHTINGS[name](plays)
        if not transposed:
            return shared[key]
        if key + ("T",) not in shared:
            shared[key + ("T",)] = to_csr32(shared[key].T.tocsr())
        return shared[key + ("T",)]

    def fit(self, plays: sp.csr_matrix, shared: dict | None = None) -> "CollaborativeModel":
        """Learn ``left_`` and ``right_`` from plays, CSR (n_tracks, n_users) of counts >= 0.

        ``shared``: a dict passed to every model fitted on the same ``plays``
        (an evaluation comparing models): each weighting, and its transpose, is
        then computed once and reused, never modified.
        """
        check_choice(self.weighting, WEIGHTINGS, name="weighting")
        check_choice(self.similarity, SIMILARITIES, name="similarity")
        if self.right_weighting is not None:
            check_choice(self.right_weighting, WEIGHTINGS, name="right_weighting")
        if not sp.issparse(plays) or plays.ndim != 2:
            raise InvalidParameterError(f"plays must be a 2-D sparse matrix, got {type(plays).__name__}")
        plays = sp.csr_matrix(plays)
        weighted = self._weigh(self.weighting, plays, shared)
        if self.similarity == "cosine":
            squared = np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel().astype(np.float64)
            self.left_ = row_scale(weighted, safe_inverse(squared ** self.asymmetry))
            self.right_ = to_csr32(row_scale(weighted, safe_inverse(squared ** (1.0 - self.asymmetry))).T.tocsr())
        else:
            popularity = np.diff(weighted.indptr).astype(np.float64)
            track_totals = np.asarray(weighted.sum(axis=1)).ravel()
            confidence = popularity / np.maximum(popularity + self.seed_shrink, 1e-12)
            self.left_ = _power(row_scale(weighted, safe_inverse(track_totals)), self.exponent)
            self.left_ = row_scale(self.left_, confidence)
            by_user = self._weigh(self.right_weighting or self.weighting, plays, shared, transposed=True)
            user_totals = np.asarray(by_user.sum(axis=1)).ravel()
            by_user = _power(row_scale(by_user, safe_inverse(user_totals)), self.exponent)
            shifted = popularity + self.popularity_shift
            penalty = safe_inverse(shifted ** self.beta) if self.beta else np.ones_like(popularity)
            self.right_ = column_scale(by_user, penalty)
        return self

    @classmethod
    def from_matrices(cls, left, right, **params) -> "CollaborativeModel":
        """A fitted model around existing (possibly memory-mapped) matrices."""
        model = cls(**params)
        model.left_, model.right_ = left, right
        return model

    @property
    def n_tracks(self) -> int:
        return self.left_.shape[0]

    def scores(self, seeds, weights=None) -> np.ndarray:
        """Collaborative similarity of every track to a weighted set of seeds.

        Parameters
        ----------
        seeds : array-like of int, shape (n_seeds,)
        weights : array-like of float, shape (n_seeds,), optional (default 1 each)

        Returns
        -------
        ndarray of shape (n_tracks,), float64
            ``sum_i weights[i] * s(seeds[i], j)``; 0 for tracks sharing no listener.
        """
        seeds = check_rows(seeds, self.n_tracks, name="seeds", allow_empty=True)
        weights = np.ones(len(seeds)) if weights is None else \
            check_weights(weights, len(seeds), positive_sum=False)
        left, right = self.left_, self.right_
        out = np.zeros(self.n_tracks, dtype=np.float64)
        # One weight per listener (several seeds share listeners), then each listener's row once.
        scatter_rows_through(left.indptr, left.indices, left.data, right.indptr, right.indices, right.data,
                             seeds, weights, self._user_scratch(), out)
        return out

    def _user_scratch(self) -> np.ndarray:
        """A zeroed float64 array with one slot per listener, one per thread (kernels leave it zeroed)."""
        local = self.__dict__.setdefault("_scratch", threading.local())
        if getattr(local, "user_weight", None) is None:
            local.user_weight = np.zeros(self.left_.shape[1], dtype=np.float64)
        return local.user_weight

    def similarity_pair(self, i: int, j: int) -> float:
        """``s(i, j)`` for one pair: the same sum as ``scores([i])[j]``, over the shared listeners only."""
        left, right = self.left_, self.right_
        lo, hi = left.indptr[i], left.indptr[i + 1]
        users = np.asarray(left.indices[lo:hi])
        other = np.asarray(left.indices[left.indptr[j]:left.indptr[j + 1]])
        shared = np.isin(users, other, assume_unique=True)
        users, user_weight = users[shared], np.asarray(left.data[lo:hi], dtype=np.float64)[shared]
        starts, stops = right.indptr[users], right.indptr[users + 1]
        positions = concat_ranges(starts, stops)
        positions = positions[np.asarray(right.indices[positions]) == j]  # R[u, j] of each shared listener
        if positions.size != users.size:  # a shared listener without an entry for j: general path
            return float(self.scores([i])[j])
        contrib = right.data[positions] * user_weight
        # bincount sums in order, like scores() does (np.sum would add pairwise, differing in the last bit).
        return float(np.bincount(np.zeros(contrib.size, dtype=np.intp), weights=contrib, minlength=1)[0])

    def shared_listeners(self, i: int, j: int) -> int:
        """Number of listeners who played both tracks."""
        left = self.left_
        shorter = np.asarray(left.indices[left.indptr[i]:left.indptr[i + 1]])
        longer = np.asarray(left.indices[left.indptr[j]:left.indptr[j + 1]])
        if shorter.size > longer.size:
            shorter, longer = longer, shorter
        if shorter.size == 0:
            return 0
        # Rows are sorted: look the shorter list up in the longer one.
        found = np.minimum(np.searchsorted(longer, shorter), longer.size - 1)
        return int(np.count_nonzero(longer[found] == shorter))
