"""Small, pure reshapings of engine results for the dashboard's display (no Dash, no plotting).

The dashboard shows what these return without further arithmetic, so every
number a chart plots is computed here or deeper in the engine:

- :func:`audio_profile` puts raw audio features on a common [0, 1] scale (the Explain page's audio bars);
- :func:`rank_trajectories` turns an alpha sweep into per-track rank lines
  (bump charts);
- :func:`score_parts` splits a blended score into its content and collaborative shares (score bars);
- :func:`load_evaluation` and :func:`evaluation_rows` read the build's offline evaluation, if any;
  :func:`protocol_curves` and :func:`new_release_summary` its warm and new-release protocols.
"""
from __future__ import annotations

import json
import logging
import math
import numbers
from pathlib import Path

import numpy as np

from engine.artifacts import file_checksum
from engine.hybrid import blend_parts
from engine.recommender import AlphaSweep
from engine.schema import AUDIO_FEATURES, EVALUATION_FILE

__all__ = ["audio_profile", "score_parts", "rank_trajectories", "load_evaluation",
           "evaluation_rows", "protocol_curves", "new_release_summary", "PROTOCOL_CURVES", "most_popular",
           "listener_track_count", "evaluation_table", "model_comparison"]

log = logging.getLogger(__name__)


def audio_profile(audio: dict[str, float]) -> dict[str, float]:
    """Audio features rescaled to [0, 1] by their valid ranges (``engine.schema.AUDIO_FEATURES``).

    Parameters
    ----------
    audio : dict of str to float
        Raw feature values, e.g. ``{"loudness": -6.0, "tempo": 120.0}``;
        features outside the schema are ignored.

    Returns
    -------
    dict of str to float
        The features present, in schema order, each ``(x - lo) / (hi - lo)``
        clipped to [0, 1] (loudness -60..5 dB and tempo 0..300 BPM become
        comparable with the 0..1 features).
    """
    out = {}
    for name, (lo, hi) in AUDIO_FEATURES.items():
        value = audio.get(name)
        if value is None or not isinstance(value, numbers.Real) or math.isnan(value):
            continue
        out[name] = min(max((float(value) - lo) / (hi - lo), 0.0), 1.0)
    return out


def score_parts(content_score: float, collab_score: float, alpha: float) -> tuple[float, float]:
    """The two addends of a blended score: ``(alpha * content, (1 - alpha) * collab)``.

    They sum to the recommendation's ``score`` (:func:`engine.hybrid.blend_parts`, the one definition).
    """
    return blend_parts(alpha, content_score, collab_score)


def rank_trajectories(sweep: AlphaSweep) -> dict[str, list[int | None]]:
    """Rank of every track that appears in any of the sweep's lists, at each alpha.

    Parameters
    ----------
    sweep : AlphaSweep
        ``n_alphas`` top-k lists.

    Returns
    -------
    dict of str to list of (int or None)
        ``{track_id: ranks}`` with ``len(ranks) == n_alphas``; a rank is
        1-based, None where the track is outside that alpha's top k. Tracks
        are ordered by the first alpha at which they appear, then by rank
        there, so the lines of the alpha = 0 list come first.
    """
    trajectories: dict[str, list[int | None]] = {}
    n = len(sweep.alphas)
    for a, ranking in enumerate(sweep.ranking):
        for rank, track_id in enumerate(ranking, start=1):
            ranks = trajectories.setdefault(track_id, [None] * n)
            ranks[a] = rank
    return trajectories


def load_evaluation(directory: str | Path, manifest: dict | None = None) -> dict | None:
    """The offline evaluation written by the build into an artifact set, or None when there is none.

    Reads ``<directory>/evaluation.json``. When ``manifest`` (the set's) lists
    the file under ``extra_files``, the file must match the checksum recorded
    there. An unreadable or altered file is logged and treated as absent: the
    evaluation is optional and must never stop the artifacts from being served.
    """
    path = Path(directory) / EVALUATION_FILE
    if not path.is_file():
        return None
    try:
        if not _matches_manifest(path, manifest):
            log.warning("ignoring evaluation %s: it does not match its checksum in the manifest (altered)", path)
            return None
        with open(path, encoding="utf-8") as handle:
            evaluation = json.load(handle)
    except (OSError, ValueError) as exc:  # json.JSONDecodeError, or an unknown checksum algorithm
        log.warning("ignoring unreadable evaluation %s: %s", path, exc)
        return None
    return evaluation if isinstance(evaluation, dict) else None


