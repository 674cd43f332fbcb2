"""The build's client memory with the listening stage on a dask cluster (for docs/scaling.md).

    python -m tests.benchmarks.cluster [--multipliers 2 4] [--workers 2] [--worker-memory 2GB]
                                       [--data-root DIR]

Starts a ``distributed.LocalCluster`` (worker processes, one thread each, with a
memory limit), then times ``python -m build.refresh --scheduler ADDRESS
--no-evaluate`` on the ``make bench-scale`` data at each multiplier (generated
under ``--data-root`` if missing). Reports the client's (the build process's)
peak RSS overall and per stage, the client's peak during the listening stage
(reading the listening CSV and assembling the play matrix: the stages
``ingest_listening`` and ``interactions``), the largest worker's peak RSS
(sampled every 100 ms) and the wall time, as JSON lines and in
``<data-root>/cluster-results.json``. The question it answers: does the
client's peak memory grow with the rows when the listening stage runs on the cluster?
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path

import psutil

from . import build_timing, data, machine

log = logging.getLogger("tests.benchmarks.cluster")


class _WorkerPeaks(threading.Thread):
    """Largest RSS seen per worker process (by pid) until stopped."""

    def __init__(self, pids: list[int], interval: float = 0.1):
        super().__init__(daemon=True)
        self.processes = [psutil.Process(pid) for pid in pids]
        self.peaks = {pid: 0 for pid in pids}
        self.interval, self._done = interval, threading.Event()

    def run(self):
        while not self._done.is_set():
            for process in self.processes:
                try:
                    self.peaks[process.pid] = max(self.peaks[process.pid], process.memory_info().rss)
                except psutil.NoSuchProcess:
                    pass
            self._done.wait(self.interval)

    def stop(self) -> dict:
        self._done.set()
        self.join()
        return {pid: round(rss / 2**20, 1) for pid, rss in self.peaks.items()}


#: The stages of the listening history: reading the CSV (on the cluster) and the play matrix.
LISTENING_STAGES = ("ingest_listening", "interactions")


def measure(multiplier: float, n_workers: int, worker_memory: str, root: Path = data.BENCH_DIR) -> dict:
    """Build the ``multiplier`` x full-scale data with its listening stage on a fresh LocalCluster."""
    from distributed import Client, LocalCluster

    raw, info = data.ensure_raw("full", None, root=root, multiplier=multiplier)
    out = root / f"artifacts-cluster-{info['key']}"
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, memory_limit=worker_memory,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = list(client.run(lambda: __import__("os").getpid()).values())
        peaks = _WorkerPeaks(pids)
        peaks.start()
        load = machine.loadavg()
        build = build_timing.time_build(raw, out, ["--no-evaluate", "--scheduler", cluster.scheduler_address])
        worker_peaks = peaks.stop()
    stages = {stage.pop("name"): stage for stage in build["stages"]}
    listening = [stages[name] for name in LISTENING_STAGES if name in stages]
    return {"multiplier": multiplier, "rows": build["counts"].get("rows"), "users": build["counts"].get("users"),
            "workers": n_workers, "worker_memory_limit": worker_memory, "build_seconds": build["wall_seconds"],
            # the kernel's peak (ru_maxrss) and the largest RSS sample (every 20 ms); per stage, the samples
            "client_peak_rss_mb": build["peak_rss_mb"], "client_sampled_peak_rss_mb": build["sampled_peak_rss_mb"],
            # sampled RSS (file pages mapped in included) during the listening stages, and ru_maxrss after them
            "listening_stage_client_peak_rss_mb": max((s["peak_rss_mb"] or 0 for s in listening), default=None),
            "client_peak_rss_after_listening_mb": listening[-1]["peak_so_far_mb"] if listening else None,
            "listening_stage_seconds": round(sum(s["seconds"] for s in listening), 2),
            "stages": stages,
            "max_worker_peak_rss_mb": max(worker_peaks.values()), "worker_peaks_mb": list(worker_peaks.values()),
            "loadavg_before": load, "loadavg_after": machine.loadavg()}


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stdout)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--multipliers", type=float, nargs="+", default=[2.0, 4.0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-memory", default="2GB", help="memory limit of each worker")
    parser.add_argument("--data-root", type=Path, default=data.BENCH_DIR,
                        help="where the generated data and the artifacts go (default: data/bench)")
    parser.add_argument("--json", default=None, help="results file (default: <data-root>/cluster-results.json)")
    args = parser.parse_args(argv)
    results = []
    for multiplier in args.multipliers:
        results.append(measure(multiplier, args.workers, args.worker_memory, args.data_root))
        print(json.dumps(results[-1]), flush=True)
        with open(args.json or args.data_root / "cluster-results.json", "w") as handle:
            json.dump({"finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "points": results},
                      handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
