"""The method comparison: every model and alpha measured on the warm and the new-release protocol.

The engine measures; which (model, alpha) becomes the default is the
build's policy (``build.evaluate.choose_defaults``), passed in as ``choose``.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp

from .._validation import check_alpha, check_k
from ..cold_start import DEFAULT_NEIGHBOURS, ContentNeighbours
from ..collaborative import CollaborativeModel
from .metrics import ranking_metrics
from .ranking import TruncatedNeighbours, product_size, rank_hybrid, rank_popular
from .split import Split

__all__ = ["ALPHA_GRID", "NEW_RELEASE_KS", "Comparison", "NewReleaseData", "compare_methods"]

log = logging.getLogger(__name__)

#: The alpha grid of the comparison: 0, 0.1, ..., 1.
ALPHA_GRID = tuple(round(a / 10, 1) for a in range(11))
#: Cut-offs of the new-release protocol: NDCG@10 and recall@50 (a new release is one of few in a list).
NEW_RELEASE_KS = (10, 50)


@dataclass
class Comparison:
    """Everything one comparison measured (the build writes it as ``evaluation.json``, see
    ``build.evaluate.evaluation_document``).

    Attributes
    ----------
    runs : list of dict
        ``{"method", "alpha", "k", "metrics"}`` for popularity, content only,
        collaborative only and the hybrid alpha grid of the chosen model (warm protocol).
    variants : list of dict
        ``{"name", "params", "alpha", "k", "metrics"}`` for every other model measured.
    chosen : dict
        The defaults ``choose`` picked.
    protocol : dict
        Split, sampling and timing.
    new_release : dict
        ``{"protocol": {...}, "runs": [{"method", "alpha", "k", "metrics"}, ...]}``: the
        chosen model's alpha grid on the new-release protocol; empty when it did not run.
    neighbour_search : ContentNeighbours or None
        The deeper content-neighbour search the protocols' tables were cut from (not
        written out): the build cuts the served table from it too.
    """

    runs: list = field(default_factory=list)
    variants: list = field(default_factory=list)
    chosen: dict = field(default_factory=dict)
    protocol: dict = field(default_factory=dict)
    new_release: dict = field(default_factory=dict)
    neighbour_search: object = None


@dataclass(frozen=True)
class NewReleaseData:
    """The new-release protocol's inputs: its split and the content built without its held-out information."""

    split: Split
    content: object  # ContentIndex


