"""The public generator, :func:`generate`: catalogue, then listening history, from one seed."""
from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

from .catalogue import make_catalogue
from .listening import make_listens
from .results import DemoData
from .sizes import SCALES, Scale

logger = logging.getLogger("build.demo_data")


def generate(scale: str | Scale = "demo", seed: int = 42) -> DemoData:
    """Generate a catalogue and a listening history.

    Parameters
    ----------
    scale : {"demo", "full"} or Scale, default="demo"
        A named size from ``SCALES`` or explicit sizes.
    seed : int, default=42
        Seed of all randomness; the same seed and scale give identical data.

    Returns
    -------
    DemoData
        The two frames and the ground truth they were drawn from.
    """
    sizes = _resolve_scale(scale)
    started = time.perf_counter()
    catalogue_rng, listening_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(2)
    )
    tracks, truth, popularity = make_catalogue(catalogue_rng, sizes)
    listens, user_taste = make_listens(
        listening_rng, sizes, tracks["track_id"], truth.track_style, truth.track_artist, popularity
    )
    truth = dataclasses.replace(truth, user_taste=user_taste)
    logger.info(
        "generated %d tracks and %d listening rows (seed %d) in %.1f s",
        len(tracks), len(listens), seed, time.perf_counter() - started,
    )
    return DemoData(tracks=tracks, listens=listens, truth=truth)


def _resolve_scale(scale: str | Scale) -> Scale:
    if isinstance(scale, Scale):
        sizes = scale
    elif scale in SCALES:
        sizes = SCALES[scale]
    else:
        raise ValueError(f"scale must be one of {sorted(SCALES)} or a Scale, got {scale!r}")
    sizes.validate()
    return sizes