def _matches_manifest(path: Path, manifest: dict | None) -> bool:
    """Whether ``path`` has the ``"<algorithm>:<digest>"`` checksum ``manifest["extra_files"]`` records for it
    (True when the manifest records none)."""
    entry = ((manifest or {}).get("extra_files") or {}).get(path.name)
    expected = entry.get("checksum") if isinstance(entry, dict) else None
    if not isinstance(expected, str):
        return True
    return file_checksum(path, expected.split(":", 1)[0]) == expected


def evaluation_rows(evaluation: dict | None, protocol: str = "warm") -> list[dict]:
    """Flatten an evaluation into rows ``{"method", "alpha", "k", "metric", "value"}``.

    Reads ``{"runs": [{"method": "hybrid", "alpha": 0.3, "k": 10, "metrics": {...}}, ...]}``
    as the build writes it (``build.evaluate.evaluation_document``); the metrics of one run
    are a dict ``{name: number}``, e.g. ``{"ndcg": 0.21, "coverage": 0.12}``
    (``k`` may be omitted; a listener count ``users`` is not a metric and is skipped).
    ``protocol="new_release"`` reads the new-release runs (``evaluation["new_release"]["runs"]``).

    Returns
    -------
    list of dict
        One row per (run, metric); ``alpha`` and ``k`` are None when the run
        has none (popularity, content only). A metric name without ``@`` gets
        ``@k`` appended when the run has a ``k``. Non-numeric values are skipped.
    """
    if not evaluation:
        return []
    section = evaluation if protocol == "warm" else evaluation.get("new_release")
    runs = section.get("runs") if isinstance(section, dict) and isinstance(section.get("runs"), list) else []
    rows = []
    for run in runs:
        metrics = run.get("metrics") if isinstance(run, dict) else None
        if not isinstance(metrics, dict):
            continue
        for name, value in metrics.items():
            if name in _NOT_METRICS or isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or math.isnan(value):
                continue
            k = _number_or_none(run.get("k"))
            metric = str(name) if k is None or "@" in str(name) else f"{name}@{k:g}"
            rows.append({"method": str(run.get("method", "?")), "alpha": _number_or_none(run.get("alpha")),
                         "k": k, "metric": metric, "value": float(value)})
    return rows


#: The curves of :func:`protocol_curves`: (label, protocol, metric), in legend order.
PROTOCOL_CURVES = (("listeners with a history: NDCG@10", "warm", "ndcg@10"),
                   ("new releases: NDCG@10", "new_release", "ndcg@10"),
                   ("new releases: recall@50", "new_release", "recall@50"),
                   ("never-played share of lists (history)", "warm", "new_share@10"))


def protocol_curves(evaluation: dict | None) -> dict[str, list]:
    """Both protocols' hybrid metrics against alpha (the alpha page's chart).

    Returns ``{"alpha": [a, ...], label: [value or None, ...], ...}`` for the
    labels of :data:`PROTOCOL_CURVES` that the evaluation measured; empty when
    it has no hybrid runs.
    """
    curves: dict[str, dict[float, float]] = {}
    for label, protocol, metric in PROTOCOL_CURVES:
        for row in evaluation_rows(evaluation, protocol):
            if row["method"] == "hybrid" and row["metric"] == metric and row["alpha"] is not None:
                curves.setdefault(label, {})[row["alpha"]] = row["value"]
    alphas = sorted({a for values in curves.values() for a in values})
    if not alphas:
        return {}
    return {"alpha": alphas, **{label: [values.get(a) for a in alphas] for label, values in curves.items()}}