def compare_methods(split: Split, content, candidates: dict, choose: Callable[..., dict], *,
                    alphas=ALPHA_GRID, ks=(10, 20), tune_alphas: int = 2, neighbourhoods=(),
                    max_product: int = 50_000_000, max_users: int | None = None, seed: int = 0,
                    item_features: sp.spmatrix | None = None, new_release: NewReleaseData | None = None,
                    n_neighbours: int = DEFAULT_NEIGHBOURS,
                    on_progress: Callable[[str, int, int], None] | None = None) -> Comparison:
    """Compare popularity, content only, collaborative only and the hybrid over an alpha grid.

    Steps: every collaborative candidate is fitted on ``split.train`` and
    ranked alone (alpha = 0); the ``tune_alphas`` best by ndcg@k (first of
    ``ks``) also get the whole alpha grid, on the warm split and, when
    ``new_release`` is given, on the new-release split (the models refitted on
    its training data); ``choose`` picks the defaults among them; the chosen
    model's grid becomes the ``collaborative`` (alpha 0), ``content`` (alpha 1)
    and ``hybrid`` runs. Tracks nobody played in a split's training data are
    scored through their content neighbours (:mod:`engine.cold_start`), as served.

    Parameters
    ----------
    split : Split
        The warm hold-out (:func:`engine.evaluation.train_test_split`).
    content : ContentIndex
        Content of the catalogue built without held-out information.
    candidates : dict of str to dict
        ``{name: CollaborativeModel params}``.
    choose : callable
        ``choose(candidates, k, coverage_ceiling) -> dict`` with ``name``, ``alpha``,
        ``collaborative``, ``rule``, ``metrics``, ``k``; each candidate is
        ``{"name", "params", "alpha", "k", "metrics", "ndcg_by_listener", "new_release"}``
        where ``ndcg_by_listener`` (shape (n_listeners,), the same listeners for
        every candidate) allows paired comparisons and ``new_release`` holds the
        new-release metrics by cut-off (or None).
    alphas : tuple of float, default ALPHA_GRID
    ks : tuple of int, default (10, 20)
        Cut-offs of the warm protocol; lists are ranked once at ``max(ks)`` and cut.
    tune_alphas : int, default 2
    neighbourhoods : tuple of int, default ()
        Neighbourhood sizes measured on the best candidate (evaluation only;
        skipped when the item x item product would exceed ``max_product`` entries).
    max_users : int, optional
        Sample at most this many test listeners per protocol (seeded); all by default.
    seed : int, default 0
    item_features : sparse matrix of shape (n_tracks, n_features), optional
        Content rows for intra-list diversity (default ``content.to_csr()``).
    new_release : NewReleaseData, optional
    n_neighbours : int, default DEFAULT_NEIGHBOURS
        Content neighbours per cold track, as the build stores them.
    on_progress : callable, optional
        ``on_progress(done, total)`` as listeners are ranked (counted once per model and protocol;
        a progress bar's hook).
    """
    alphas = tuple(check_alpha(a) for a in alphas)
    ks = tuple(sorted(check_k(k) for k in ks))
    start = time.perf_counter()
    users = _sample(split.test_users, max_users, seed)
    item_features = content.to_csr() if item_features is None else item_features
    measure = _Measure(split, users, ks, item_features)
    shared_search = _shared_search(content, split, new_release, n_neighbours)
    cold = ContentNeighbours(n_neighbours).fit(content, measure.popularity, candidates=shared_search)
    n_best = min(max(1, tune_alphas), len(candidates))
    new_users = _sample(new_release.split.test_users, max_users, seed) if new_release is not None else ()
    total = len(users) * (len(candidates) + n_best) + len(new_users) * n_best
    done = [0]

    def advance(n: int) -> None:  # listeners ranked, for a progress bar
        done[0] += n
        if on_progress is not None:
            on_progress(done[0], total)

    log.info("evaluation: %d test listeners (of %d), %d collaborative candidates, %d tracks without "
             "training listeners", len(users), len(split.test_users), len(candidates), len(cold.rows_))
    # Every model alone; only the best few stay in memory for the alpha grid. A model is fitted
    # (single-threaded) while the one before it is ranked, so both cores have work.
    first = ks[0]
    measured, models, weightings = {}, {}, {}
    names = list(candidates)
    with ThreadPoolExecutor(max_workers=1) as fitter:
        fitting = fitter.submit(_fit, candidates[names[0]], split.train, weightings)
        for number, name in enumerate(names):
            models[name] = fitting.result()
            if number + 1 < len(names):
                fitting = fitter.submit(_fit, candidates[names[number + 1]], split.train, weightings)
            alone = rank_hybrid(content, {name: models[name]}, split, users, {name: (0.0,)}, measure.depth,
                                cold=cold, on_progress=advance)
            measured[(name, 0.0)] = measure(alone[(name, 0.0)], (name, 0.0))
            best = sorted(models, key=lambda n: -measured[(n, 0.0)][first]["ndcg"])[:n_best]
            models = {n: models[n] for n in best}
        del weightings, fitting  # only the best models stay in memory
        # The new-release protocol's models are fitted on its training data while the warm grid is ranked.
        refits = _fit_all({n: candidates[n] for n in best}, new_release.split.train, fitter) \
            if new_release is not None else {}
        grid = rank_hybrid(content, models, split, users, {n: alphas for n in best}, measure.depth, cold=cold,
                           on_progress=advance)
        measured.update({key: measure(recs, key) for key, recs in grid.items()})
        del grid
        newly = _new_release(new_release, new_users, refits, alphas, seed, item_features, n_neighbours, advance,
                             shared_search) if new_release is not None else {}
    entries = [{"name": n, "params": dict(candidates[n]), "alpha": a, "k": k, "metrics": m[k],
                "ndcg_by_listener": measure.ndcg_by_listener[(n, a)][k],
                "new_release": newly["measured"].get((n, a)) if newly else None}
               for (n, a), m in measured.items() for k in ks]
    chosen = choose([e for e in entries if e["name"] in best], first,
                    coverage_ceiling=len(users) * first / split.train.shape[0])

    name = chosen["name"]
    popular = measure(rank_popular(split, users, measure.depth))
    comparison = Comparison(chosen=chosen, neighbour_search=shared_search)
    comparison.runs += [_run("popularity", None, k, popular[k]) for k in ks]
    comparison.runs += [_run("content", None, k, measured[(name, 1.0)][k]) for k in ks if 1.0 in alphas]
    comparison.runs += [_run("collaborative", None, k, measured[(name, 0.0)][k]) for k in ks]
    comparison.runs += [_run("hybrid", a, k, measured[(name, a)][k]) for a in alphas for k in ks]
    comparison.variants = [{key: e[key] for key in ("name", "params", "alpha", "k", "metrics")}
                           for e in entries if e["name"] != name]
    comparison.variants += _neighbourhood_variants(content, models[best[0]], best[0], candidates[best[0]],
                                                   split, users, measure, neighbourhoods, max_product,
                                                   comparison.protocol, cold)
    if newly:
        comparison.new_release = {
            "protocol": newly["protocol"],
            "runs": [_run("hybrid", a, k, newly["measured"][(name, a)][k]) for a in alphas for k in NEW_RELEASE_KS]}
    comparison.protocol.update({
        **split.summary(), "evaluated_listeners": int(len(users)), "sampled": len(users) < len(split.test_users),
        "sample_seed": seed, "relevance": "every held-out track of the listener (gain 1)",
        "excluded": "tracks the listener played in training",
        "history_weights": "1 + ln(playcount), as recommend_for_user", "ks": list(ks), "alphas": list(alphas),
        "cold_tracks": {"in_training": int(len(cold.rows_)), "neighbours": n_neighbours,
                        "scored": "listening estimated from content neighbours (engine.cold_start)"},
        "novelty_base": "training listeners", "diversity_features": "content rows (cosine distance)",
        "seconds": round(time.perf_counter() - start, 2)})
    log.info("evaluation: chose %s at alpha=%s (ndcg@%d %.4f, coverage@%d %.4f) in %.1f s", name,
             chosen["alpha"], first, chosen["metrics"]["ndcg"], first, chosen["metrics"]["coverage"],
             comparison.protocol["seconds"])
    return comparison


