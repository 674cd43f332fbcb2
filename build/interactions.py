"""Build stage: the track x user play matrix and the collaborative model (math in engine.collaborative)."""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from engine.collaborative import CollaborativeModel

from .ingest import Listening

log = logging.getLogger(__name__)


def play_matrix(listening: Listening, n_tracks: int) -> sp.csr_matrix:
    """CSR float32 (n_tracks, n_users) of play counts, indices sorted."""
    n_users = len(listening.user_ids)
    plays = sp.csr_matrix((listening.playcounts, (listening.tracks, listening.users)),
                          shape=(n_tracks, n_users), dtype=np.float32)
    plays.sort_indices()
    return plays


def build_collaborative(plays: sp.csr_matrix, weighting: str, similarity: str,
                        beta: float) -> CollaborativeModel:
    """Fit the collaborative model; its right matrix keeps the play matrix's pattern."""
    model = CollaborativeModel(weighting=weighting, similarity=similarity, beta=beta).fit(plays)
    log.info("collaborative: %s weighting, %s similarity, %d stored entries",
             weighting, similarity, model.left_.nnz)
    return model
