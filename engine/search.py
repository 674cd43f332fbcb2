"""Literal, case-insensitive track search over names and artists."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["TrackSearch", "search_key"]


def search_key(text: str) -> str:
    """The form both the catalogue and queries are compared in: case-folded, spaces collapsed."""
    return " ".join(str(text).casefold().split())


class TrackSearch:
    """Ranks tracks whose name or artist contains the query text.

    Matching is literal (``(``, ``*``, ``[a-`` are ordinary characters) and
    case-insensitive. Ranking: exact match > prefix match > substring match
    (the better of name and artist), then more listeners first, then
    catalogue order.

    Parameters
    ----------
    names, artists : sequence of str, length n_tracks
    popularity : ndarray of shape (n_tracks,)
    """

    def __init__(self, names, artists, popularity):
        self._names = pa.array([search_key(n) for n in names], type=pa.large_string())
        self._artists = pa.array([search_key(a) for a in artists], type=pa.large_string())
        self._popularity = np.asarray(popularity)

    def search(self, text: str, limit: int = 20) -> np.ndarray:
        """Indices of up to ``limit`` matching tracks, best first (empty for blank text)."""
        query = search_key(text)
        if not query:
            return np.empty(0, dtype=np.int64)
        tier = np.full(len(self._popularity), 3, dtype=np.int8)  # 3 = no match
        for column in (self._names, self._artists):
            # Each pyarrow kernel below is a literal comparison (no regex).
            contains = pc.match_substring(column, query).to_numpy(zero_copy_only=False)
            if not contains.any():
                continue
            prefix = pc.starts_with(column, query).to_numpy(zero_copy_only=False)
            exact = pc.equal(column, query).to_numpy(zero_copy_only=False)
            column_tier = np.where(exact, 0, np.where(prefix, 1, np.where(contains, 2, 3)))
            np.minimum(tier, column_tier, out=tier)
        hits = np.flatnonzero(tier < 3)
        order = np.lexsort((hits, -self._popularity[hits], tier[hits]))
        return hits[order[:limit]]
