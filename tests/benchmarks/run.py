"""Run every benchmark and write the markdown report (``make bench``).

    python -m tests.benchmarks.run [--scale full|demo] [--queries 500] [--reference-queries 30]
                                   [--artifacts DIR | --skip-build] [--no-default-build] [--no-serving]
                                   [--out bench-report.md]
    python -m tests.benchmarks.run --render data/bench/bench-results.json   # re-render a report

From a fresh clone this generates the full-scale demo data (once; cached under
``data/bench/``), times two builds of it (the default build, offline
evaluation included, as ``make artifacts`` runs it; then the serving
artifacts alone, ``--no-evaluate``, the set measured next), then measures
loading, query latency, the reference method, exactness, the bandwidth floor
and serving. The report is written to ``--out`` and printed; the raw numbers
go to ``--json``. Nothing here asserts on time: the report states which
targets are met.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from engine import Recommender
from engine.artifacts import ArtifactSet
from engine.errors import ArtifactError

from . import browser, build_timing, data, machine, queries, reference, report, serving, soak, swap

log = logging.getLogger("tests.benchmarks")

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="full", choices=("full", "demo"))
    parser.add_argument("--seed", type=int, default=None, help="demo_data seed (default: the generator's)")
    parser.add_argument("--queries", type=int, default=500, help="timed queries per operation and draw")
    parser.add_argument("--reference-queries", type=int, default=30,
                        help="seeds per draw for the (slow) reference method")
    parser.add_argument("--exactness-queries", type=int, default=60, help="queries checked against brute force")
    parser.add_argument("--artifacts", type=Path, default=None,
                        help="benchmark this existing artifact set; no data generation and no build")
    parser.add_argument("--skip-build", action="store_true",
                        help="reuse the cached benchmark artifact set if there is one")
    parser.add_argument("--no-serving", action="store_true", help="skip the gunicorn load test")
    parser.add_argument("--no-browser", action="store_true",
                        help="skip the browser section (Lighthouse, bytes, interaction latency)")
    parser.add_argument("--serving-seconds", type=float, default=10.0, help="duration of each load level")
    parser.add_argument("--no-default-build", action="store_true",
                        help="time only the serving build (--no-evaluate), not the default build as well")
    parser.add_argument("--soak-seconds", type=float, default=180.0,
                        help="duration of the soak test (16 sessions on every page); 0 skips it")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench-report.md")
    parser.add_argument("--json", type=Path, default=PROJECT_ROOT / "data" / "bench" / "bench-results.json",
                        help="where the raw results go as JSON (default data/bench/bench-results.json)")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="only re-render the report from a JSON file of an earlier run")
    return parser.parse_args(argv)


def _loadable(directory: Path) -> bool:
    """Whether ``directory`` holds an artifact set this code reads (a set from an older schema is rebuilt)."""
    try:
        ArtifactSet.open(directory, verify=False)
    except ArtifactError as exc:
        log.info("not reusing %s: %s", directory, exc)
        return False
    return True


def _artifacts(args, results: dict) -> Path:
    """The artifact set to benchmark: given, cached, or built (and timed) now."""
    if args.artifacts:
        return args.artifacts
    raw, info = data.ensure_raw(args.scale, args.seed)
    results["data"] = info
    out = data.BENCH_DIR / f"artifacts-{info['key']}"
    if args.skip_build and _loadable(out):
        log.info("reusing %s (--skip-build)", out)
        return out
    # Two builds, two sets of targets: the default build (`make artifacts`, the offline evaluation
    # included) into a directory of its own, then the serving artifacts alone (--no-evaluate), which
    # the rest of the benchmark measures.
    if not args.no_default_build:
        results["default_build"] = build_timing.time_build(raw, data.BENCH_DIR / f"artifacts-{info['key']}-default")
    results["build"] = build_timing.time_build(raw, out, extra_args=["--no-evaluate"])
    return out


def run(args) -> dict:
    results = {"argv": " ".join(sys.argv[1:]), "scale": args.scale, "machine": machine.machine_info(), "notes": []}
    # The build runs first, while this process is small: a child's ru_maxrss can include the
    # parent's image at fork time.
    artifact_dir = _artifacts(args, results)
    results["bandwidth"] = machine.read_bandwidth()
    results["load"] = queries.time_load(artifact_dir)
    rec = Recommender.load(artifact_dir)
    counts = rec.manifest.get("counts", {})
    results.setdefault("data", {})["counts"] = {"tracks": counts.get("tracks"), "listeners": counts.get("users"),
                                                "listening rows": counts.get("rows"),
                                                "cold tracks": counts.get("cold_tracks")}
    draws = queries.draw(rec, args.queries)
    results["queries"] = queries.run_queries(rec, draws)

    n_ref = args.reference_queries
    rows = []
    for label, seeds in (("uniform", draws.uniform[:n_ref]), ("popularity", draws.popular[:n_ref])):
        log.info("reference method on %d %s seeds", len(seeds), label)
        ref = reference.time_reference(rec, seeds)
        ours = reference.time_ours(rec, seeds)
        rows.append({"draw": label, "n": len(seeds), "reference": ref, "ours": ours,
                     "speedup": ref["p50_ms"] / ours["p50_ms"]})
    results["reference"] = {"rows": rows}

    n_exact = args.exactness_queries
    log.info("exactness check on %d queries of each kind", n_exact)
    half = max(n_exact // 2, 1)
    results["exactness"] = reference.check_exactness(
        rec, np.concatenate([draws.uniform[:half], draws.popular[:half]]),
        np.concatenate([draws.users_uniform[:half // 2], draws.users_50[:half // 2]]),
        draws.popular_sets[:half])

    results["user_entries"] = reference.user_gather_entries(rec, draws.users_50[:100])
    content, plays = reference.reference_matrices(rec)
    results["floor"] = {"reference_bytes": reference.reference_bytes(content, plays),
                        "draws": {label: reference.bandwidth_floor(rec, seeds, results["bandwidth"])
                                  for label, seeds in (("uniform", draws.uniform), ("popularity", draws.popular))}}
    del content, plays

    if args.no_serving:
        results["serving"] = {"skipped": "--no-serving was given"}
    else:
        ids = rec.tracks["track_id"].to_numpy()
        pairs = queries.explain_pairs(rec, draws.popular[:100], np.random.default_rng(2))
        results["serving"] = serving.run_serving(artifact_dir, seconds=args.serving_seconds,
                                                 track_ids=ids[draws.popular[:200]], pairs=pairs)
    if args.no_serving:
        results["swap"] = {"skipped": "--no-serving was given"}
    else:
        results["swap"] = swap.run_swap(artifact_dir)
    if args.no_serving or args.soak_seconds <= 0:
        results["soak"] = {"skipped": "--no-serving or --soak-seconds 0 was given"}
    else:
        with serving.Server(artifact_dir, workers=2) as server:
            results["soak"] = soak.run_soak(f"http://127.0.0.1:{server.port}", args.soak_seconds,
                                            sessions=16, master_pid=server.process.pid)
    if args.no_browser:
        results["browser"] = {"skipped": "--no-browser was given"}
    else:
        results["browser"] = browser.run(artifact_dir)
    results["loadavg_end"] = machine.loadavg()
    return results


def main(argv=None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.render:
        text = report.render(json.loads(args.render.read_text(encoding="utf-8")))
        args.out.write_text(text, encoding="utf-8")
        sys.stdout.write(text)
        return 0
    start = time.perf_counter()
    results = run(args)
    results["notes"].append(f"benchmark run took {time.perf_counter() - start:.0f} s")
    text = report.render(results)
    args.out.write_text(text, encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    log.info("report written to %s", args.out)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
