"""Offline evaluation stage: measure every method on held-out listening and pick the defaults.

    python -m build.evaluate --raw DIR --out FILE.json [--seed 0] [--max-listeners N]

Splits the cleaned play matrix two ways (engine.evaluation): the warm
hold-out (listeners with >= 5 tracks, 20 % of their tracks held out) and the
new-release protocol (10 % of the tracks with >= 5 listeners lose all their
listening), rebuilds the content features from each split's training data,
and compares popularity, content only, collaborative only and the hybrid
over the alpha grid, plus the collaborative weighting and similarity options
in :data:`CANDIDATES`. :func:`choose_defaults` is the rule that picks the
build's model and alpha from both protocols. The refresh pipeline calls
:func:`evaluate` and writes its result as ``evaluation.json`` into the
artifact set.

Leak-free tags: when the raw directory holds ``User Tags.csv`` (the HetRec
import writes it), the tags of every track are rebuilt from the tag
assignments that are *not* a held-out (listener, track) pair, so a test
listener's own tagging of a held-out track cannot point the content model at
it. Without that file the catalogue tags are used as they are (they do not
come from the listeners).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from engine.collaborative import CollaborativeModel
from engine.errors import InputDataError, InvalidParameterError
from engine.evaluation import (ALPHA_GRID, NewReleaseData, Split, compare_methods, new_release_split,
                               train_test_split)
from engine.schema import EVALUATION_FILE  # noqa: F401  (the file name inside an artifact set)

from . import progress, settings
from .features import build_content
from .ingest import read_catalogue, read_listening
from .interactions import play_matrix

log = logging.getLogger("build.evaluate")

USER_TAGS_FILE = "User Tags.csv"

#: Test listeners evaluated at most (a seeded sample above this; HetRec has 1,877, all evaluated).
MAX_LISTENERS = 2000
#: ... and on data with more than LARGE_ROWS listening rows (the full-scale demo has 9.7M).
LARGE_DATA_LISTENERS = 1000
LARGE_ROWS = 2_000_000
#: Below this many test listeners the metrics are noise: the stage is skipped and says so.
MIN_TEST_LISTENERS = 20
#: Keys of a refresh config that describe the collaborative model (the rest: ``alpha``).
COLLABORATIVE_KEYS = tuple(option.name for option in dataclasses.fields(CollaborativeModel))
#: Neighbourhood sizes measured on the best collaborative model (evaluation only: the engine is exact).
NEIGHBOURHOODS = (50, 200, 1000)
#: Catalogue coverage@k a default must reach (scaled by the list slots a sample has, see choose_defaults).
MIN_COVERAGE = 0.10
#: New-release protocol: share of the tracks with at least NEW_RELEASE_MIN_LISTENERS listeners held out.
NEW_RELEASE_SHARE = 0.1
NEW_RELEASE_MIN_LISTENERS = 5

_TUNED = {"similarity": "rp3beta", "weighting": "log", "right_weighting": "bm25", "k1": 5.0}
#: Collaborative models compared, by name. The first group are the plain weighting and
#: similarity options; the last three are the rp3beta family tuned on HetRec Last.fm-2K
#: (log-weighted track -> listener step, BM25 (k1 = 5) listener -> track step, a shifted
#: popularity penalty and a shrinkage of seeds known from few listeners).
CANDIDATES = {
    "cosine, raw counts": {"similarity": "cosine", "weighting": "raw"},
    "cosine, log": {"similarity": "cosine", "weighting": "log"},
    "cosine, bm25": {"similarity": "cosine", "weighting": "bm25"},
    "cosine, tf-idf": {"similarity": "cosine", "weighting": "tfidf"},
    "asymmetric cosine (0.7), bm25": {"similarity": "cosine", "weighting": "bm25", "asymmetry": 0.7},
    "rp3beta, bm25, beta 0.5": {"similarity": "rp3beta", "weighting": "bm25", "beta": 0.5},
    "rp3beta tuned, beta 0.4, shift 10": {**_TUNED, "beta": 0.4, "popularity_shift": 10.0},
    "rp3beta tuned, beta 0.4, shift 15, shrink 1": {**_TUNED, "beta": 0.4, "popularity_shift": 15.0,
                                                    "seed_shrink": 1.0},
    "rp3beta tuned, beta 0.45, shift 20, shrink 0.5": {**_TUNED, "beta": 0.45, "popularity_shift": 20.0,
                                                       "seed_shrink": 0.5},
}


def choose_defaults(candidates: list[dict], k: int = 10, min_coverage: float = MIN_COVERAGE,
                    coverage_ceiling: float = 1.0) -> dict:
    """The build's model and alpha: new releases served as well as warm accuracy allows.

    Among the measured (model, alpha) pairs at cut-off ``k``:

    1. *covers the catalogue*: warm coverage@k >= ``min_coverage * coverage_ceiling``
       (when the evaluated lists have fewer slots than the catalogue has tracks,
       ``n_listeners * k < n_tracks``, no method can cover more than that share,
       so the floor shrinks with it);
    2. *as accurate as the best*: warm ndcg@k not measurably below the best
       covering pair's: the mean of the per-listener differences to it is at
       most one standard error of that mean below zero (a paired comparison on
       the same listeners; it adapts to the sample instead of a fixed margin);
    3. of those, the highest new-release ndcg@k wins (ties: higher warm ndcg@k,
       then coverage, then the earlier pair). Without a new-release measurement
       the best warm ndcg@k wins.

    The warm hold-out alone cannot see new releases, and ranks the pairs that
    hide them first; the new-release protocol alone would trade away what
    listeners with a history get. When no pair covers the catalogue, condition
    1 is dropped and the rule says so.

    Parameters
    ----------
    candidates : list of dict
        ``{"name", "params", "alpha", "k", "metrics", "new_release"}`` entries, and
        ``ndcg_by_listener`` (per-listener warm ndcg@k, the same listeners in every
        entry) for the paired comparison; ``new_release`` maps a cut-off to that
        protocol's metrics, or is None.
    k : int, default 10
    min_coverage : float, default MIN_COVERAGE
    coverage_ceiling : float, default 1.0
        ``min(1, n_listeners * k / n_tracks)``.
    """
    pool = [c for c in candidates if c["k"] == k]
    if not pool:
        raise InvalidParameterError(f"no candidate was measured at k={k}")
    floor = min_coverage * min(1.0, coverage_ceiling)
    scaled = "" if floor == min_coverage else f" ({min_coverage:g} x {coverage_ceiling:.3f} list slots per track)"
    cover_text = f"coverage@{k} >= {floor:.4g}{scaled}"
    covers = [c for c in pool if c["metrics"]["coverage"] >= floor]
    rule = f"among the {len(covers)} of {len(pool)} measured (model, alpha) pairs with {cover_text}"
    if not covers:
        covers, rule = pool, f"no measured pair reached {cover_text}; among all {len(pool)} pairs"
    best = max(covers, key=lambda c: (c["metrics"]["ndcg"], c["metrics"]["coverage"]))
    close = [c for c in covers if _not_worse(c, best)]
    if all(c.get("new_release") for c in close):
        chosen = max(close, key=lambda c: (c["new_release"][k]["ndcg"], c["metrics"]["ndcg"],
                                           c["metrics"]["coverage"]))
        rule = (f"highest new-release ndcg@{k} among the {len(close)} pairs whose warm ndcg@{k} is within one "
                f"paired standard error of the best ({best['metrics']['ndcg']:.4f}), {rule}")
    else:
        chosen = best
        rule = f"highest warm ndcg@{k} {rule} (no new-release measurement)"
    out = {"name": chosen["name"], "alpha": chosen["alpha"], "collaborative": dict(chosen["params"]),
           "rule": rule, "metrics": dict(chosen["metrics"]), "k": k}
    if chosen.get("new_release"):
        out["new_release"] = {str(cut): dict(m) for cut, m in chosen["new_release"].items()}
    return out


def _not_worse(candidate: dict, best: dict) -> bool:
    """Whether ``candidate``'s warm ndcg is within one standard error (paired, per listener) of ``best``'s."""
    if candidate is best:
        return True
    if "ndcg_by_listener" not in candidate or "ndcg_by_listener" not in best:
        return candidate["metrics"]["ndcg"] >= best["metrics"]["ndcg"]
    difference = np.asarray(candidate["ndcg_by_listener"]) - np.asarray(best["ndcg_by_listener"])
    standard_error = float(difference.std(ddof=1) / np.sqrt(len(difference))) if len(difference) > 1 else 0.0
    return float(difference.mean()) >= -standard_error


def default_listeners(plays) -> int:
    """Test listeners sampled by default: all of HetRec (1,877), 2,000 up to 2M play rows, else 1,000.

    The collaborative work per listener grows with the data (popular seeds
    reach more listeners), so large data gets a smaller sample to keep the
    stage at a few minutes.
    """
    return MAX_LISTENERS if plays.nnz <= LARGE_ROWS else LARGE_DATA_LISTENERS


def leak_free_tags(tracks: pd.DataFrame, user_ids, user_tags: pd.DataFrame, split: Split,
                   tags_per_track: int | None = None) -> tuple[pd.Series, dict]:
    """Each track's tags rebuilt from the tag assignments that are not held out.

    Parameters
    ----------
    tracks : DataFrame of shape (n_tracks, ...)
        Cleaned catalogue (``track_id``, ``tags``) in play-matrix row order.
    user_ids : array of str, shape (n_users,)
        Sorted listener ids (play-matrix column order).
    user_tags : DataFrame
        ``user_id, track_id, tag`` rows, one per tag assignment.
    split : Split
    tags_per_track : int, optional
        Tags kept per track; default the most any catalogue entry has (the importer's setting).

    Returns
    -------
    tags : Series of str, aligned with ``tracks``
        ``"tag, tag, ..."`` by number of (training) assignments, most first; ties keep
        the catalogue's order, then alphabetical.
    report : dict
        Assignments read, dropped as held out, and tracks whose tags changed.
    """
    catalogue = tracks["tags"].fillna("").astype(str).str.split(", ")
    catalogue = catalogue.map(lambda tags: [t for t in tags if t])
    if tags_per_track is None:
        tags_per_track = max(1, int(catalogue.map(len).max() or 1))
    rows = pd.Index(tracks["track_id"]).get_indexer(user_tags["track_id"].astype(str))
    users = np.searchsorted(np.asarray(user_ids, dtype=object), user_tags["user_id"].astype(str).to_numpy())
    users = np.minimum(users, len(user_ids) - 1)
    users = np.where(np.asarray(user_ids, dtype=object)[users] == user_tags["user_id"].astype(str).to_numpy(),
                     users, -1)
    held = split.is_held_out(users, rows)
    kept = pd.DataFrame({"row": rows, "tag": user_tags["tag"].astype(str).str.strip().str.lower()})[
        (rows >= 0) & ~held]
    counts = kept.groupby(["row", "tag"], sort=False).size().rename("n").reset_index()
    position = {(row, tag): p for row, tags in enumerate(catalogue) for p, tag in enumerate(tags)}
    counts["position"] = [position.get(key, tags_per_track) for key in zip(counts["row"], counts["tag"])]
    counts = counts.sort_values(["row", "n", "position", "tag"], ascending=[True, False, True, True])
    top = counts.groupby("row", sort=False).head(tags_per_track)
    joined = top.groupby("row", sort=True)["tag"].agg(", ".join)
    tags = pd.Series("", index=tracks.index, dtype=object)
    tags.iloc[joined.index.to_numpy()] = joined.to_numpy()
    changed = int((tags.to_numpy() != tracks["tags"].fillna("").astype(str).to_numpy()).sum())
    report = {"assignments": int(len(user_tags)), "dropped_held_out": int(held.sum()),
              "dropped_unknown": int((rows < 0).sum()), "tags_per_track": tags_per_track,
              "tracks_changed": changed}
    log.info("leak-free tags: %d assignments, %d dropped as held-out pairs, %d tracks' tags changed",
             report["assignments"], report["dropped_held_out"], changed)
    return tags, report


def evaluate(tracks: pd.DataFrame, plays, user_ids, raw: Path | None = None, *, seed: int = 0,
             max_listeners: int | str | None = "auto", candidates: dict | None = None,
             alphas=ALPHA_GRID, neighbourhoods=NEIGHBOURHOODS, block_weights: dict | None = None,
             keep: dict | None = None) -> dict:
    """Run the offline evaluation on a cleaned catalogue and play matrix; returns evaluation.json's content.

    ``keep``: a dict that receives ``neighbour_search``, the content-neighbour
    search of the evaluation, when the served content is the evaluation's own
    (no user tags): the build cuts the served table from it instead of searching again.

    Parameters
    ----------
    tracks : DataFrame of shape (n_tracks, ...)
        Cleaned catalogue, in play-matrix row order.
    plays : csr_matrix of shape (n_tracks, n_users)
    user_ids : array of str, shape (n_users,)
    raw : Path, optional
        Raw directory; its ``User Tags.csv``, if any, makes the tags leak-free.
    seed : int, default 0
        Seed of the split and of the listener sample.
    max_listeners : int, "auto" or None, default "auto"
        Sample at most this many test listeners ("auto": :func:`default_listeners`; None or 0: all).
    candidates : dict, optional
        Collaborative models to compare (default :data:`CANDIDATES`).
    """
    start = time.perf_counter()
    max_listeners = default_listeners(plays) if max_listeners == "auto" else (max_listeners or None)
    split = train_test_split(plays, seed=seed)
    log.info("evaluation split: %s", split.summary())
    user_tags_path = Path(raw) / USER_TAGS_FILE if raw is not None else None
    user_tags = pd.read_csv(user_tags_path, dtype=str, keep_default_na=False) \
        if user_tags_path is not None and user_tags_path.is_file() else None
    content, tags_report = _split_content(tracks, user_ids, user_tags, split, block_weights)
    new_release, new_release_tags = _new_release_data(tracks, plays, user_ids, user_tags, seed, block_weights,
                                                      None if user_tags is not None else content)
    with progress.progress(total=None, desc="listeners evaluated", unit="listener") as bar:
        comparison = compare_methods(split, content, candidates or CANDIDATES, choose_defaults, alphas=alphas,
                                     max_users=max_listeners, seed=seed, neighbourhoods=neighbourhoods,
                                     new_release=new_release, on_progress=progress.reporter(bar))
    result = evaluation_document(comparison)
    if keep is not None and user_tags is None:  # the served content is this content: its search can be cut
        keep["neighbour_search"] = comparison.neighbour_search
    tags = ({"source": str(user_tags_path), "rebuilt_without_held_out_pairs": True, **tags_report}
            if tags_report else {"source": "catalogue tags (not derived from the listeners)"})
    result["protocol"]["tags"] = tags
    if "new_release" in result:
        result["new_release"]["protocol"]["tags"] = (
            {**tags, **new_release_tags} if new_release_tags else tags)
    result["protocol"]["total_seconds"] = round(time.perf_counter() - start, 2)
    return result


def evaluation_document(comparison) -> dict:
    """The content of ``evaluation.json``: protocol, the chosen defaults, every run and variant, and the
    new-release protocol's runs when it ran (``dashboard.views`` reads this layout)."""
    document = {"protocol": comparison.protocol, "chosen": comparison.chosen, "runs": comparison.runs,
                "variants": comparison.variants}
    if comparison.new_release:
        document["new_release"] = comparison.new_release
    return document


def _split_content(tracks: pd.DataFrame, user_ids, user_tags: pd.DataFrame | None, split: Split,
                   block_weights: dict | None):
    """The content index of a split: tags rebuilt without its held-out pairs when user tags exist."""
    if user_tags is None:
        return build_content(tracks, block_weights)[1], None
    content_tracks = tracks.copy()
    content_tracks["tags"], report = leak_free_tags(tracks, user_ids, user_tags, split)
    return build_content(content_tracks, block_weights)[1], report


def _new_release_data(tracks, plays, user_ids, user_tags, seed: int, block_weights, content=None):
    """``(NewReleaseData, tags report)`` of the new-release protocol; ``(None, None)`` when it cannot run.

    ``content``: the warm split's content index, when it does not depend on the split (no user tags).
    """
    try:
        split = new_release_split(plays, NEW_RELEASE_SHARE, NEW_RELEASE_MIN_LISTENERS, seed=seed)
    except InvalidParameterError as exc:
        log.warning("new-release protocol skipped: %s", exc)
        return None, None
    if len(split.test_users) < MIN_TEST_LISTENERS:
        log.warning("new-release protocol skipped: only %d test listeners", len(split.test_users))
        return None, None
    log.info("new-release split: %s", split.summary())
    if content is not None:
        return NewReleaseData(split, content), None
    content, report = _split_content(tracks, user_ids, user_tags, split, block_weights)
    return NewReleaseData(split, content), report


def run_stage(tracks: pd.DataFrame, plays, user_ids, raw: Path | None, *, seed: int = 0,
              max_listeners: int | str | None = "auto", keep: dict | None = None) -> tuple[dict | None, str | None]:
    """The evaluation stage of a build: ``(evaluation, None)``, or ``(None, reason)`` when skipped.

    ``keep``: as :func:`evaluate`.

    Skipped (not failed) when the data has fewer than :data:`MIN_TEST_LISTENERS`
    listeners with at least 5 tracks: such numbers would choose defaults at random.
    """
    n_test = int(np.count_nonzero(np.diff(plays.T.tocsr().indptr) >= 5))
    if n_test < MIN_TEST_LISTENERS:
        reason = f"only {n_test} listeners with >= 5 tracks (need {MIN_TEST_LISTENERS})"
        log.warning("evaluation skipped: %s", reason)
        return None, reason
    return evaluate(tracks, plays, user_ids, raw, seed=seed, max_listeners=max_listeners, keep=keep), None


def settle_defaults(config: dict, explicit: dict, evaluation: dict | None,
                    skipped: str | None = None) -> tuple[dict, float, dict]:
    """The collaborative params and default alpha of a build, and where each came from.

    Explicit settings win; otherwise the evaluation's choice; otherwise ``config``
    (the built-in defaults). When any collaborative setting is explicit, the
    whole model comes from ``config`` (mixing a chosen model with a hand-set
    part of another would describe neither).

    Returns
    -------
    params : dict
        Keyword arguments of :class:`engine.collaborative.CollaborativeModel`.
    alpha : float
    provenance : dict
        ``{"collaborative": {...}, "alpha": {...}}`` with ``chosen_by`` and ``reason``, for the manifest.
    """
    fallback = "built-in default" + (f" (evaluation skipped: {skipped})" if skipped else
                                     " (evaluation not run)" if evaluation is None else "")
    chosen = evaluation["chosen"] if evaluation else None
    if any(key in explicit for key in COLLABORATIVE_KEYS) or chosen is None:
        params = {key: config[key] for key in COLLABORATIVE_KEYS if key in config}
        collab = {"chosen_by": "command line" if any(key in explicit for key in COLLABORATIVE_KEYS)
                  else fallback}
    else:
        params = dict(chosen["collaborative"])
        collab = {"chosen_by": "evaluation", "model": chosen["name"], "reason": chosen["rule"]}
    if "alpha" in explicit:
        alpha, source = float(explicit["alpha"]), {"chosen_by": "command line"}
    elif collab["chosen_by"] == "evaluation":
        k = chosen["k"]
        alpha = float(chosen["alpha"])
        source = {"chosen_by": "evaluation", "reason": chosen["rule"],
                  f"ndcg@{k}": chosen["metrics"]["ndcg"], f"coverage@{k}": chosen["metrics"]["coverage"]}
    else:
        alpha, source = float(config["alpha"]), {"chosen_by": fallback}
    return params, alpha, {"collaborative": collab, "alpha": source}


def parse_listeners(text: str) -> int | str:
    """``--max-listeners`` value: "auto" or a count >= 0."""
    if text == "auto":
        return text
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 'auto' or >= 0, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, default=settings.raw_dir(), help="directory of the raw CSVs")
    parser.add_argument("--out", type=Path, required=True, help="evaluation JSON file to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and listener sample")
    parser.add_argument("--max-listeners", type=parse_listeners, default="auto",
                        help="test listeners evaluated at most (0: all; default: auto, see default_listeners)")
    args = parser.parse_args(argv)
    progress.setup()
    try:
        tracks, _ = read_catalogue(args.raw / settings.CATALOGUE_FILE)
        listening = read_listening(args.raw / settings.LISTENING_FILE, pd.Index(tracks["track_id"]))
    except InputDataError as exc:
        log.error("evaluation stopped: %s", exc)
        return 2
    plays = play_matrix(listening, len(tracks))
    result = evaluate(tracks, plays, listening.user_ids, args.raw, seed=args.seed,
                      max_listeners=args.max_listeners)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2), encoding="utf-8")
    tmp.replace(args.out)
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