def _sample(users: np.ndarray, max_users: int | None, seed: int) -> np.ndarray:
    """At most ``max_users`` of ``users`` (a seeded sample, ascending); all when None."""
    if max_users is not None and len(users) > max_users:
        return np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    return users


def _shared_search(content, split: Split, new_release: NewReleaseData | None, n_neighbours: int):
    """One deeper neighbour search that both protocols' tables (and the served one) are cut from.

    Searched for every track without training listeners in either split,
    among the tracks with listeners in the whole data (a superset of each
    split's), three times as deep: each table is then exact and costs one
    search instead of one each (:meth:`ContentNeighbours.fit`, ``candidates``).
    None when the two protocols do not share the content (tags rebuilt per split).
    """
    if new_release is not None and new_release.content is not content:
        return None
    listeners = [np.diff(split.train.indptr)]
    if new_release is not None:
        listeners.append(np.diff(new_release.split.train.indptr))
    # The warm split held pairs out, never whole tracks' data: training plus test is every track's listening.
    warm_in_data = (listeners[0] > 0) | (np.bincount(split.test.indices, minlength=len(listeners[0])) > 0)
    cold_somewhere = np.flatnonzero(np.logical_or.reduce([n == 0 for n in listeners]))
    return ContentNeighbours(3 * n_neighbours).fit(content, warm_in_data.astype(np.int64), tracks=cold_somewhere)


def _fit(params: dict, train, weightings: dict) -> CollaborativeModel:
    """A collaborative model fitted on ``train``, sharing weightings with the models fitted before it."""
    return CollaborativeModel(**params).fit(train, shared=weightings)


