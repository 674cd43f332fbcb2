"""Read and clean the two raw CSV files.

Cleaning rules (each counted in the build log and the manifest's ``cleaning``):

Catalogue (``Music Info.csv``)
    * a missing required column, an empty file or a header without rows stops the build;
    * extra columns are ignored; rows without ``track_id`` are dropped;
    * a repeated ``track_id`` keeps its first row;
    * text is Unicode-normalised (NFC) and stripped; a missing name or artist becomes "Unknown";
    * tags are lower-cased, de-duplicated and re-joined with ", ";
    * a non-numeric value in a numeric column stops the build (naming the row and value);
    * a numeric value outside its documented range is treated as missing.

Listening history (``User Listening History.csv``)
    * a missing required column, an empty file or a header without rows stops the build;
    * a non-numeric play count stops the build (naming the row and value);
    * rows with a missing, zero or negative play count, a missing user id or a
      track id that is not in the catalogue are dropped;
    * exact duplicate rows are dropped; remaining repeated (track, user) pairs are summed.
"""
from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from engine.errors import InputDataError
from engine.schema import (AUDIO_FEATURES, CATALOGUE_COLUMNS, CATEGORICAL_FEATURES,
                           LISTENING_COLUMNS, OTHER_NUMERIC)

log = logging.getLogger(__name__)

TEXT_COLUMNS = ("track_id", "name", "artist", "spotify_preview_url", "spotify_id", "tags", "genre")
NUMERIC_RANGES = {**AUDIO_FEATURES, **CATEGORICAL_FEATURES, **OTHER_NUMERIC}


@dataclass
class Listening:
    """The listening history reduced to unique (track, user) pairs.

    Attributes
    ----------
    tracks : ndarray of shape (n_pairs,), int32 — catalogue row of each pair
    users : ndarray of shape (n_pairs,), int32 — user code (position in ``user_ids``)
    playcounts : ndarray of shape (n_pairs,), float32
    user_ids : ndarray of shape (n_users,), object — sorted user id strings
    """

    tracks: np.ndarray
    users: np.ndarray
    playcounts: np.ndarray
    user_ids: np.ndarray
    cleaning: dict = field(default_factory=dict)


