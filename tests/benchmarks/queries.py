"""Latency of the public query API over seeds drawn uniformly and by popularity.

Every operation is timed call by call with ``perf_counter_ns`` (wall time, the
targets' measure) and ``thread_time_ns`` (CPU time of the calling thread,
which excludes waiting for a core while other processes run) after a short
warm-up (the first calls fault the memory-mapped pages in; their cost is
reported separately as ``first_ms``). Inputs are drawn before timing starts,
so only the API call is measured.
"""
from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass

import numpy as np

from engine import Recommender

from .machine import loadavg

log = logging.getLogger(__name__)


@dataclass
class Draws:
    """Inputs of one benchmark run, drawn once and shared by our method and the reference."""

    uniform: np.ndarray          # track rows, uniform over the catalogue
    popular: np.ndarray          # track rows, probability proportional to listeners
    uniform_sets: np.ndarray     # (n, 10) track rows
    popular_sets: np.ndarray     # (n, 10) track rows
    users_uniform: np.ndarray    # user codes
    users_active: np.ndarray     # user codes, probability proportional to history length
    users_50: np.ndarray         # user codes with a 50-track history (closest available length)
    users_50_length: int


def draw(rec: Recommender, n: int, seed: int = 0) -> Draws:
    """Draw ``n`` inputs of every kind, deterministically from ``seed``."""
    rng = np.random.default_rng(seed)
    n_tracks = len(rec.tracks)
    listeners = rec.tracks["n_listeners"].to_numpy().astype(np.float64)
    p_track = listeners / listeners.sum()
    history = np.diff(np.asarray(rec.users.indptr)).astype(np.int64)
    p_user = history / history.sum()
    # Users whose history length is closest to 50 (the target's "50 history tracks").
    distance = np.abs(history - 50)
    closest = int(distance.min())
    pool = np.flatnonzero(distance == closest)
    return Draws(
        uniform=rng.integers(0, n_tracks, n),
        popular=rng.choice(n_tracks, n, p=p_track),
        uniform_sets=np.stack([rng.choice(n_tracks, 10, replace=False) for _ in range(n)]),
        popular_sets=np.stack([rng.choice(n_tracks, 10, replace=False, p=p_track) for _ in range(n)]),
        users_uniform=rng.integers(0, len(history), n),
        users_active=rng.choice(len(history), n, p=p_user),
        users_50=rng.choice(pool, n),
        users_50_length=int(history[pool[0]]),
    )


