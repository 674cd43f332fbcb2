"""Listeners: id lookup, prefix search and listening histories over memory-mapped arrays."""
from __future__ import annotations

import numpy as np

from .errors import UnknownUserError

__all__ = ["UserIndex"]


class UserIndex:
    """Listeners and what they played.

    Parameters
    ----------
    user_ids : ndarray of shape (n_users,), bytes dtype (``S<n>``)
        UTF-8 user ids in ascending order; a user's code is its position.
    indptr : ndarray of shape (n_users + 1,)
    tracks : ndarray of shape (n_rows,), int32
        Track indices of each user's rows (CSR by user).
    playcounts : ndarray of shape (n_rows,)
        Play counts aligned with ``tracks``.
    """

    def __init__(self, user_ids, indptr, tracks, playcounts):
        self.user_ids = user_ids
        self.indptr = indptr
        self.tracks = tracks
        self.playcounts = playcounts

    def __len__(self) -> int:
        return len(self.user_ids)

    def code(self, user_id: str) -> int:
        """Position of ``user_id``; raises :class:`UnknownUserError` naming it."""
        key = self._encode(user_id)
        if key is not None:
            pos = int(np.searchsorted(self.user_ids, key))
            if pos < len(self.user_ids) and self.user_ids[pos] == key:
                return pos
        raise UnknownUserError(f"unknown user_id {user_id!r}: no listening history for it")

    def user_id(self, code: int) -> str:
        return bytes(self.user_ids[code]).decode("utf-8")

    def history(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        """``(track indices, play counts)`` of one user, in track order."""
        lo, hi = self.indptr[code], self.indptr[code + 1]
        return np.asarray(self.tracks[lo:hi]), np.asarray(self.playcounts[lo:hi])

    def n_tracks_of(self, codes) -> np.ndarray:
        codes = np.asarray(codes)
        return np.asarray(self.indptr[codes + 1] - self.indptr[codes])

    def with_prefix(self, prefix: str, limit: int = 20) -> list[str]:
        """Up to ``limit`` user ids starting with ``prefix`` (case-sensitive), in id order."""
        key = self._encode(prefix)
        if not key:
            return []
        lo = int(np.searchsorted(self.user_ids, key, side="left"))
        ids = []
        for code in range(lo, min(lo + limit, len(self.user_ids))):
            raw = bytes(self.user_ids[code])
            if not raw.startswith(key):
                break
            ids.append(raw.decode("utf-8"))
        return ids

    def random_active(self, rng: np.random.Generator, min_tracks: int = 20) -> str:
        """A random listener with at least ``min_tracks`` tracks (or the most active one)."""
        counts = np.diff(np.asarray(self.indptr))
        active = np.flatnonzero(counts >= min_tracks)
        code = int(rng.choice(active)) if active.size else int(np.argmax(counts))
        return self.user_id(code)

    def _encode(self, text) -> bytes | None:
        if not isinstance(text, str):
            return None
        try:
            raw = text.strip().encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON can carry one): no stored id has it
            return None
        width = self.user_ids.dtype.itemsize
        return raw if len(raw) <= width else None
