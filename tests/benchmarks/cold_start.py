"""Warm and new-release accuracy through the served path, on real Last.fm data (HetRec 2011).

    python -m tests.benchmarks.cold_start [--src ../shared/data/hetrec2011-lastfm-2k] [--work DIR]

What a person gets, not what the evaluation computes: for each protocol the
training part of the data is written as raw CSVs, the artifact set is built
by ``build.refresh`` exactly as ``make artifacts`` builds it (its own offline
evaluation chooses the defaults), and every test listener is asked for
``Recommender.recommend_for_user`` with no alpha, the build's default.

- **warm**: 20 % of each listener's artists (listeners with at least 5) held
  out, seeded; NDCG@10 and catalogue coverage@10 of the held-out artists.
- **new releases**: 10 % of the artists with at least 5 listeners lose all
  their listening (their tags from other listeners stay); every listener who
  played one is asked for 50; recall@50 and NDCG@10 of those artists.

Tag assignments a test listener made on a held-out (listener, artist) pair
are left out of the training data in both protocols. Uses only the public
API, so the same script measures an older checkout.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SRC = PROJECT_ROOT.parent / "shared" / "data" / "hetrec2011-lastfm-2k"
CATALOGUE, LISTENING, USER_TAGS = "Music Info.csv", "User Listening History.csv", "User Tags.csv"


def warm_split(listening: pd.DataFrame, seed: int = 0, fraction: float = 0.2, min_items: int = 5):
    """``(train, held)`` rows: ``floor(fraction * n + 0.5)`` of each active listener's artists held out."""
    rng = np.random.default_rng(seed)
    held = []
    for _, rows in listening.groupby("user_id", sort=True):
        if len(rows) >= min_items:
            n = max(1, math.floor(fraction * len(rows) + 0.5))
            held.extend(rng.choice(rows.index.to_numpy(), size=n, replace=False).tolist())
    mask = listening.index.isin(held)
    return listening[~mask], listening[mask]


def new_release_split(listening: pd.DataFrame, seed: int = 0, share: float = 0.1, min_listeners: int = 5):
    """``(train, held)`` rows: every row of a seeded ``share`` of the artists with ``min_listeners``+ listeners."""
    listeners = listening.groupby("track_id")["user_id"].nunique()
    eligible = np.sort(listeners[listeners >= min_listeners].index.to_numpy())
    rng = np.random.default_rng(seed)
    new = set(rng.choice(eligible, size=max(1, round(share * len(eligible))), replace=False).tolist())
    mask = listening["track_id"].isin(new).to_numpy()
    return listening[~mask], listening[mask]


def build(raw: Path, train: pd.DataFrame, held: pd.DataFrame, out: Path) -> Path:
    """Raw CSVs of the training part (tags without the held-out pairs' taggings), built with the defaults."""
    from build.refresh import refresh

    directory = out / "raw"
    directory.mkdir(parents=True)
    shutil.copy(raw / CATALOGUE, directory / CATALOGUE)
    train.to_csv(directory / LISTENING, index=False)
    tags = pd.read_csv(raw / USER_TAGS, dtype=str, keep_default_na=False)
    held_pairs = set(zip(held["user_id"].astype(str), held["track_id"].astype(str)))
    keep = [(u, t) not in held_pairs for u, t in zip(tags["user_id"], tags["track_id"])]
    tags[keep].to_csv(directory / USER_TAGS, index=False)
    refresh(directory, out / "artifacts", evaluate=True)  # as `make artifacts` (the command line) builds
    return out / "artifacts"


def measure(artifacts: Path, held: pd.DataFrame, k: int, train_users: set) -> dict:
    """Mean recall@k, NDCG@10 and coverage@10 of ``recommend_for_user`` at the build's default alpha."""
    from engine import Recommender

    rec = Recommender.load(artifacts)
    recalls, ndcgs, listed, new_share = [], [], set(), []
    for user, rows in held.groupby("user_id", sort=True):
        if str(user) not in train_users:
            continue
        relevant = set(rows["track_id"].astype(str))
        recs = rec.recommend_for_user(str(user), k=k)
        ids = [r.track_id for r in recs]
        hits = [t in relevant for t in ids]
        recalls.append(sum(hits) / len(relevant))
        ideal = sum(1 / math.log2(r + 2) for r in range(min(10, len(relevant))))
        ndcgs.append(sum(h / math.log2(r + 2) for r, h in enumerate(hits[:10])) / ideal)
        listed.update(ids[:10])
        new_share.append(np.mean([r.n_listeners == 0 for r in recs[:10]]))
    return {"listeners": len(recalls), f"recall@{k}": float(np.mean(recalls)), "ndcg@10": float(np.mean(ndcgs)),
            "coverage@10": len(listed) / len(rec.tracks), "new_share@10": float(np.mean(new_share)),
            "default_alpha": rec.default_alpha, "model": rec.manifest["collaborative"].get("model"),
            "rule": rec.manifest["defaults"].get("reason")}


def run(src: Path, work: Path, seed: int = 0, share: float = 0.1) -> dict:
    from build.import_hetrec import import_hetrec

    raw = work / "hetrec"
    import_hetrec(src, raw)
    listening = pd.read_csv(raw / LISTENING, dtype={"track_id": str, "user_id": str})
    results = {}
    splits = (("warm", lambda data: warm_split(data, seed=seed), 10),
              ("new_release", lambda data: new_release_split(data, seed=seed, share=share), 50))
    for name, split, k in splits:
        start = time.perf_counter()
        train, held = split(listening)
        artifacts = build(raw, train, held, work / name)
        results[name] = {**measure(artifacts, held, k, set(train["user_id"].astype(str))),
                         "held_out_rows": len(held), "seconds": round(time.perf_counter() - start, 1)}
        log.info("%s: %s", name, json.dumps(results[name]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC, help="the HetRec 2011 Last.fm-2K directory")
    parser.add_argument("--work", type=Path, default=None, help="working directory (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of both splits")
    parser.add_argument("--share", type=float, default=0.1, help="share of the eligible artists made new releases")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    work = args.work or Path(tempfile.mkdtemp(prefix="cold-start-"))
    print(json.dumps(run(args.src, work, args.seed, args.share), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
