"""Build (or refresh) the artifact set from the two raw CSV files.

    python -m build.refresh --raw data/raw --out data/artifacts [--scheduler tcp://host:8786] [--force]
                            [--no-evaluate] [--eval-listeners N] [--wait]

Stages: ingest (clean both CSVs; the listening history through dask) ->
content features -> play matrix -> offline evaluation (build.evaluate: picks
the collaborative model and the default alpha unless given on the command
line; writes evaluation.json) -> collaborative model -> statistics -> atomic
write. Unchanged inputs and settings skip the build unless ``--force``.

One build at a time per artifact root (:class:`engine.artifacts.BuildLock`):
a build that finds another one running stops at once and names it (pid,
start time, command), or with ``--wait`` queues behind it and then skips if
that build already made the set up to date.

Exit codes: 0 built or already up to date; 2 the input cannot be used (the
message names file, column, row and value); 3 the build failed (an
unreachable scheduler, a full disk...); 4 another build is running on the
same artifact root. The serving set is untouched whenever the code is not 0.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from engine.artifacts import ArtifactSet, BuildLock, file_checksum, write_artifact_set
from engine.cold_start import ContentNeighbours
from engine.collab_cache import HeavyRows
from engine.collaborative import CollaborativeModel
from engine.errors import ArtifactError, BuildLockedError, InputDataError
from engine.schema import TRACK_TABLE_COLUMNS
from engine.stats import catalogue_statistics

from . import evaluate as evaluation_stage
from . import progress, settings
from .features import build_content
from .ingest import read_catalogue, read_listening
from .interactions import play_matrix

log = logging.getLogger("build.refresh")

#: Defaults of the collaborative model and alpha when the evaluation stage does not choose them
#: (skipped, or too few listeners); with it, the build uses the evaluation's choice (build.evaluate).
DEFAULT_CONFIG = {"weighting": "bm25", "similarity": "cosine", "beta": 0.5, "alpha": 0.5}


class StageTimer:
    """Records wall time and peak RSS (MB, so far) after each stage."""

    def __init__(self):
        self.stages: dict[str, dict] = {}
        self._start = time.perf_counter()

    @contextlib.contextmanager
    def stage(self, name: str):
        start, cpu_start = time.perf_counter(), time.process_time()
        yield
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stages[name] = {"seconds": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1),
                             "cpu_seconds": round(time.process_time() - cpu_start, 3)}  # all threads
        log.info("stage %s: %.2f s, peak RSS %.0f MB", name, seconds, peak_mb,
                 extra={"stage": name, "seconds": round(seconds, 3), "peak_rss_mb": round(peak_mb, 1)})

    @property
    def total_seconds(self) -> float:
        return round(time.perf_counter() - self._start, 3)


def _inputs(raw: Path) -> dict[str, Path]:
    return {"catalogue": raw / settings.CATALOGUE_FILE, "listening": raw / settings.LISTENING_FILE}


def _build_key(input_hashes: dict, config: dict) -> str:
    blob = json.dumps({"inputs": input_hashes, "config": config}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def _current_build_key(out: Path) -> str | None:
    try:
        return ArtifactSet.open(out, verify=False).manifest.get("build_key")
    except ArtifactError:
        return None


def _new_version(out: Path, build_key: str) -> str:
    """A set name that sorts by build time and is never reused.

    Microseconds keep builds within one second apart; the rare clash (or a
    clock that went backwards) is resolved by waiting past the newest name,
    because pruning keeps the sets whose names sort last.
    """
    while True:
        stamp = datetime.now(timezone.utc).strftime("v%Y%m%dT%H%M%S.%f")
        existing = [p.name for p in out.glob("v*")] if out.exists() else []
        if all(name < stamp for name in existing):
            return f"{stamp}-{build_key[:8]}"
        time.sleep(0.001)


def _scheduler(address: str | None):
    """A dask.distributed client for ``address``, or the local threaded scheduler."""
    if not address:
        return contextlib.nullcontext()
    from distributed import Client

    return Client(address, timeout="30s")


def refresh(raw: Path, out: Path, scheduler: str | None = None, force: bool = False,
            config: dict | None = None, evaluate: bool = False,
            eval_listeners: int | str | None = "auto", wait: bool = False) -> Path | None:
    """Build the artifact set; returns its directory, or None when it was already up to date.

    ``config`` holds explicit settings (None values count as not given);
    ``evaluate`` runs the offline evaluation stage, which then picks what
    ``config`` leaves open (the command line turns it on by default). The
    build holds the root's :class:`BuildLock` throughout: raises
    :class:`engine.errors.BuildLockedError` if another build holds it, or
    with ``wait`` waits for it.
    """
    with BuildLock(out, wait=wait) as lock:
        return _refresh(raw, out, scheduler, force, config, evaluate, eval_listeners, lock)


def _refresh(raw: Path, out: Path, scheduler: str | None, force: bool, config: dict | None, evaluate: bool,
             eval_listeners, lock: BuildLock) -> Path | None:
    explicit = {key: value for key, value in (config or {}).items() if value is not None}
    config = {**DEFAULT_CONFIG, **explicit}
    paths = _inputs(Path(raw))
    for path in paths.values():
        if not path.is_file():
            raise InputDataError("input file not found", file=str(path))
    timer = StageTimer()
    with timer.stage("hash_inputs"):
        hashes = {name: file_checksum(path) for name, path in paths.items()}
    build_key = _build_key(hashes, {**config, "evaluate_listeners": eval_listeners} if evaluate else config)
    if not force and _current_build_key(Path(out)) == build_key:
        log.info("artifacts in %s are up to date with the inputs; nothing to do (use --force)", out)
        return None

    with _scheduler(scheduler):
        with timer.stage("ingest_catalogue"):
            tracks, catalogue_report = read_catalogue(paths["catalogue"])
        with timer.stage("ingest_listening"):
            listening = read_listening(paths["listening"], pd.Index(tracks["track_id"]))
    for name, report in (("catalogue", catalogue_report), ("listening", listening.cleaning)):
        log.info("cleaning of the %s: %s", name, json.dumps(report, sort_keys=True))
    with timer.stage("interactions"):
        plays = play_matrix(listening, len(tracks))
        tracks["n_listeners"] = np.diff(plays.indptr).astype(np.int32)
        tracks["n_plays"] = np.asarray(plays.sum(axis=1)).ravel().astype(np.int64)
    with timer.stage("content"):
        features, content = build_content(tracks)
    evaluation, skipped, kept = None, "not requested", {}
    if evaluate:
        with timer.stage("evaluation"):
            evaluation, skipped = evaluation_stage.run_stage(tracks, plays, listening.user_ids, Path(raw),
                                                             max_listeners=eval_listeners, keep=kept)
    params, alpha, provenance = evaluation_stage.settle_defaults(config, explicit, evaluation, skipped)
    with timer.stage("collaborative"):
        collab = CollaborativeModel(**params).fit(plays)
        log.info("collaborative: %s (%s), %d stored entries", params,
                 provenance["collaborative"]["chosen_by"], collab.left_.nnz)
        plays_by_user = plays.T.tocsr()
        plays_by_user.sort_indices()
        if not np.array_equal(plays_by_user.indices, collab.right_.indices):
            raise RuntimeError("collaborative right matrix lost the play matrix's pattern")
    with timer.stage("collab_cache"):  # exact rows of the most expensive seeds (engine.collab_cache)
        heavy = HeavyRows().fit(collab)
    with timer.stage("cold_neighbours"):  # listening estimates of never-played tracks (engine.cold_start)
        cold = ContentNeighbours().fit(content, tracks["n_listeners"].to_numpy(),
                                       candidates=kept.get("neighbour_search"))  # cut from the evaluation's
    with timer.stage("statistics"):
        stats = catalogue_statistics(tracks, plays)

    arrays = {
        **content.to_arrays(),
        "collab_left.data": collab.left_.data, "collab_left.indices": collab.left_.indices,
        "collab_left.indptr": collab.left_.indptr.astype(np.int32),
        "collab_right.data": collab.right_.data, "collab_right.indices": collab.right_.indices,
        "collab_right.indptr": collab.right_.indptr.astype(np.int32),
        "user_playcounts": plays_by_user.data.astype(np.float32),
        "user_ids": listening.user_id_bytes,
        **heavy.to_arrays(),
        **cold.to_arrays(),
    }
    manifest = {
        "build_key": build_key,
        "inputs": {name: {"path": str(path), "checksum": hashes[name], "bytes": path.stat().st_size}
                   for name, path in paths.items()},
        "counts": {"tracks": len(tracks), "users": listening.n_users, "rows": int(plays.nnz),
                   "cold_tracks": int(np.count_nonzero(tracks["n_listeners"] == 0))},
        "cleaning": {"catalogue": catalogue_report, "listening": listening.cleaning},
        "content": {"blocks": [b.to_dict() for b in content.blocks],
                    "absent_blocks": content.absent_blocks,
                    "n_features": features.n_features_, "tag_vocabulary": features.tag_vocabulary_},
        "collaborative": {"params": params, **provenance["collaborative"]},
        "defaults": {"alpha": alpha, **provenance["alpha"]},
        "evaluation": ({"file": evaluation_stage.EVALUATION_FILE, **evaluation["protocol"]} if evaluation
                       else {"skipped": skipped}),
        "statistics": stats,
        "scheduler": scheduler or "local",
    }
    with timer.stage("write"):
        table = tracks[list(TRACK_TABLE_COLUMNS)]
        manifest["stage_timings"] = dict(timer.stages)
        manifest["build_seconds"] = timer.total_seconds
        version = _new_version(Path(out), build_key)
        directory = write_artifact_set(out, version, arrays, table, manifest, extra_json=(
            {evaluation_stage.EVALUATION_FILE: evaluation} if evaluation else None), lock=lock)
    log.info("artifact set %s written in %.1f s (peak RSS %.0f MB)", directory, timer.total_seconds,
             resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, default=settings.raw_dir(), help="directory of the two CSVs")
    parser.add_argument("--out", type=Path, default=settings.artifacts_dir(), help="artifact root directory")
    parser.add_argument("--scheduler", default=None, help="dask.distributed scheduler address (tcp://host:8786)")
    parser.add_argument("--force", action="store_true", help="rebuild even if inputs are unchanged")
    # Left unset, these come from the evaluation (or DEFAULT_CONFIG when it does not run).
    parser.add_argument("--weighting", default=None, help=f"default: evaluated ({DEFAULT_CONFIG['weighting']})")
    parser.add_argument("--similarity", default=None, help=f"default: evaluated ({DEFAULT_CONFIG['similarity']})")
    parser.add_argument("--beta", type=float, default=None, help=f"default: evaluated ({DEFAULT_CONFIG['beta']})")
    parser.add_argument("--alpha", type=float, default=None,
                        help=f"default alpha (default: evaluated ({DEFAULT_CONFIG['alpha']}))")
    parser.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                        help="skip the offline evaluation stage (no evaluation.json; built-in defaults)")
    parser.add_argument("--wait", action="store_true",
                        help="if another build is running on --out, wait for it instead of stopping (exit 4)")
    parser.add_argument("--eval-listeners", type=evaluation_stage.parse_listeners, default="auto",
                        help="test listeners the evaluation samples at most (0: all; default: auto = all up "
                             "to 2,000, 1,000 above 2M listening rows)")
    args = parser.parse_args(argv)
    progress.setup()
    try:
        refresh(args.raw, args.out, scheduler=args.scheduler, force=args.force,
                config={"weighting": args.weighting, "similarity": args.similarity, "beta": args.beta,
                        "alpha": args.alpha}, evaluate=args.evaluate, eval_listeners=args.eval_listeners,
                wait=args.wait)
    except BuildLockedError as exc:
        log.error("build not started, previous artifacts untouched: %s", exc)
        return 4
    except InputDataError as exc:
        log.error("build stopped, previous artifacts untouched: %s", exc)
        return 2
    except OSError as exc:  # e.g. an unreachable --scheduler address, a full disk
        log.error("build failed, previous artifacts untouched: %s", exc)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
