"""Time ``python -m build.refresh`` in a subprocess: wall time and peak RSS, overall and per stage.

The build runs as a child process so its memory is its own: the overall peak
RSS is the kernel's ``ru_maxrss`` of that child (``os.wait4``, what
``/usr/bin/time -v`` reports), and a sampler thread records the RSS of the
child and its descendants every 20 ms. Each stage's window is taken from the
build log (``stage NAME: S s`` is logged when a stage ends), so the per-stage
peak is the largest sample inside that window, next to the manifest's
``stage_timings`` (its ``peak_rss_mb`` is the process peak *so far*).
"""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_STAGE_LINE = re.compile(r"stage (\w+): ([0-9.]+) s")


class _RssSampler(threading.Thread):
    """Samples ``(time, rss bytes)`` of a process tree until stopped."""

    def __init__(self, pid: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._done = threading.Event()

    def run(self):
        try:
            proc = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._done.is_set():
            try:
                rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                break
            self.samples.append((time.perf_counter(), rss))
            self._done.wait(self.interval)

    def stop(self):
        self._done.set()
        self.join()


def time_build(raw: Path, out: Path, extra_args: list[str] | None = None) -> dict:
    """Run a forced build of ``raw`` into ``out`` and measure it.

    Returns
    -------
    dict
        ``loadavg`` (1/5/15 min, at the start), ``wall_seconds``, ``peak_rss_mb`` (kernel ru_maxrss of the child),
        ``sampled_peak_rss_mb``, ``user_seconds``, ``system_seconds``,
        ``stages`` (list of ``{name, seconds, peak_rss_mb, peak_so_far_mb}``),
        ``manifest_build_seconds``, ``artifact_dir``, ``artifact_mb``, ``log_tail``, and
        ``evaluation`` (what the evaluation stage measured on, see :func:`evaluation_summary`;
        None when the build ran without it).
    """
    command = [sys.executable, "-m", "build.refresh", "--raw", str(raw), "--out", str(out), "--force",
               *(extra_args or [])]
    log.info("timing the build: %s", " ".join(command))
    loadavg = " / ".join(f"{x:.2f}" for x in os.getloadavg())  # how busy the machine was as it started
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, bufsize=1)
    sampler = _RssSampler(child.pid)
    sampler.start()
    stage_ends: list[tuple[str, float, float]] = []
    lines: list[str] = []
    for line in child.stdout:
        now = time.perf_counter()
        lines.append(line.rstrip())
        match = _STAGE_LINE.search(line)
        if match:
            stage_ends.append((match.group(1), now, float(match.group(2))))
    # wait4 returns this child's own resource usage (max RSS of the child process).
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    sampler.stop()
    if child.returncode != 0:
        raise RuntimeError("build.refresh failed:\n" + "\n".join(lines[-30:]))

    directory = (out / "current").resolve()
    manifest = json.loads((directory / "manifest.json").read_text())
    stages = []
    for name, end, seconds in stage_ends:
        window = [rss for t, rss in sampler.samples if end - seconds - 0.05 <= t <= end]
        recorded = manifest.get("stage_timings", {}).get(name, {})
        stages.append({"name": name, "seconds": seconds, "cpu_seconds": recorded.get("cpu_seconds"),
                       "peak_rss_mb": round(max(window) / 2**20, 1) if window else None,
                       "peak_so_far_mb": recorded.get("peak_rss_mb")})
    artifact_bytes = sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
    return {
        "command": " ".join(command[1:]),
        "loadavg": loadavg,
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "sampled_peak_rss_mb": round(max((r for _, r in sampler.samples), default=0) / 2**20, 1),
        "user_seconds": round(usage.ru_utime, 1),
        "system_seconds": round(usage.ru_stime, 1),
        "stages": stages,
        "manifest_build_seconds": manifest.get("build_seconds"),
        "counts": manifest.get("counts", {}),
        "artifact_dir": str(directory),
        "artifact_mb": round(artifact_bytes / 2**20, 1),
        "evaluation": evaluation_summary(directory),
        "log_tail": lines[-5:],
    }


def evaluation_summary(directory: Path) -> dict | None:
    """Test listeners and seconds of each protocol the build's ``evaluation.json`` records; None without one.

    The evaluation stage's budget holds "with at least as many test listeners as today":
    the report shows the count next to the time.
    """
    path = directory / "evaluation.json"
    if not path.is_file():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    warm, new_release = document.get("protocol", {}), document.get("new_release", {}).get("protocol")
    return {"warm_listeners": warm.get("evaluated_listeners"), "seconds": warm.get("total_seconds"),
            "new_release_listeners": (new_release or {}).get("evaluated_listeners"),
            "chosen": {key: document.get("chosen", {}).get(key) for key in ("name", "alpha")}}