def _fit_all(candidates: dict, train, fitter: ThreadPoolExecutor) -> dict:
    """``{name: Future of the fitted model}``, fitted one after another on ``fitter`` (weightings shared)."""
    weightings: dict = {}
    return {name: fitter.submit(_fit, params, train, weightings) for name, params in candidates.items()}


def _new_release(data: NewReleaseData, users: np.ndarray, refits: dict, alphas, seed, item_features,
                 n_neighbours: int, advance, shared_search=None) -> dict:
    """Each candidate refitted on the new-release split (``refits``: name to Future of the model)
    and ranked over the alpha grid.

    Returns ``{"measured": {(name, alpha): {k: metrics}}, "protocol": {...}}``.
    """
    start = time.perf_counter()
    split = data.split
    measure = _Measure(split, users, NEW_RELEASE_KS, item_features)
    cold = ContentNeighbours(n_neighbours).fit(data.content, measure.popularity, candidates=shared_search)
    models = {name: fitted.result() for name, fitted in refits.items()}
    recs = rank_hybrid(data.content, models, split, users, {n: alphas for n in models}, measure.depth, cold=cold,
                       on_progress=advance)
    measured = {key: measure(lists) for key, lists in recs.items()}
    protocol = {**split.summary(), "evaluated_listeners": int(len(users)),
                "sampled": len(users) < len(split.test_users), "sample_seed": seed,
                "relevance": "every held-out (new-release) track the listener played (gain 1)",
                "excluded": "tracks the listener played in training", "ks": list(NEW_RELEASE_KS),
                "tracks_without_training_listeners": int(len(cold.rows_)),
                "seconds": round(time.perf_counter() - start, 2)}
    log.info("evaluation: new-release protocol, %d held-out tracks, %d test listeners, %.1f s",
             protocol["held_out_tracks"], len(users), protocol["seconds"])
    return {"measured": measured, "protocol": protocol}


class _Measure:
    """``ranking_metrics`` of top lists for every cut-off, against one split's held-out tracks."""

    def __init__(self, split: Split, users: np.ndarray, ks: tuple, item_features):
        self.ks, self.depth = ks, ks[-1]
        self.relevant = split.test[users]
        self.popularity = np.diff(split.train.indptr).astype(np.float64)
        self.n_listeners = int(np.count_nonzero(np.diff(split.train_by_user.indptr)))
        self.item_features = item_features
        self.ndcg_by_listener: dict = {}

    def __call__(self, recs: np.ndarray, key=None) -> dict:
        """Metrics by cut-off; with ``key``, each cut-off's per-listener NDCG is kept in ``ndcg_by_listener[key]``."""
        out = {}
        for k in self.ks:
            out[k] = ranking_metrics(recs, self.relevant, k, popularity=self.popularity,
                                     n_listeners=self.n_listeners, item_features=self.item_features,
                                     per_listener=True)
            del out[k]["users"]  # recorded once, in the protocol
            self.ndcg_by_listener.setdefault(key, {})[k] = out[k].pop("ndcg_by_listener")
        return out


def _neighbourhood_variants(content, model, name: str, params: dict, split: Split, users, measure: _Measure,
                            sizes, max_product: int, protocol: dict, cold) -> list[dict]:
    """The model cut to each neighbourhood size, alone; none when the item x item product is too large."""
    if not sizes:
        return []
    if product_size(model) > max_product:
        protocol["neighbourhoods_skipped"] = (f"the item x item product would have up to {product_size(model)} "
                                              f"entries (> {max_product})")
        log.info("evaluation: neighbourhood sizes skipped: %s", protocol["neighbourhoods_skipped"])
        return []
    variants = []
    for size in sizes:
        truncated = TruncatedNeighbours(model, size).fit()
        recs = rank_hybrid(content, {"t": truncated}, split, users, {"t": (0.0,)}, measure.depth,
                           cold=cold)[("t", 0.0)]
        metrics = measure(recs)
        variants += [{"name": f"{name}, {size} neighbours", "params": {**params, "neighbours": size},
                      "alpha": 0.0, "k": k, "metrics": metrics[k]} for k in measure.ks]
    return variants


def _run(method: str, alpha, k: int, metrics: dict) -> dict:
    return {"method": method, "alpha": alpha, "k": k, "metrics": dict(metrics)}
