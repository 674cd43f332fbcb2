"""The benchmark's input data: generated once by ``build.demo_data`` and cached under ``data/bench/``.

The cache key is the SHA-256 of the generator's sources (every ``build/demo_data/*.py``)
plus the scale and seed, so editing the generator regenerates the data and
nothing else does. Generation writes into a temporary directory that is
renamed into place, so an interrupted run never leaves half a data set.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = PROJECT_ROOT / "data" / "bench"
GENERATOR = PROJECT_ROOT / "build" / "demo_data"
CSV_FILES = ("Music Info.csv", "User Listening History.csv")


def scale_label(scale: str, multiplier: float = 1.0) -> str:
    """``full``, or ``fullx2`` for twice the full scale (``--multiplier 2``)."""
    return scale if multiplier == 1 else f"{scale}x{multiplier:g}"


def generator_key(scale: str, seed: int | None, multiplier: float = 1.0) -> str:
    """Cache key of one generated data set: the generator's source hash, scale (and multiplier) and seed."""
    sources = sorted(GENERATOR.glob("*.py"))
    if not sources:
        raise FileNotFoundError(f"{GENERATOR} is missing: the benchmark generates its data with build.demo_data")
    hasher = hashlib.sha256()
    for source in sources:  # names too: moving code between modules is a change
        hasher.update(source.name.encode() + b"\0" + source.read_bytes())
    digest = hasher.hexdigest()[:12]
    return f"{scale_label(scale, multiplier)}-seed{'default' if seed is None else seed}-{digest}"


def ensure_raw(scale: str = "full", seed: int | None = None, root: Path = BENCH_DIR,
               multiplier: float = 1.0) -> tuple[Path, dict]:
    """Directory holding the two CSVs of ``scale`` (times ``multiplier``), generating them if not cached.

    Returns
    -------
    path : Path
        ``root/raw-<scale>-seed<seed>-<source hash>``.
    info : dict
        ``cached`` (bool), ``generate_seconds`` (None when cached), ``bytes`` per file.
    """
    key = generator_key(scale, seed, multiplier)
    target = root / f"raw-{key}"
    info = {"key": key, "cached": True, "generate_seconds": None}
    if not all((target / f).is_file() for f in CSV_FILES):
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-raw-{key}-", dir=root))
        command = [sys.executable, "-m", "build.demo_data", "--out", str(staging), "--scale", scale]
        if seed is not None:
            command += ["--seed", str(seed)]
        if multiplier != 1:
            command += ["--multiplier", f"{multiplier:g}"]
        log.info("generating %s data (not cached): %s", scale, " ".join(command))
        start = time.perf_counter()
        try:
            subprocess.run(command, cwd=PROJECT_ROOT, check=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        info["generate_seconds"] = round(time.perf_counter() - start, 1)
        if target.exists():
            shutil.rmtree(target)
        staging.chmod(0o755)  # mkdtemp makes it private
        staging.rename(target)
        info["cached"] = False
        _prune_stale(root, scale_label(scale, multiplier), keep=target)
    info["bytes"] = {f: (target / f).stat().st_size for f in CSV_FILES}
    return target, info


def _prune_stale(root: Path, scale: str, keep: Path) -> None:
    """Remove data sets (and artifact sets built from them) of older generator versions: they are large."""
    key = keep.name[len("raw-"):]
    for old in [*root.glob(f"raw-{scale}-*"), *root.glob(f"artifacts-{scale}-*")]:
        if old.name not in (keep.name, f"artifacts-{key}") and old.is_dir():
            log.info("removing stale benchmark data %s", old)
            shutil.rmtree(old, ignore_errors=True)
