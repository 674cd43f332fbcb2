"""What the numbers were measured on: CPU, memory, load, library versions, memory read bandwidth."""
from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "dask", "dash", "gunicorn", "psutil")


def loadavg() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    return tuple(round(x, 2) for x in os.getloadavg())


def machine_info() -> dict:
    """CPU model, core count, memory, OS, Python and package versions, git commit."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "versions": versions, "commit": commit, "loadavg_start": loadavg()}


def read_bandwidth(megabytes: int = 512, repeats: int = 5) -> float:
    """Measured sequential read bandwidth of main memory in bytes/s (best of ``repeats``).

    Sums a float64 array much larger than any cache; the best run is the
    least disturbed by other processes.
    """
    array = np.ones(megabytes * 2**20 // 8)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.add.reduce(array)
        best = min(best, time.perf_counter() - start)
    return array.nbytes / best
