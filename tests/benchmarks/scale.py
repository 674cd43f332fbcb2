"""How the build's cost grows with the data (``make bench-scale``).

    python -m tests.benchmarks.scale [--multipliers 0.25 0.5 1 2 4] [--queries 300]
                                     [--out scale-report.md] [--png docs/scaling-curves.png]

For each multiplier m the full-scale demo data is generated at m times its
size (``build.demo_data --scale full --multiplier m``: tracks, artists, users
and rows all times m; cached under ``data/bench/``), the serving artifacts are
built with ``--no-evaluate`` (the offline evaluation samples a fixed number of
listeners, so its cost does not follow the rows; ``make bench`` times it) and
measured: build wall time, the build's peak RSS, artifact size, and the p50 of
``recommend`` (seeds drawn by popularity) and ``recommend_for_user`` (users
drawn uniformly). Each cost is fitted as ``cost = a * rows ** b`` by least
squares on the logarithms; the report gives ``b`` (1: linear) and the curves
as a PNG. A multiplier whose generation or build fails (e.g. out of memory) is
reported as such and the larger ones are skipped. Nothing here asserts on time.
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil

from engine import Recommender

from . import build_timing, data, machine, queries

log = logging.getLogger("tests.benchmarks.scale")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MULTIPLIERS = (0.25, 0.5, 1.0, 2.0, 4.0)
#: The measured costs: result key, label in the report and the plot, unit.
COSTS = (
    ("build_seconds", "build wall time", "s"),
    ("peak_rss_mb", "build peak RSS", "MB"),
    ("artifact_mb", "artifact size", "MB"),
    ("recommend_p50_ms", "recommend p50", "ms"),
    ("recommend_for_user_p50_ms", "recommend_for_user p50", "ms"),
    ("serving_rss_mb", "serving process RSS", "MB"),
)


def measure(multiplier: float, n_queries: int, scale: str = "full") -> dict:
    """Generate (or reuse) the data at ``multiplier`` times ``scale``, build it and time the queries."""
    raw, info = data.ensure_raw(scale, None, multiplier=multiplier)
    out = data.BENCH_DIR / f"artifacts-{info['key']}"
    log.info("x%g: building %s (--no-evaluate)", multiplier, raw)
    load = machine.loadavg()
    build = build_timing.time_build(raw, out, ["--no-evaluate"])
    latency = _query_latency(Path(build["artifact_dir"]), n_queries)
    return {"multiplier": multiplier, "rows": build["counts"].get("rows"), "counts": build["counts"],
            "generate_seconds": info["generate_seconds"], "raw_mb": round(sum(info["bytes"].values()) / 2**20, 1),
            "build_seconds": build["wall_seconds"], "peak_rss_mb": build["peak_rss_mb"],
            "artifact_mb": build["artifact_mb"], "stages": build["stages"], **latency,
            "loadavg_before_build": load, "loadavg_after": machine.loadavg()}


def _query_latency(directory: Path, n_queries: int) -> dict:
    """Time the queries in a fresh process (its own memory maps), also reporting that process's RSS."""
    command = [sys.executable, "-m", "tests.benchmarks.scale", "--queries-only", str(directory),
               "--queries", str(n_queries)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_queries(directory: Path, n_queries: int) -> dict:
    """p50/p95 of ``recommend`` (popular seeds) and ``recommend_for_user`` (uniform users), and the RSS after.

    ``serving_rss_mb`` is this process's resident memory after the queries: what one serving
    process holds of the memory-mapped artifacts once the queries touched them.
    """
    rec = Recommender.load(directory)
    draws = queries.draw(rec, n_queries, seed=0)
    ids = rec.tracks["track_id"].to_numpy()
    users = [rec.users.user_id(int(c)) for c in draws.users_uniform]
    seeds = queries.time_calls(lambda t: rec.recommend(t, k=10, alpha=0.5), ids[draws.popular])
    per_user = queries.time_calls(lambda u: rec.recommend_for_user(u, k=10, alpha=0.5), users)
    return {"recommend_p50_ms": round(seeds["p50_ms"], 3), "recommend_p95_ms": round(seeds["p95_ms"], 3),
            "recommend_for_user_p50_ms": round(per_user["p50_ms"], 3),
            "recommend_for_user_p95_ms": round(per_user["p95_ms"], 3),
            "serving_rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1)}


def fit_exponent(rows, costs) -> dict:
    """Least-squares fit of ``log cost = log a + b log rows``.

    Parameters
    ----------
    rows, costs : sequences of positive numbers, same length (at least 2)

    Returns
    -------
    dict
        ``b`` (the exponent), ``a`` (the factor) and ``r2`` (of the fit on the logarithms);
        all None when fewer than two positive points exist.
    """
    x, y = np.asarray(rows, dtype=np.float64), np.asarray(costs, dtype=np.float64)
    usable = (x > 0) & (y > 0) & np.isfinite(y)
    if np.count_nonzero(usable) < 2:
        return {"b": None, "a": None, "r2": None}
    lx, ly = np.log(x[usable]), np.log(y[usable])
    b, log_a = np.polyfit(lx, ly, 1)
    residual = ly - (log_a + b * lx)
    spread = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - float((residual ** 2).sum()) / spread if spread > 0 else 1.0
    return {"b": round(float(b), 3), "a": float(np.exp(log_a)), "r2": round(r2, 3)}


def fits(points: list[dict]) -> dict:
    """The exponent of every cost in :data:`COSTS` over the measured points."""
    rows = [p["rows"] for p in points]
    return {key: fit_exponent(rows, [p[key] for p in points]) for key, _, _ in COSTS}


def draw_curves(points: list[dict], fitted: dict, path: Path) -> Path:
    """Log-log curves of every cost against listening rows, with the fitted power law, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    rows = np.array([p["rows"] for p in points], dtype=np.float64)
    figure, axes = plt.subplots(2, 3, figsize=(13, 7.5), constrained_layout=True)
    line = np.geomspace(rows.min(), rows.max(), 50)
    for axis, (key, label, unit) in zip(axes.ravel(), COSTS):
        axis.loglog(rows, [p[key] for p in points], "o-", label="measured")
        fit = fitted[key]
        if fit["b"] is not None:
            axis.loglog(line, fit["a"] * line ** fit["b"], "--", color="grey", label=f"fit: b = {fit['b']:.2f}")
        for p in points:
            axis.annotate(f"x{p['multiplier']:g}", (p["rows"], p[key]), textcoords="offset points",
                          xytext=(4, -10), fontsize=8)
        axis.xaxis.set_minor_formatter(NullFormatter())  # the minor labels of a log axis overlap
        axis.set_title(label)
        axis.set_xlabel("listening rows")
        axis.set_ylabel(unit)
        axis.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def render(results: dict, png: Path, out: Path) -> str:
    """The markdown report."""
    points, failures, fitted = results["points"], results["failures"], results["fits"]
    lines = ["# How the build's cost grows with the data (`make bench-scale`)", "",
             f"Measured {results['finished']} on {results['machine'].get('cpu')} "
             f"({results['machine'].get('cores')} cores, {results['machine'].get('memory_gb')} GB), "
             f"commit {results['machine'].get('commit')}, scale {results.get('scale', 'full')}. "
             "Builds use `--no-evaluate`: the offline "
             "evaluation samples a fixed number of listeners (its cost does not follow the rows; "
             "`make bench` times the default build).", "",
             "| multiplier | tracks | users | rows | build s | peak RSS MB | artifacts MB | recommend p50 ms "
             "| recommend_for_user p50 ms | serving RSS MB | load avg (before build) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for p in points:
        c = p["counts"]
        lines.append(f"| x{p['multiplier']:g} | {c.get('tracks'):,} | {c.get('users'):,} | {p['rows']:,} "
                     f"| {p['build_seconds']:.1f} | {p['peak_rss_mb']:,.0f} | {p['artifact_mb']:,.0f} "
                     f"| {p['recommend_p50_ms']:.3f} | {p['recommend_for_user_p50_ms']:.3f} "
                     f"| {p['serving_rss_mb']:,.0f} "
                     f"| {' '.join(str(x) for x in p['loadavg_before_build'])} |")
    for f in failures:
        lines.append(f"| x{f['multiplier']:g} | not measured: {f['error']} | | | | | | | | | |")
    lines += ["", "Fitted exponent b of cost = a * rows^b (least squares on the logarithms):", "",
              "| cost | b | r² |", "|---|---:|---:|"]
    for key, label, _ in COSTS:
        fit = fitted[key]
        lines.append(f"| {label} | {fit['b'] if fit['b'] is not None else '-'} "
                     f"| {fit['r2'] if fit['r2'] is not None else '-'} |")
    try:
        image = png.resolve().relative_to(out.resolve().parent)
    except ValueError:
        image = png.resolve()
    lines += ["", f"![cost against listening rows, log-log]({image.as_posix()})", ""]
    return "\n".join(lines)


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--multipliers", type=float, nargs="+", default=list(MULTIPLIERS))
    parser.add_argument("--scale", default="full", choices=("full", "demo"),
                        help="the size the multipliers multiply (demo: a quick check of this script)")
    parser.add_argument("--queries", type=int, default=300, help="timed queries per operation and multiplier")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "scale-report.md")
    parser.add_argument("--png", type=Path, default=PROJECT_ROOT / "docs" / "scaling-curves.png")
    parser.add_argument("--json", type=Path, default=data.BENCH_DIR / "scale-results.json")
    parser.add_argument("--queries-only", type=Path, default=None, metavar="ARTIFACTS",
                        help="only time the queries on this artifact set and print them as JSON (internal)")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="only re-render the report and the PNG from an earlier run's JSON")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stdout)
    args = _parse(argv)
    if args.queries_only:
        print(json.dumps(time_queries(args.queries_only, args.queries)))
        return 0
    if args.render:
        results = json.loads(args.render.read_text())
    else:
        results = {"machine": machine.machine_info(), "scale": args.scale, "points": [], "failures": []}
        for multiplier in sorted(args.multipliers):
            try:
                results["points"].append(measure(multiplier, args.queries, args.scale))
            except (RuntimeError, OSError, MemoryError, subprocess.CalledProcessError) as exc:
                log.error("x%g not measured: %s", multiplier, exc)
                results["failures"].append({"multiplier": multiplier, "error": str(exc).splitlines()[0][:200]})
                break  # larger multipliers would fail too
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2))  # after each point: nothing is lost
        results["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        results["fits"] = fits(results["points"])
        args.json.write_text(json.dumps(results, indent=2))
    draw_curves(results["points"], results["fits"], args.png)
    text = render(results, args.png, args.out)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
