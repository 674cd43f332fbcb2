"""Build stage: content features of the catalogue (a thin wrapper over engine.content)."""
from __future__ import annotations

import logging

import pandas as pd

from engine.content import ContentFeatures, ContentIndex

log = logging.getLogger(__name__)


def build_content(tracks: pd.DataFrame, block_weights: dict | None = None) -> tuple[ContentFeatures, ContentIndex]:
    """Fit the content blocks on the cleaned catalogue and index every track."""
    features = ContentFeatures(block_weights=block_weights).fit(tracks)
    index = features.transform_index(tracks)
    log.info("content: %d features in blocks %s; absent blocks %s", features.n_features_,
             index.block_names, index.absent_blocks or "none")
    return features, index
