"""Offline evaluation: seeded leak-free splits, ranking metrics in one pass, and a method comparison.

Modules: :mod:`.split` (the warm hold-out and the new-release protocol),
:mod:`.metrics` (ranking metrics, definitions there), :mod:`.ranking`
(top-k lists of many listeners at once, as the engine ranks) and
:mod:`.compare` (every model and alpha on both protocols).

Protocol
--------
* **Split** (:func:`train_test_split`): every listener with at least
  ``min_items`` (5) distinct tracks is a *test listener*; ``floor(0.2 * n + 0.5)``
  of their ``n`` tracks (at least one) are held out, chosen uniformly at
  random by a seeded generator. The held-out (listener, track) pairs are
  removed from the training play matrix; every model, every popularity count
  and every side input (:meth:`Split.is_held_out` filters the listener's own
  tag assignments) is built from training data only.
* **Recommendations**: for each test listener the engine's hybrid scoring
  (:mod:`engine.hybrid`: both components min-max normalised over the
  candidates, blended by alpha) with the training history as seeds, each
  track weighted by :func:`history_weights`, as
  ``Recommender.recommend_for_user`` ranks; tracks played in training are
  never recommended (:func:`rank_hybrid`).
* **Relevance**: every held-out track of the listener counts, with gain 1.
* **New releases** (:func:`new_release_split`): a seeded share (10 %) of the
  tracks with at least 5 listeners loses *all* of its listening from
  training; its content stays. Every listener who played one of them and
  has a training history is a test listener, asked for a list as above;
  the held-out tracks are relevant. The warm split cannot see new releases
  (its held-out tracks have listeners in training), so a default chosen on
  it alone would hide them; the build's rule looks at both.
* **Tracks nobody played in training** are scored through their content
  neighbours, as served (:mod:`engine.cold_start`).

"""
from .compare import ALPHA_GRID, NEW_RELEASE_KS, Comparison, NewReleaseData, compare_methods
from .metrics import (METRICS, catalogue_coverage, hit_rate_at_k, intra_list_diversity, map_at_k, ndcg_at_k,
                      novelty, precision_at_k, ranking_metrics, recall_at_k)
from .ranking import TruncatedNeighbours, product_size, rank_hybrid, rank_popular
from .split import Split, new_release_split, train_test_split
from ..hybrid import history_weights

__all__ = [
    "Split", "train_test_split", "new_release_split", "history_weights", "ranking_metrics",
    "precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k", "hit_rate_at_k",
    "catalogue_coverage", "novelty", "intra_list_diversity",
    "rank_popular", "rank_hybrid", "TruncatedNeighbours", "product_size", "Comparison", "NewReleaseData",
    "compare_methods", "ALPHA_GRID", "NEW_RELEASE_KS", "METRICS",
]
