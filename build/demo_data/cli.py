"""Command line: ``python -m build.demo_data --out DIR [--scale demo|full] [--seed 42] [--multiplier 1]``."""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from build import progress

from .files import write
from .generator import generate
from .sizes import SCALES

logger = logging.getLogger("build.demo_data")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: generate and write the two CSVs."""
    parser = argparse.ArgumentParser(
        prog="python -m build.demo_data",
        description="Write a synthetic, deterministic copy of the Kaggle music CSVs.",
    )
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo",
                        help="data set size (default: demo)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument("--multiplier", type=float, default=1.0,
                        help="multiply every count of the scale (tracks, artists, users, rows), "
                             "e.g. --scale full --multiplier 2 (default: 1, the scale unchanged)")
    args = parser.parse_args(argv)
    try:
        sizes = SCALES[args.scale].times(args.multiplier)
    except ValueError as exc:
        parser.error(f"--multiplier {args.multiplier:g}: {exc}")
    progress.setup()
    started = time.perf_counter()
    write(generate(sizes, args.seed), args.out)
    logger.info("done in %.1f s", time.perf_counter() - started)
    return 0
