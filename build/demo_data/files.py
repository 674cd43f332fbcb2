"""Writing the two CSVs, atomically and byte for byte like the Kaggle files."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from build.progress import progress
from build.settings import CATALOGUE_FILE, LISTENING_FILE
from engine.schema import LISTENING_COLUMNS

from .results import DemoData

logger = logging.getLogger("build.demo_data")


def write(data: DemoData, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write both CSVs into ``out_dir``, replacing any previous ones.

    Each file is written under a temporary name in ``out_dir``. Both are
    renamed into place (each rename is atomic) only after both are complete,
    so a reader never sees a half-written file.

    Parameters
    ----------
    data : DemoData
        What ``generate`` returned.
    out_dir : path-like
        Output directory, created if needed.

    Returns
    -------
    dict of str to Path
        The written paths, keyed by file name.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = (
        (CATALOGUE_FILE, _write_catalogue, data.tracks),
        (LISTENING_FILE, _write_listens, data.listens),
    )
    staged: list[tuple[Path, Path]] = []
    try:
        for name, write_csv, frame in jobs:
            temporary = out_dir / f".{name}.{os.getpid()}.tmp"
            staged.append((temporary, out_dir / name))
            started = time.perf_counter()
            write_csv(frame, temporary)
            logger.info(
                "wrote %d rows to %s in %.1f s",
                len(frame), out_dir / name, time.perf_counter() - started,
            )
        for temporary, final in staged:
            os.replace(temporary, final)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
    return {final.name: final for _, final in staged}


def _write_catalogue(tracks, path):
    # pandas quotes only fields that need it and prints floats in their
    # shortest form, as in the Kaggle file.
    tracks.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


_LISTENING_CHUNK_ROWS = 1 << 20


def _write_listens(listens, path):
    """Write the listening log with pyarrow, a chunk at a time, to bound memory."""
    track_codes, track_ids = _codes_and_labels(listens["track_id"])
    user_codes, user_ids = _codes_and_labels(listens["user_id"])
    playcount = listens["playcount"].to_numpy(dtype=np.int64)
    schema = pa.schema([(name, pa.string()) for name in LISTENING_COLUMNS[:2]]
                       + [("playcount", pa.int64())])
    # Ids and integers never need quotes; "none" makes pyarrow fail loudly if one would.
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    with open(path, "wb") as sink:
        sink.write((",".join(LISTENING_COLUMNS) + "\n").encode())
        with pa_csv.CSVWriter(sink, schema, write_options=options) as writer:
            with progress(total=len(listens), desc="listening rows written", unit="row",
                          unit_scale=True) as bar:
                for start in range(0, len(listens), _LISTENING_CHUNK_ROWS):
                    rows = slice(start, start + _LISTENING_CHUNK_ROWS)
                    writer.write_table(pa.table({
                        "track_id": track_ids.take(pa.array(track_codes[rows])),
                        "user_id": user_ids.take(pa.array(user_codes[rows])),
                        "playcount": pa.array(playcount[rows]),
                    }, schema=schema))
                    bar.update(len(playcount[rows]))


def _codes_and_labels(column):
    """Integer codes and a pyarrow array of labels for a categorical or plain column."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, labels = column.cat.codes.to_numpy(), column.cat.categories
    else:
        codes, labels = pd.factorize(column)
    return codes, pa.array(np.asarray(labels, dtype=object), type=pa.string())
