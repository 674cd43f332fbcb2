"""Command line: ``python -m build.demo_data --out DIR [--scale demo|full] [--seed 42]``."""
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
    args = parser.parse_args(argv)
    progress.setup()
    started = time.perf_counter()
    write(generate(args.scale, args.seed), args.out)
    logger.info("done in %.1f s", time.perf_counter() - started)
    return 0
