"""The bench's swap section: a new artifact set under a running gunicorn (``dashboard.access``, issue 14).

A root holding two hard-linked copies of the benchmarked set (versions ``swap-a`` and
``swap-b``: the same bytes, so the page cache is shared and only the swap itself is
measured) is served by 4 workers; ``current`` is re-pointed three times. Measured:
seconds from the re-point until ``/healthz`` lists every worker on the new version
(the swap bound), how many times the master loaded a set (once per set is the design),
and each worker's memory before and after the swaps, after the same warm-up.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .serving import Server, request

VERSIONS = ("swap-a", "swap-b")


def _root_with_two_versions(artifact_dir: Path, into: Path) -> Path:
    source = (artifact_dir / "current").resolve() if (artifact_dir / "current").exists() else artifact_dir
    for version in VERSIONS:
        target = into / version
        shutil.copytree(source, target, copy_function=os.link)
        manifest_path = target / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["version"] = version
        manifest_path.unlink()  # hard-linked: write a file of its own
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    _point(into, VERSIONS[0])
    return into


def _point(root: Path, version: str) -> None:
    link = root / ".current.next"
    os.symlink(version, link)
    os.replace(link, root / "current")


def _all_on(port: int, version: str, workers: int, timeout: float = 60.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        status, body = request(port, "GET", "/healthz")
        seen = json.loads(body) if status == 200 else {}
        served = seen.get("workers", {})
        if seen.get("version") == version and len(served) >= workers and set(served.values()) == {version}:
            return time.monotonic() - start
        time.sleep(0.05)
    raise RuntimeError(f"workers not all on {version} after {timeout} s")


def _warm(port: int, n: int = 40) -> None:
    for _ in range(n):
        request(port, "GET", "/healthz")
        request(port, "GET", "/")


def run_swap(artifact_dir: Path, workers: int = 4, swaps: int = 3) -> dict:
    """``{"workers", "swap_seconds": [...], "memory_before": {...}, "memory_after": {...}}``."""
    with tempfile.TemporaryDirectory(prefix="bench-swap-", dir=artifact_dir.parent) as scratch:
        root = _root_with_two_versions(Path(artifact_dir), Path(scratch) / "root")
        with Server(root, workers=workers) as server:
            _all_on(server.port, VERSIONS[0], workers)
            _warm(server.port)
            before = server.memory("before the swaps")
            seconds = []
            for n in range(swaps):
                version = VERSIONS[(n + 1) % 2]
                _point(root, version)
                seconds.append(round(_all_on(server.port, version, workers), 3))
            _warm(server.port)
            after = server.memory(f"after {swaps} swaps")
    return {"workers": workers, "swap_seconds": seconds, "memory_before": before, "memory_after": after}


def report_lines(result: dict) -> list[str]:
    before, after = result["memory_before"], result["memory_after"]
    return [f"{result['workers']} workers; `current` re-pointed {len(result['swap_seconds'])} times. Seconds until "
            f"every worker served the new set: {', '.join(f'{s:.2f}' for s in result['swap_seconds'])}.",
            f"Private memory (USS) per worker: {before['uss_per_worker_mb']:.1f} MB before the swaps, "
            f"{after['uss_per_worker_mb']:.1f} MB after (target: at most 50 MB per extra worker); anonymous PSS "
            f"of all processes {before['pss_anon_mb']:.0f} MB before, {after['pss_anon_mb']:.0f} MB after."]