# ------------------------------------------------------------------ helpers
def _read_header(path: Path, required: tuple[str, ...]) -> list[str]:
    """Columns of a CSV file; stops on a missing file, empty file or missing columns."""
    if not path.is_file():
        raise InputDataError("input file not found", file=str(path))
    if path.stat().st_size == 0:
        raise InputDataError("input file is empty", file=str(path))
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8").columns.tolist()
    except UnicodeDecodeError as exc:
        raise InputDataError(f"header is not UTF-8 text ({exc.reason})", file=str(path)) from exc
    header = [str(c).strip().lstrip("\ufeff") for c in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputDataError(f"missing required column(s) {missing}; found columns {header}",
                             file=str(path), column=missing[0])
    return header


def _nfc(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    return text.map(lambda s: unicodedata.normalize("NFC", s), na_action="ignore")


def _clean_tags(series: pd.Series) -> pd.Series:
    def clean(value):
        if not isinstance(value, str):
            return ""
        tags = dict.fromkeys(t.strip().lower() for t in value.split(","))
        tags.pop("", None)
        return ", ".join(tags)

    return series.map(clean).astype("string")


def _numeric(frame: pd.DataFrame, column: str, path: Path, report: dict) -> pd.Series:
    """A numeric column; non-numeric text stops the build, out-of-range values become missing."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype("string").str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError(f"non-numeric value in numeric column ({int(bad.sum())} such rows)",
                             file=str(path), column=column, row=row + 2, value=str(raw.iloc[row]))
    lo, hi = NUMERIC_RANGES[column]
    out_of_range = values.notna() & ((values < lo) | (values > hi))
    if out_of_range.any():
        report[f"out_of_range_{column}"] = int(out_of_range.sum())
        values = values.mask(out_of_range)
    return values.astype("float64")


# ------------------------------------------------------------ catalogue
def read_catalogue(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read and clean ``Music Info.csv``.

    Returns
    -------
    tracks : DataFrame of shape (n_tracks, 21)
        The schema's columns, cleaned (see module docstring), in catalogue order.
    report : dict
        Counts of everything cleaned.
    """
    path = Path(path)
    header = _read_header(path, CATALOGUE_COLUMNS)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8",
                          on_bad_lines="error")
    except UnicodeDecodeError as exc:
        raise InputDataError(f"file is not UTF-8 text (byte {exc.start}: {exc.reason})", file=str(path)) from exc
    except pd.errors.ParserError as exc:
        raise InputDataError(f"malformed CSV: {exc}", file=str(path)) from exc
    raw.columns = header
    if raw.empty:
        raise InputDataError("file has a header but no rows", file=str(path))
    report = {"rows_read": len(raw), "extra_columns": [c for c in header if c not in CATALOGUE_COLUMNS]}
    frame = raw[list(CATALOGUE_COLUMNS)].copy()
    for column in TEXT_COLUMNS:
        frame[column] = _nfc(frame[column])
    no_id = frame["track_id"].isna()
    report["dropped_missing_track_id"] = int(no_id.sum())
    frame = frame[~no_id]
    duplicated = frame["track_id"].duplicated(keep="first")
    report["dropped_duplicate_track_id"] = int(duplicated.sum())
    frame = frame[~duplicated].reset_index(drop=True)
    if frame.empty:
        raise InputDataError("no usable rows (every row lacks a track_id)", file=str(path), column="track_id")
    for column in ("name", "artist"):
        report[f"missing_{column}"] = int(frame[column].isna().sum())
        frame[column] = frame[column].fillna("Unknown")
    frame["tags"] = _clean_tags(frame["tags"])
    report["rows_without_tags"] = int((frame["tags"] == "").sum())
    report["rows_without_genre"] = int(frame["genre"].isna().sum())
    report["duplicate_spotify_id"] = int(frame["spotify_id"].dropna().duplicated().sum())
    for column in NUMERIC_RANGES:
        frame[column] = _numeric(frame, column, path, report)
    report["rows"] = len(frame)
    log.info("catalogue %s: %d rows kept of %d read", path.name, len(frame), report["rows_read"])
    return frame, report


# ------------------------------------------------------------- listening
def _encode_partition(frame: pd.DataFrame, track_index: pd.Index) -> pd.DataFrame:
    """Per partition: catalogue row, 64-bit user hash and numeric play count, with a status code.

    Status 0 = usable, 1 = missing/zero/negative play count, 2 = missing user,
    3 = track not in the catalogue, 4 = non-numeric play count.
    """
    raw_counts = frame["playcount"]
    counts = pd.to_numeric(raw_counts, errors="coerce")
    non_numeric = counts.isna() & raw_counts.notna() & (raw_counts.astype("string").str.strip() != "")
    users = frame["user_id"].astype("string").str.strip()
    tracks = track_index.get_indexer(frame["track_id"].astype("string").str.strip().to_numpy(dtype=object))
    status = np.zeros(len(frame), dtype=np.int8)
    status[~(counts > 0).to_numpy(dtype=bool, na_value=False)] = 1
    status[(users.isna() | (users == "")).to_numpy(dtype=bool, na_value=True)] = 2
    status[tracks < 0] = 3
    status[non_numeric.to_numpy(dtype=bool)] = 4
    hashes = pd.util.hash_array(users.fillna("").to_numpy(dtype=object))
    return pd.DataFrame({"track": tracks.astype(np.int32), "user_hash": hashes,
                         "playcount": counts.fillna(0).to_numpy(dtype=np.float32), "status": status},
                        index=frame.index)


def _distinct_users(frame: pd.DataFrame) -> pd.DataFrame:
    users = frame["user_id"].astype("string").str.strip().dropna()
    users = users[users != ""].drop_duplicates()
    return pd.DataFrame({"user_hash": pd.util.hash_array(users.to_numpy(dtype=object)),
                         "user_id": users.to_numpy(dtype=object)})


def _locate_first(path: Path, column: str, predicate) -> tuple[int, str]:
    """Line number and value of the first row whose ``column`` satisfies ``predicate`` (error path only)."""
    line = 2
    for chunk in pd.read_csv(path, usecols=[column], dtype=str, chunksize=1_000_000,
                             keep_default_na=False):
        hits = np.flatnonzero(predicate(chunk[column]).to_numpy())
        if hits.size:
            return line + int(hits[0]), str(chunk[column].iloc[hits[0]])
        line += len(chunk)
    return -1, ""


def read_listening(path: str | Path, track_ids: pd.Index, blocksize: str = "64MB") -> Listening:
    """Read ``User Listening History.csv`` with dask and reduce it to unique (track, user) pairs.

    Parsing, validation, catalogue lookup and user hashing run per partition
    on whatever dask scheduler is active (local threads, or a
    ``dask.distributed`` client); the reduced numeric columns are then
    finished in numpy.

    Parameters
    ----------
    path : path of the CSV
    track_ids : Index of str
        Catalogue track ids; position = catalogue row.
    """
    path = Path(path)
    _read_header(path, LISTENING_COLUMNS)
    frame = dd.read_csv(path, usecols=list(LISTENING_COLUMNS), dtype=str, blocksize=blocksize,
                        keep_default_na=False, na_values=[""], encoding="utf-8")
    encoded = frame.map_partitions(_encode_partition, track_ids,
                                   meta={"track": "i4", "user_hash": "u8", "playcount": "f4", "status": "i1"})
    users = frame.map_partitions(_distinct_users, meta={"user_hash": "u8", "user_id": object})
    try:
        encoded, users = dask.compute(encoded, users)
    except UnicodeDecodeError as exc:
        raise InputDataError(f"file is not UTF-8 text ({exc.reason})", file=str(path)) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputDataError(f"malformed CSV: {exc}", file=str(path)) from exc
    if encoded.empty:
        raise InputDataError("file has a header but no rows", file=str(path))
    status = encoded["status"].to_numpy()
    report = {"rows_read": int(len(status))}
    if (status == 4).any():
        row, value = _locate_first(path, "playcount",
                                   lambda s: pd.to_numeric(s, errors="coerce").isna() & (s.str.strip() != ""))
        raise InputDataError(f"non-numeric play count ({int((status == 4).sum())} such rows)",
                             file=str(path), column="playcount", row=row, value=value)
    for code, reason in ((1, "dropped_bad_playcount"), (2, "dropped_missing_user"),
                         (3, "dropped_unknown_track")):
        report[reason] = int((status == code).sum())
    keep = encoded[status == 0]
    before = len(keep)
    keep = keep.drop_duplicates(subset=["track", "user_hash", "playcount"])
    report["dropped_duplicate_rows"] = before - len(keep)

    users = users.drop_duplicates()
    if users["user_hash"].duplicated().any():  # 64-bit hash collision: astronomically rare, but never silent
        raise InputDataError("two user ids share a 64-bit hash; rename one of them", file=str(path),
                             column="user_id", value=str(users.loc[users["user_hash"].duplicated(), "user_id"].iloc[0]))
    users = users.sort_values("user_id", kind="stable").reset_index(drop=True)
    user_codes = pd.Index(users["user_hash"].to_numpy()).get_indexer(keep["user_hash"].to_numpy())
    tracks = keep["track"].to_numpy(dtype=np.int64)
    counts = keep["playcount"].to_numpy(dtype=np.float64)
    # Sum the remaining repeated (track, user) pairs.
    key = user_codes.astype(np.int64) * len(track_ids) + tracks
    unique_keys, inverse = np.unique(key, return_inverse=True)
    report["merged_repeated_pairs"] = int(len(key) - len(unique_keys))
    summed = np.bincount(inverse, weights=counts).astype(np.float32)
    used = np.unique(unique_keys // len(track_ids))
    report["users"] = int(len(used))
    report["rows"] = int(len(unique_keys))
    # Users whose every row was dropped get no code.
    remap = np.full(len(users), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    log.info("listening %s: %d pairs from %d rows, %d users", path.name, len(unique_keys),
             report["rows_read"], len(used))
    return Listening(tracks=(unique_keys % len(track_ids)).astype(np.int32),
                     users=remap[unique_keys // len(track_ids)].astype(np.int32),
                     playcounts=summed, user_ids=users["user_id"].to_numpy(dtype=object)[used],
                     cleaning=report)
