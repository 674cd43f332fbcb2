"""Build stage: the track x user play matrix (the collaborative model fits on it in engine.collaborative)."""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from .ingest import Listening

log = logging.getLogger(__name__)


def play_matrix(listening: Listening, n_tracks: int) -> sp.csr_matrix:
    """CSR float32 (n_tracks, n_users) of play counts, indices sorted.

    When the listening stage ran on a cluster the matrix is already assembled (memory-mapped).
    """
    if listening.plays is not None:
        return listening.plays
    n_users = listening.n_users
    plays = sp.csr_matrix((listening.playcounts, (listening.tracks, listening.users)),
                          shape=(n_tracks, n_users), dtype=np.float32)
    plays.sort_indices()
    return plays

