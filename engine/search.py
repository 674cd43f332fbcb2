"""Literal, case-insensitive track search over names and artists."""
from __future__ import annotations

import bisect

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["TrackSearch", "search_key"]

#: The ASCII characters ``str.split()`` treats as whitespace.
_ASCII_SPACE = r"[ \t\n\r\x0b\x0c\x1c-\x1f]+"


def search_key(text: str) -> str:
    """The form both the catalogue and queries are compared in: case-folded, spaces collapsed."""
    return " ".join(str(text).casefold().split())


def _search_keys(values) -> pa.Array:
    """``search_key`` of every value as a large_string array, vectorised for ASCII text.

    For ASCII text ``casefold`` is ``lower`` and ``split`` splits on the
    characters of ``_ASCII_SPACE``; any other text goes through :func:`search_key`.
    """
    array = pa.array(values, type=pa.large_string(), from_pandas=True).fill_null("")
    keys = pc.utf8_trim(pc.replace_substring_regex(pc.ascii_lower(array), _ASCII_SPACE, " "), " ")
    other = ~pc.string_is_ascii(array).to_numpy(zero_copy_only=False)
    if other.any():
        fixed = [search_key(v) for v in array.filter(pa.array(other)).to_pylist()]
        keys = pc.replace_with_mask(keys, pa.array(other), pa.array(fixed, type=pa.large_string()))
    return keys


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class TrackSearch:
    """Ranks tracks whose name or artist contains the query text.

    Matching is literal (``(``, ``*``, ``[a-`` are ordinary characters) and
    case-insensitive. Ranking: exact match > prefix match > substring match
    (the better of name and artist), then more listeners first, then
    catalogue order.

    Exact matches come from one comparison kernel per column. The keys are also laid out
    once as one text, most popular track first: every track is
    ``"\\n" + name + "\\n" + artist`` (a key never contains a line break). A
    query scans that text with ``str.find`` for ``"\\n" q`` (prefix) and then
    ``q`` (substring), and stops as soon as it has ``limit`` tracks: the hits
    of each scan arrive in ranking order, so nothing has to be sorted.

    Parameters
    ----------
    names, artists : sequence of str, length n_tracks
    popularity : ndarray of shape (n_tracks,)
    """

    def __init__(self, names, artists, popularity):
        self._popularity = np.asarray(popularity)
        n = len(self._popularity)
        # Ranking order of equally good matches: more listeners first, then catalogue order.
        self._order = np.lexsort((np.arange(n), -self._popularity))
        take = pa.array(self._order)
        names = _search_keys(names).take(take)
        artists = _search_keys(artists).take(take)
        # Track texts joined by arrow: the data buffer of the joined column is the whole text and
        # its offsets are where each track starts (in characters: the keys are decoded below).
        newline, empty = pa.scalar("\n", pa.large_string()), pa.scalar("", pa.large_string())
        joined = pc.binary_join_element_wise(newline, names, newline, artists, empty)
        offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset:joined.offset + n + 1]
        data = joined.buffers()[2]
        self._text = data.to_pybytes()[offsets[0]:offsets[-1]].decode("utf-8") + "\n"
        lengths = pc.utf8_length(joined).to_numpy(zero_copy_only=False).astype(np.int64)
        self._starts = np.concatenate(([0], np.cumsum(lengths))).tolist()
        self._names, self._artists = names, artists  # in ranking order, for exact matches

    def search(self, text: str, limit: int = 20) -> np.ndarray:
        """Indices of up to ``limit`` matching tracks, best first (empty for blank text)."""
        query = search_key(text)
        if not query or not _is_utf8(query):  # catalogue text is UTF-8: a lone surrogate matches nothing
            return np.empty(0, dtype=np.int64)
        exact = pc.or_(pc.equal(self._names, query), pc.equal(self._artists, query))
        found = np.flatnonzero(exact.to_numpy(zero_copy_only=False))[:limit].tolist()
        taken = set(found)
        haystack, starts = self._text, self._starts
        for pattern in ("\n" + query, query):
            position = 0
            while len(found) < limit:
                hit = haystack.find(pattern, position)
                if hit < 0:
                    break
                rank = bisect.bisect_right(starts, hit) - 1
                if rank not in taken:  # a track keeps the best tier it was found at
                    taken.add(rank)
                    found.append(rank)
                position = starts[rank + 1]
            if len(found) >= limit:
                break
        return self._order[np.asarray(found, dtype=np.int64)]