def summarize(samples_ns: list[int]) -> dict:
    """Median, p95, p99, mean and max in milliseconds."""
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    return {"n": int(ms.size), "p50_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean()), "max_ms": float(ms.max())}


def time_calls(call, inputs, warmup: int = 20) -> dict:
    """Time ``call(x)`` for each ``x`` of ``inputs`` (after ``warmup`` untimed calls)."""
    inputs = list(inputs)
    start = time.perf_counter_ns()
    call(inputs[0])
    first = time.perf_counter_ns() - start
    for x in inputs[:warmup]:
        call(x)
    gc.collect()
    samples, cpu = [], []
    load_before = loadavg()
    for x in inputs:
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        call(x)
        cpu.append(time.thread_time_ns() - start_cpu)
        samples.append(time.perf_counter_ns() - start)
    # CPU time of this thread: what the query costs when it is not waiting for a core.
    return {**summarize(samples), "cpu_p50_ms": float(np.median(cpu)) / 1e6,
            "cpu_p99_ms": float(np.percentile(cpu, 99)) / 1e6,
            "first_ms": first / 1e6, "loadavg": [load_before[0], loadavg()[0]]}


def search_texts(rec: Recommender, rows: np.ndarray, rng: np.random.Generator) -> list[str]:
    """What people type: a prefix (2-8 characters) of a track's name or of its artist."""
    names, artists = rec.tracks["name"].to_numpy(), rec.tracks["artist"].to_numpy()
    texts = []
    for row in rows:
        source = names[row] if rng.random() < 0.6 else artists[row]
        length = int(rng.integers(2, 9))
        texts.append(str(source)[:length] or "a")
    return texts


def explain_pairs(rec: Recommender, rows: np.ndarray, rng: np.random.Generator) -> list[tuple[str, str]]:
    """(seed, recommended track) pairs: explanations are asked for tracks that were recommended."""
    ids = rec.tracks["track_id"].to_numpy()
    pairs = []
    for row in rows:
        recs = rec.recommend(ids[row], k=10, alpha=0.5)
        pairs.append((ids[row], recs[int(rng.integers(0, len(recs)))].track_id))
    return pairs


def run_queries(rec: Recommender, draws: Draws, k: int = 10, alpha: float = 0.5, seed: int = 1) -> list[dict]:
    """Latency rows ``{operation, draw, ...summary}`` for every operation and draw."""
    rng = np.random.default_rng(seed)
    ids = rec.tracks["track_id"].to_numpy()
    users = [rec.users.user_id(int(c)) for c in draws.users_uniform]
    active = [rec.users.user_id(int(c)) for c in draws.users_active]
    fifty = [rec.users.user_id(int(c)) for c in draws.users_50]
    plan = [
        ("recommend", "uniform", lambda t: rec.recommend(t, k=k, alpha=alpha), ids[draws.uniform]),
        ("recommend", "popularity", lambda t: rec.recommend(t, k=k, alpha=alpha), ids[draws.popular]),
        ("recommend alpha=0 (collab only)", "popularity", lambda t: rec.recommend(t, k=k, alpha=0.0),
         ids[draws.popular]),
        ("recommend alpha=1 (content only)", "uniform", lambda t: rec.recommend(t, k=k, alpha=1.0),
         ids[draws.uniform]),
        ("recommend_for_tracks (10 seeds)", "uniform",
         lambda s: rec.recommend_for_tracks(s, k=k, alpha=alpha), [list(ids[r]) for r in draws.uniform_sets]),
        ("recommend_for_tracks (10 seeds)", "popularity",
         lambda s: rec.recommend_for_tracks(s, k=k, alpha=alpha), [list(ids[r]) for r in draws.popular_sets]),
        ("recommend_for_user", "uniform users", lambda u: rec.recommend_for_user(u, k=k, alpha=alpha), users),
        ("recommend_for_user", "by activity", lambda u: rec.recommend_for_user(u, k=k, alpha=alpha), active),
        (f"recommend_for_user ({draws.users_50_length} history tracks)", "uniform among them",
         lambda u: rec.recommend_for_user(u, k=k, alpha=alpha), fifty),
        ("explain", "uniform", lambda p: rec.explain(*p), explain_pairs(rec, draws.uniform, rng)),
        ("explain", "popularity", lambda p: rec.explain(*p), explain_pairs(rec, draws.popular, rng)),
        ("search", "uniform", lambda q: rec.search(q, limit=20), search_texts(rec, draws.uniform, rng)),
        ("search", "popularity", lambda q: rec.search(q, limit=20), search_texts(rec, draws.popular, rng)),
    ]
    rows = []
    for operation, how, call, inputs in plan:
        result = time_calls(call, inputs)
        log.info("%-45s %-20s p50 %.3f ms  p95 %.3f ms  p99 %.3f ms", operation, how, result["p50_ms"],
                 result["p95_ms"], result["p99_ms"])
        rows.append({"operation": operation, "draw": how, **result})
    return rows


def time_load(path, repeats: int = 5) -> dict:
    """``Recommender.load`` wall time with and without checksum verification (page cache warm)."""
    out = {}
    for verify in (True, False):
        samples = []
        for _ in range(repeats):
            gc.collect()
            start = time.perf_counter_ns()
            Recommender.load(path, verify=verify)
            samples.append(time.perf_counter_ns() - start)
        out["verify" if verify else "no_verify"] = summarize(samples)
    return out
