"""Hybrid music recommender engine: content features, collaborative filtering, blending, explanations.

The public API is :class:`Recommender` (load an artifact set and query it);
the model families live in :mod:`engine.content`, :mod:`engine.collaborative`
and :mod:`engine.hybrid`.
"""
from .artifacts import ArtifactSet, write_artifact_set
from .collaborative import WEIGHTINGS, CollaborativeModel
from .content import ContentFeatures, ContentIndex
from .errors import (ArtifactError, InputDataError, InvalidParameterError, RecommenderError,
                     UnknownTrackError, UnknownUserError)
from .hybrid import HybridScorer
from .recommender import DEFAULT_ALPHAS, AlphaSweep, Explanation, Recommendation, Recommender, Track

__all__ = [
    "Recommender", "Recommendation", "Explanation", "Track", "AlphaSweep", "DEFAULT_ALPHAS",
    "ContentFeatures", "ContentIndex", "CollaborativeModel", "WEIGHTINGS", "HybridScorer",
    "ArtifactSet", "write_artifact_set",
    "RecommenderError", "UnknownTrackError", "UnknownUserError", "InvalidParameterError",
    "ArtifactError", "InputDataError",
]
