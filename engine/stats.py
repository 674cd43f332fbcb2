"""Descriptive statistics of a catalogue and its listening data, computed once at build time."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .content import split_tags
from .schema import AUDIO_FEATURES

__all__ = ["catalogue_statistics"]


def _log_histogram(values: np.ndarray, n_bins: int = 30) -> dict:
    """Counts of positive integer ``values`` in logarithmic bins (for log-log plots)."""
    values = values[values > 0]
    if values.size == 0:
        return {"edges": [], "counts": []}
    edges = np.unique(np.round(np.logspace(0, np.log10(values.max() + 1), n_bins + 1)))
    counts, edges = np.histogram(values, bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def catalogue_statistics(tracks: pd.DataFrame, plays: sp.csr_matrix, top_tags: int = 30,
                         audio_bins: int = 30) -> dict:
    """Summary numbers and distributions for the data page.

    Parameters
    ----------
    tracks : DataFrame of shape (n_tracks, ...)
        Cleaned track table.
    plays : csr_matrix of shape (n_tracks, n_users)
        Play counts.

    Returns
    -------
    dict
        ``tracks``, ``listeners``, ``rows``, ``plays``, ``density``,
        ``cold_tracks``; ``listeners_per_track`` (sorted descending, the
        popularity long tail, at most 2,000 points sampled log-uniformly by
        rank), ``tracks_per_listener`` (log histogram), ``playcount`` (log
        histogram), ``top_tags`` (``[tag, n_tracks]`` pairs) and ``audio``
        (``{feature: {"edges", "counts"}}``).
    """
    n_tracks, n_users = plays.shape
    listeners = np.diff(plays.indptr)
    tracks_per_user = np.bincount(plays.indices, minlength=n_users)
    popularity = np.sort(listeners)[::-1]
    ranks = np.unique(np.round(np.logspace(0, np.log10(max(n_tracks, 1)), 2000)).astype(np.int64)) - 1
    ranks = ranks[ranks < n_tracks]
    tag_counts = pd.Series([t for tags in split_tags(tracks["tags"]) for t in tags],
                           dtype=object).value_counts()
    audio = {}
    for column, (lo, hi) in AUDIO_FEATURES.items():
        values = pd.to_numeric(tracks.get(column), errors="coerce") if column in tracks else None
        if values is None or values.notna().sum() == 0:
            continue
        counts, edges = np.histogram(values.dropna(), bins=audio_bins)
        audio[column] = {"edges": edges.round(4).tolist(), "counts": counts.tolist()}
    return {
        "tracks": int(n_tracks),
        "listeners": int(n_users),
        "rows": int(plays.nnz),
        "plays": int(plays.data.sum()),
        "density": float(plays.nnz / max(n_tracks * n_users, 1)),
        "cold_tracks": int(np.count_nonzero(listeners == 0)),
        "artists": int(tracks["artist"].nunique()),
        "listeners_per_track": {"rank": (ranks + 1).tolist(), "listeners": popularity[ranks].tolist()},
        "tracks_per_listener": _log_histogram(tracks_per_user),
        "playcount": _log_histogram(plays.data.astype(np.int64)),
        "top_tags": [[tag, int(n)] for tag, n in tag_counts.head(top_tags).items()],
        "audio": audio,
    }