def new_release_summary(evaluation: dict | None) -> dict | None:
    """What the new-release protocol measured, for the Data page; None when it did not run.

    ``{"protocol": {...}, "chosen_alpha", "at_default": {metric: value}, "content_only": {...},
    "listening_only": {...}}`` with ``ndcg@10``, ``recall@50`` and ``new_share@10`` each.
    """
    if not evaluation or not isinstance(evaluation.get("new_release"), dict):
        return None
    rows = evaluation_rows(evaluation, "new_release")
    wanted = ("ndcg@10", "recall@10", "recall@50", "ndcg@50", "new_share@10", "coverage@10")

    def at(alpha):
        return {r["metric"]: r["value"] for r in rows if r["alpha"] == alpha and r["metric"] in wanted}

    chosen = _number_or_none((evaluation.get("chosen") or {}).get("alpha"))
    return {"protocol": dict(evaluation["new_release"].get("protocol") or {}), "chosen_alpha": chosen,
            "at_default": at(chosen), "content_only": at(1.0), "listening_only": at(0.0)}


def model_comparison(evaluation: dict | None, k: float) -> list[dict]:
    """The collaborative models the build compared, by listening alone (alpha 0), at cut-off ``k``.

    Reads the chosen model's ``collaborative`` run and the ``variants``
    of ``evaluation.json`` (``build.evaluate.evaluation_document``). Returns one record
    ``{"model", "chosen", <metric>: value, ...}`` per model, best NDCG first;
    empty when the evaluation has no variants.
    """
    if not evaluation or not isinstance(evaluation.get("variants"), list):
        return []
    chosen = str((evaluation.get("chosen") or {}).get("name", "chosen model"))
    entries = [{"name": chosen, **run} for run in evaluation.get("runs") or []
               if isinstance(run, dict) and run.get("method") == "collaborative"]
    entries += [v for v in evaluation["variants"] if isinstance(v, dict)]
    records = {}
    for entry in entries:
        metrics = entry.get("metrics")
        if _number_or_none(entry.get("k")) != k or entry.get("alpha", 0.0) not in (0.0, None) \
                or not isinstance(metrics, dict):
            continue
        values = {name: float(v) for name, v in metrics.items() if name not in _NOT_METRICS
                  and isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isnan(v)}
        records.setdefault(str(entry.get("name", "?")), {"model": str(entry.get("name", "?")),
                                                         "chosen": entry.get("name") == chosen, **values})
    return sorted(records.values(), key=lambda r: -r.get("ndcg", -math.inf))


#: Numbers stored next to the metrics that are not metrics (how many listeners were averaged over).
_NOT_METRICS = {"users", "n_users"}


def _number_or_none(value):
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else None


def most_popular(tracks, n: int = 8) -> list[str]:
    """Ids of the ``n`` tracks with the most listeners, most first (ties in catalogue order).

    Parameters
    ----------
    tracks : DataFrame of shape (n_tracks, ...)
        The track table, with ``track_id`` and ``n_listeners`` columns.
    """
    order = np.argsort(-tracks["n_listeners"].to_numpy(), kind="stable")[:n]
    return [str(t) for t in tracks["track_id"].to_numpy()[order]]


def listener_track_count(recommender, user_id: str) -> int:
    """Number of distinct tracks ``user_id`` played; raises :class:`engine.UnknownUserError` naming it."""
    users = recommender.users
    return int(users.n_tracks_of([users.code(user_id)])[0])


def evaluation_table(rows: list[dict], k: float | None = None) -> tuple[list[str], list[dict]]:
    """Pivot :func:`evaluation_rows` into one record per run, optionally for one cut-off ``k``.

    Returns
    -------
    metrics : list of str
        Metric names in first-seen order (the table's value columns); with
        ``k`` given, its ``@k`` suffix is dropped (``ndcg@10`` -> ``ndcg``).
    records : list of dict
        ``{"method", "alpha", metric: value, ...}``, one per (method, alpha, k),
        in first-seen order; a metric the run did not report is missing.
    """
    if k is not None:
        suffix = f"@{k:g}"
        rows = [{**r, "metric": r["metric"].removesuffix(suffix)} for r in rows if r["k"] == k]
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    records: dict[tuple, dict] = {}
    for r in rows:
        record = records.setdefault((r["method"], r["alpha"], r["k"]), {"method": r["method"], "alpha": r["alpha"]})
        record[r["metric"]] = r["value"]
    return metrics, list(records.values())
