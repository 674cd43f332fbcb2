"""Train/test splits of a play matrix: the warm hold-out and the new-release protocol."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from ..collab_cache import gather_cost
from .._kernels import rank_within_rows
from .._sparse import to_csr32
from .._validation import check_k
from ..errors import InvalidParameterError

__all__ = ["Split", "train_test_split", "new_release_split"]


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
        The parameters that made the split (for a new-release split: the share
        of eligible tracks held out and the listeners a track needs to be eligible).
    protocol : {"warm", "new_release"}
        Which protocol made it (:func:`train_test_split` or :func:`new_release_split`).
    held_out_tracks : ndarray of int64 or None
        New-release split: the tracks whose listening was all held out, ascending.
    """

    train: sp.csr_matrix
    test: sp.csr_matrix
    test_users: np.ndarray
    seed: int
    test_fraction: float
    min_items: int
    protocol: str = "warm"
    held_out_tracks: np.ndarray | None = None

    @cached_property
    def train_by_user(self) -> sp.csr_matrix:
        """``train`` transposed, (n_users, n_tracks) CSR: each listener's training history (formed once)."""
        return to_csr32(self.train.T.tocsr())

    @cached_property
    def gather_cost(self) -> np.ndarray:
        """Entries a single-seed collaborative query on each track touches in training, shape (n_tracks,).

        The same for every model fitted on ``train`` (weightings keep the play matrix's pattern).
        """
        return gather_cost(self.train, self.train_by_user)

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
        if self.protocol == "new_release":
            head = {"protocol": self.protocol, "seed": self.seed, "track_share": self.test_fraction,
                    "min_listeners": self.min_items, "held_out_tracks": int(len(self.held_out_tracks))}
        else:
            head = {"seed": self.seed, "test_fraction": self.test_fraction, "min_items": self.min_items}
        return {**head, "test_listeners": int(len(self.test_users)), "held_out_pairs": int(self.test.nnz),
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
    position = np.empty(by_user.nnz, dtype=np.int64)
    rank_within_rows(by_user.indptr.astype(np.int64), keys, position)
    held = position < np.repeat(n_test, per_user)
    # Rows keep their order and each row's tracks stay sorted: both parts are CSR as they are cut.
    n_held = np.minimum(n_test, per_user)
    test = sp.csr_matrix((np.ones(int(held.sum()), dtype=np.float32), by_user.indices[held],
                          np.concatenate(([0], np.cumsum(n_held)))), shape=(n_users, n_tracks))
    train = sp.csr_matrix((by_user.data[~held], by_user.indices[~held],
                           np.concatenate(([0], np.cumsum(per_user - n_held)))), shape=(n_users, n_tracks))
    return Split(train=to_csr32(train.T.tocsr()), test=to_csr32(test),
                 test_users=np.flatnonzero(n_test > 0).astype(np.int64),
                 seed=int(seed), test_fraction=float(test_fraction), min_items=min_items)




def new_release_split(plays: sp.spmatrix, track_share: float = 0.1, min_listeners: int = 5,
                      seed: int = 0) -> Split:
    """Turn a seeded share of the tracks into new releases: all of their listening is held out.

    Tracks with at least ``min_listeners`` listeners are eligible (fewer would
    make a noisy test); ``round(track_share * n_eligible)`` of them (at least
    one) are drawn by a seeded generator and lose every (listener, track)
    pair from training, so in training nobody has played them, as with a
    release that came out after the data was collected. Their content (tags,
    audio, artist, year) stays: it is known at release. A *test listener* has
    played at least one of them and still has a training history to
    recommend from; all of their held-out tracks are relevant.

    Parameters
    ----------
    plays : sparse matrix of shape (n_tracks, n_users)
    track_share : float, default 0.1
    min_listeners : int, default 5
    seed : int, default 0

    Returns
    -------
    Split
        ``protocol="new_release"``, ``held_out_tracks`` set; ``test_fraction``
        holds ``track_share`` and ``min_items`` holds ``min_listeners``.
    """
    if not 0.0 < float(track_share) < 1.0:
        raise InvalidParameterError(f"track_share must be in (0, 1), got {track_share!r}")
    min_listeners = check_k(min_listeners, name="min_listeners")
    by_track = to_csr32(sp.csr_matrix(plays))
    by_track.eliminate_zeros()
    n_tracks, n_users = by_track.shape
    eligible = np.flatnonzero(np.diff(by_track.indptr) >= min_listeners)
    if not len(eligible):
        raise InvalidParameterError(f"no track has {min_listeners} or more listeners: nothing to hold out")
    n_held = max(1, int(round(track_share * len(eligible))))
    held_tracks = np.sort(np.random.default_rng(seed).choice(eligible, size=n_held, replace=False))
    held_row = np.zeros(n_tracks, dtype=bool)
    held_row[held_tracks] = True
    rows = np.repeat(np.arange(n_tracks), np.diff(by_track.indptr))
    held = held_row[rows]
    train = sp.csr_matrix((by_track.data[~held], (rows[~held], by_track.indices[~held])), shape=(n_tracks, n_users))
    test = sp.csr_matrix((np.ones(int(held.sum()), dtype=np.float32), (by_track.indices[held], rows[held])),
                         shape=(n_users, n_tracks))
    has_history = np.diff(train.T.tocsr().indptr) > 0
    test_users = np.flatnonzero((np.diff(test.indptr) > 0) & has_history).astype(np.int64)
    return Split(train=to_csr32(train), test=to_csr32(test), test_users=test_users, seed=int(seed),
                 test_fraction=float(track_share), min_items=min_listeners, protocol="new_release",
                 held_out_tracks=held_tracks.astype(np.int64))
