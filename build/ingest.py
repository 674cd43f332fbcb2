"""Read and clean the two raw CSV files.

Cleaning rules (each counted in the build log and the manifest's ``cleaning``):

Both files
    * text that is not UTF-8 stops the build (naming the first such line);
    * column names are compared after stripping spaces and a byte-order mark.

Catalogue (``Music Info.csv``)
    * a missing required column, an empty file or a header without rows stops the build;
    * a row with more or fewer fields than the header (a file cut off in its last
      line, an unclosed quote) stops the build (naming its line);
    * extra columns are ignored; rows without ``track_id`` are dropped;
    * a repeated ``track_id`` keeps its first row;
    * text is Unicode-normalised (NFC) and stripped; a missing name or artist becomes "Unknown";
    * tags are lower-cased, de-duplicated and re-joined with ", ";
    * a non-numeric value in a numeric column stops the build (naming the row and value);
    * a numeric value outside its documented range is treated as missing.

Listening history (``User Listening History.csv``)
    * a missing required column, an empty file or a header without rows stops the build;
    * a non-numeric play count stops the build (naming the row and value);
    * a row with more or fewer fields than the header stops the build (naming the row);
    * rows with a missing (empty or NaN), zero, negative, infinite or impossibly large
      (above :data:`MAX_PLAYCOUNT`) play count, a missing user id or a track id that is
      not in the catalogue are dropped; if no row is left the build stops;
    * exact duplicate rows are dropped; remaining repeated (track, user) pairs are summed.
"""
from __future__ import annotations

import csv
import logging
import unicodedata
from pathlib import Path

import dask
import dask.dataframe as dd
from dask.callbacks import Callback
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from build.progress import progress
from engine.errors import InputDataError
from engine.schema import (AUDIO_FEATURES, CATALOGUE_COLUMNS, CATEGORICAL_FEATURES,
                           LISTENING_COLUMNS, OTHER_NUMERIC)

log = logging.getLogger(__name__)

TEXT_COLUMNS = ("track_id", "name", "artist", "spotify_preview_url", "spotify_id", "tags", "genre")
NUMERIC_RANGES = {**AUDIO_FEATURES, **CATEGORICAL_FEATURES, **OTHER_NUMERIC}
#: Largest play count of one (track, user) pair: 2**24, the largest integer float32 (the play matrix's
#: type) holds exactly; a larger one is no real count (16.7 M plays of one track by one listener).
MAX_PLAYCOUNT = float(2**24)
#: Pairs a play matrix may hold: its int32 index arrays address at most 2**31 - 1 entries.
MAX_PAIRS = 2**31 - 1


class Listening:
    """The listening history reduced to unique (track, user) pairs.

    Read locally, it holds the pairs as three arrays; read on a ``dask.distributed``
    cluster (:mod:`build.listening_cluster`), it holds the play matrix itself,
    assembled on the workers and memory-mapped, so the client never holds the pairs.

    Attributes
    ----------
    tracks : ndarray of shape (n_pairs,), int32, or None — catalogue row of each pair
    users : ndarray of shape (n_pairs,), int32, or None — user code (position in ``user_ids``)
    playcounts : ndarray of shape (n_pairs,), float32, or None
    plays : csr_matrix of shape (n_tracks, n_users), float32, or None — the play matrix when
        the cluster assembled it (then ``tracks``, ``users`` and ``playcounts`` are None)
    cleaning : dict — counts of every dropped or merged row
    """

    def __init__(self, *, cleaning: dict, user_ids: np.ndarray | None = None,
                 user_id_bytes: np.ndarray | None = None, tracks: np.ndarray | None = None,
                 users: np.ndarray | None = None, playcounts: np.ndarray | None = None, plays=None):
        if (user_ids is None) == (user_id_bytes is None):
            raise ValueError("give the user ids either as text (user_ids) or as UTF-8 bytes (user_id_bytes)")
        self.tracks, self.users, self.playcounts, self.plays = tracks, users, playcounts, plays
        self.cleaning = cleaning
        self._user_ids, self._user_id_bytes = user_ids, user_id_bytes

    @property
    def n_users(self) -> int:
        return len(self._user_ids if self._user_ids is not None else self._user_id_bytes)

    @property
    def user_ids(self) -> np.ndarray:
        """Sorted user id strings, shape (n_users,), object (decoded on first use when read on a cluster)."""
        if self._user_ids is None:
            self._user_ids = np.char.decode(self._user_id_bytes, "utf-8").astype(object)
        return self._user_ids

    @property
    def user_id_bytes(self) -> np.ndarray:
        """The user ids as the artifact stores them: UTF-8, fixed width (``S<longest>``), sorted."""
        if self._user_id_bytes is None:
            self._user_id_bytes = np.array([u.encode("utf-8") for u in self._user_ids], dtype=bytes)
        return self._user_id_bytes


# ------------------------------------------------------------------ helpers
def _distributed_client():
    """The active ``dask.distributed`` client, or None (the local threaded scheduler)."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def _gather_blocks(blocks: list, bar) -> list:
    """Compute one frame per block on the local threaded scheduler, in block order, moving ``bar``."""
    with _BlocksDone(bar, {block.key for block in blocks}):
        return list(dask.compute(*blocks))


class _BlocksDone(Callback):
    """Moves a progress bar as the local dask scheduler finishes each partition of the result.

    A ``dask.distributed`` client runs the tasks elsewhere and calls no local callback: the bar
    then stays empty and the scheduler's dashboard shows the progress.
    """

    def __init__(self, bar, keys: set):
        super().__init__()
        self._bar, self._keys = bar, keys  # one key per partition of the result

    def _posttask(self, key, result, dsk, state, worker_id):
        if key in self._keys:
            self._bar.update(1)


def _read_header(path: Path, required: tuple[str, ...]) -> list[str]:
    """Columns of a CSV file; stops on a missing file, empty file or missing columns."""
    if not path.is_file():
        raise InputDataError("input file not found", file=str(path))
    if path.stat().st_size == 0:
        raise InputDataError("input file is empty", file=str(path))
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8").columns.tolist()
    except UnicodeDecodeError as exc:
        raise InputDataError(f"header is not UTF-8 text ({exc.reason})", file=str(path), row=1) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputDataError("input file has no header line (only blank lines)", file=str(path)) from exc
    header = [str(c).strip().lstrip("\ufeff") for c in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputDataError(f"missing required column(s) {missing}; found columns {header}",
                             file=str(path), column=missing[0])
    return header


def _first_non_utf8(path: Path, chunk: int = 1 << 24) -> tuple[int, str] | None:
    """Line number and (leniently decoded) text of the first line that is not UTF-8 (error path only).

    Reads whole lines per chunk, so no multi-byte character is split between two chunks.
    """
    line, rest = 1, b""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(chunk)
            data = rest + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            head, rest = data[:cut], data[cut:]
            try:
                head.decode("utf-8")
            except UnicodeDecodeError as exc:
                start, end = head.rfind(b"\n", 0, exc.start) + 1, head.find(b"\n", exc.start)
                text = head[start:end if end >= 0 else len(head)].decode("utf-8", "replace").strip()
                return line + head.count(b"\n", 0, exc.start), text[:200]
            line += head.count(b"\n")
            if not block:
                return None


def _not_utf8(path: Path) -> InputDataError:
    line, text = _first_non_utf8(path) or (None, None)
    return InputDataError("text is not UTF-8 (save the file as UTF-8)", file=str(path), row=line, value=text)


def _check_row_lengths(path: Path, n_fields: int) -> None:
    """Stop on a row with another number of fields than the header (pandas pads short rows silently)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        start = 2
        try:
            for record in reader:
                if len(record) != n_fields and any(field.strip() for field in record):
                    raise InputDataError(f"row has {len(record)} fields, the header has {n_fields} (a line cut "
                                         f"off or an unclosed quote)", file=str(path), row=start,
                                         value=",".join(record)[:200])
                start = reader.line_num + 1
        except csv.Error as exc:
            raise InputDataError(f"malformed CSV: {exc}", file=str(path), row=start) from exc


def _nfc(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    try:  # arrow's kernel does the same normalisation without a Python call per cell
        normalised = pc.utf8_normalize(pa.array(text, type=pa.large_string(), from_pandas=True), form="NFC")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return text.map(lambda s: unicodedata.normalize("NFC", s), na_action="ignore")
    return pd.Series(normalised.to_pandas(), index=series.index).astype("string")


def _clean_tags(series: pd.Series) -> pd.Series:
    def clean(value):
        if not isinstance(value, str):
            return ""
        tags = dict.fromkeys(t.strip().lower() for t in value.split(","))
        tags.pop("", None)
        return ", ".join(tags)

    return series.map(clean).astype("string")


def _parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(numbers, non_numeric)`` of a text column.

    Blanks and a spelled-out NaN are missing numbers; only text that is no
    number at all is flagged as non-numeric.
    """
    fast = _plain_numbers(raw)
    if fast is not None:
        return fast, pd.Series(False, index=raw.index)
    text = raw.astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    non_numeric = (numbers.isna() & text.notna() & (text != "")).fillna(False).astype(bool)
    if non_numeric.any():
        non_numeric[non_numeric] = ~text[non_numeric].str.lower().isin(["nan", "+nan", "-nan"]).astype(bool)
    return numbers, non_numeric


def _plain_numbers(raw: pd.Series) -> pd.Series | None:
    """The column parsed by arrow when every cell is a plain number or blank (the usual case), else None.

    Arrow parses a million cells in milliseconds where ``pd.to_numeric`` on
    text takes seconds; any cell arrow refuses sends the whole column through
    the general rules of :func:`_parse_numbers`.
    """
    try:
        text = pc.utf8_trim_whitespace(pa.array(raw, type=pa.large_string(), from_pandas=True))
        numbers = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return pd.Series(numbers.to_numpy(zero_copy_only=False), index=raw.index, dtype="float64")


def _non_numeric(raw: pd.Series) -> pd.Series:
    return _parse_numbers(raw)[1]


def _numeric(frame: pd.DataFrame, column: str, path: Path, report: dict, lines: np.ndarray) -> pd.Series:
    """A numeric column; non-numeric text stops the build, out-of-range values become missing.

    ``lines`` holds the CSV line of each row of ``frame`` (for the error message).
    """
    raw = frame[column]
    values, bad = _parse_numbers(raw)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError(f"non-numeric value in numeric column ({int(bad.sum())} such rows)",
                             file=str(path), column=column, row=int(lines[row]), value=str(raw.iloc[row]))
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
        raise _not_utf8(path) from exc
    except pd.errors.ParserError as exc:
        raise InputDataError(f"malformed CSV: {exc}", file=str(path)) from exc
    _check_row_lengths(path, len(header))
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
    frame = frame[~duplicated]
    lines = frame.index.to_numpy() + 2  # CSV line of each kept row (the header is line 1)
    frame = frame.reset_index(drop=True)
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
        frame[column] = _numeric(frame, column, path, report, lines)
    report["rows"] = len(frame)
    log.info("catalogue %s: %d rows kept of %d read", path.name, len(frame), report["rows_read"])
    return frame, report


# ------------------------------------------------------------- listening
def _encode_partition(frame: pd.DataFrame, catalogue: pa.Array) -> pd.DataFrame:
    """Per partition: catalogue row, stripped user id and numeric play count, with a status code.

    Status 0 = usable, 1 = missing/NaN/zero/negative/too large play count, 2 = missing user,
    3 = track not in the catalogue, 4 = non-numeric play count. ``catalogue``
    holds the catalogue's track ids (position = row). Lookups and stripping
    are arrow kernels: no Python object per cell.
    """
    counts, non_numeric = _parse_numbers(frame["playcount"])
    users = pc.utf8_trim_whitespace(pa.array(frame["user_id"], type=pa.large_string(), from_pandas=True))
    track_text = pc.utf8_trim_whitespace(pa.array(frame["track_id"], type=pa.large_string(), from_pandas=True))
    tracks = pc.index_in(track_text, value_set=catalogue).fill_null(-1).to_numpy(zero_copy_only=False)
    status = np.zeros(len(frame), dtype=np.int8)
    values = counts.to_numpy(dtype=np.float64, na_value=np.nan)
    status[~(np.isfinite(values) & (values > 0) & (values <= MAX_PLAYCOUNT))] = 1  # missing, NaN, zero, negative, huge
    no_user = pc.fill_null(pc.equal(users, ""), True).to_numpy(zero_copy_only=False)
    status[no_user] = 2
    status[tracks < 0] = 3
    status[non_numeric.to_numpy(dtype=bool)] = 4
    return pd.DataFrame({"track": tracks.astype(np.int32),
                         "user": pd.arrays.ArrowExtensionArray(users.fill_null("")),
                         "playcount": np.where(np.isnan(values), 0.0, values).astype(np.float32), "status": status},
                        index=frame.index)


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


def encode_users(users) -> tuple[pa.Array, np.ndarray]:
    """``(user_ids, codes)``: the distinct ids sorted (UTF-8 byte order) and each row's position among them."""
    users = pa.array(users)
    if isinstance(users, pa.ChunkedArray):
        users = users.combine_chunks()
    encoded = pc.dictionary_encode(users)  # one hash pass: distinct ids and each row's position
    order = pc.sort_indices(encoded.dictionary).to_numpy(zero_copy_only=False)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return encoded.dictionary.take(pa.array(order)), rank[encoded.indices.to_numpy(zero_copy_only=False)]


def sum_pairs(user_codes: np.ndarray, tracks: np.ndarray, counts: np.ndarray,
              n_tracks: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Unique (user, track) pairs of the usable rows: exact duplicate rows once, repeated pairs summed.

    Returns ``(keys, summed, report)``: the sorted pair keys ``user * n_tracks + track`` (int64),
    each pair's summed play count (float64) and the counts of dropped and merged rows.
    """
    key = np.asarray(user_codes, dtype=np.int64) * n_tracks + tracks
    order = np.argsort(key, kind="stable")
    key, counts = key[order], counts[order]
    same_pair = key[1:] == key[:-1]
    # Exact duplicate rows (same track, user and play count) count once; only rows whose pair
    # repeats (usually none) need the second sort key.
    in_repeat = np.flatnonzero(np.concatenate((same_pair, [False])) | np.concatenate(([False], same_pair)))
    by_count = in_repeat[np.lexsort((counts[in_repeat], key[in_repeat]))]
    duplicate = by_count[1:][(key[by_count][1:] == key[by_count][:-1])
                             & (counts[by_count][1:] == counts[by_count][:-1])]
    if duplicate.size:
        unique_rows = np.ones(len(key), dtype=bool)
        unique_rows[duplicate] = False
        key, counts = key[unique_rows], counts[unique_rows]
    # Sum the remaining repeated (track, user) pairs (key is sorted).
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if key.size else key[:0]
    summed = np.add.reduceat(counts, starts) if key.size else counts[:0]  # (a range may have no usable row)
    return key[starts], summed, {"dropped_duplicate_rows": int(duplicate.size),
                                 "merged_repeated_pairs": int(len(key) - len(starts))}


#: The status code :func:`_encode_partition` gives each kind of dropped row, and its name in the cleaning report.
DROPPED_STATUS = ((1, "dropped_bad_playcount"), (2, "dropped_missing_user"), (3, "dropped_unknown_track"))
NON_NUMERIC_STATUS = 4


def status_report(path: Path, counts: np.ndarray, locate_non_numeric) -> dict:
    """The cleaning report of the rows' status counts (``counts[code]``, codes 0 to 4; 0 is usable).

    Stops on a non-numeric play count (naming the first, found by ``locate_non_numeric()``) and when
    no row is usable.
    """
    report = {"rows_read": int(counts.sum())}
    if counts[NON_NUMERIC_STATUS]:
        row, value = locate_non_numeric()
        raise InputDataError(f"non-numeric play count ({int(counts[NON_NUMERIC_STATUS])} such rows)",
                             file=str(path), column="playcount", row=row, value=value)
    for code, reason in DROPPED_STATUS:
        report[reason] = int(counts[code])
    if counts[0] == 0:
        dropped = ", ".join(f"{n} {reason}" for reason, n in report.items() if reason.startswith("dropped_"))
        raise InputDataError(f"no usable rows: all {report['rows_read']} rows were dropped ({dropped})",
                             file=str(path))
    return report


def check_pair_limits(path: Path, largest_sum: float, n_pairs: int) -> None:
    """Stop when a summed play count or the number of pairs exceeds what the play matrix holds."""
    if largest_sum > MAX_PLAYCOUNT:  # repeated rows that add up beyond what float32 holds
        raise InputDataError(f"repeated rows of one (track, user) pair add up to more than {MAX_PLAYCOUNT:,.0f} "
                             f"plays, which the play matrix cannot hold exactly", file=str(path),
                             column="playcount", value=largest_sum)
    if n_pairs > MAX_PAIRS:
        raise InputDataError(f"{n_pairs:,} (track, user) pairs: more than the {MAX_PAIRS:,} the play "
                             f"matrix's int32 indices address", file=str(path))


def read_listening(path: str | Path, track_ids: pd.Index, blocksize: str = "64MB") -> Listening:
    """Read ``User Listening History.csv`` with dask and reduce it to unique (track, user) pairs.

    Parsing, validation and catalogue lookup run per partition on whatever
    dask scheduler is active. With the local threaded scheduler the client then
    encodes the user ids once over the usable rows with arrow (sorted distinct
    ids, one hash lookup per row) and finishes the pairs in numpy. With a
    ``dask.distributed`` client the pairs never come back: they are reduced and
    the play matrix assembled on the cluster (:mod:`build.listening_cluster`),
    and the result holds the matrix itself, memory-mapped.

    Parameters
    ----------
    path : path of the CSV
    track_ids : Index of str
        Catalogue track ids; position = catalogue row.
    """
    path = Path(path)
    header = _read_header(path, LISTENING_COLUMNS)
    # The columns as written (with any spaces): the readers below select them by these names.
    written = dict(zip(header, pd.read_csv(path, nrows=0, encoding="utf-8").columns))
    catalogue = pa.array(np.asarray(track_ids, dtype=object), type=pa.large_string())
    meta = pd.DataFrame({"track": np.empty(0, np.int32),
                         "user": pd.arrays.ArrowExtensionArray(pa.array([], type=pa.large_string())),
                         "playcount": np.empty(0, np.float32), "status": np.empty(0, np.int8)})
    try:  # dask reads a sample when building the graph: that read can fail too
        # pandas' pyarrow parser: several times faster than the C parser on this text-only file.
        frame = dd.read_csv(path, usecols=[written[c] for c in LISTENING_COLUMNS], dtype=str, blocksize=blocksize,
                            keep_default_na=False, na_values=[""], encoding="utf-8", engine="pyarrow")
        frame = frame.rename(columns={written[c]: c for c in LISTENING_COLUMNS})
        encoded = frame.map_partitions(_encode_partition, catalogue, meta=meta)
        client = _distributed_client()
        if client is not None:  # the pairs are reduced and the play matrix assembled on the cluster
            from .listening_cluster import reduce_on_cluster

            return reduce_on_cluster(client, encoded, path, header.index("user_id"), len(track_ids),
                                     lambda: _locate_first(path, written["playcount"], _non_numeric))
        blocks = encoded.to_delayed()
        with progress(total=len(blocks), desc="CSV blocks read", unit="block") as bar:
            parts = _gather_blocks(blocks, bar)
        encoded = pd.concat(parts, ignore_index=True) if parts else meta
    except InputDataError:  # already names what is wrong (the cluster path checks the input itself)
        raise
    except UnicodeDecodeError as exc:
        raise _not_utf8(path) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        if "invalid UTF8" in str(exc):  # arrow's wording of a UnicodeDecodeError
            raise _not_utf8(path) from exc
        raise InputDataError(f"malformed CSV: {exc}", file=str(path)) from exc
    if encoded.empty:
        raise InputDataError("file has a header but no rows", file=str(path))
    status = encoded["status"].to_numpy()
    report = status_report(path, np.bincount(status, minlength=NON_NUMERIC_STATUS + 1),
                           lambda: _locate_first(path, written["playcount"], _non_numeric))
    keep = encoded if (status == 0).all() else encoded[status == 0]  # (filtering copies every user id)
    # Users of the usable rows only: a user whose every row was dropped gets no code.
    user_ids, user_codes = encode_users(keep["user"])
    unique_keys, summed, pair_report = sum_pairs(user_codes, keep["track"].to_numpy(dtype=np.int64),
                                                 keep["playcount"].to_numpy(dtype=np.float64), len(track_ids))
    report.update(pair_report)
    check_pair_limits(path, float(summed.max()) if summed.size else 0.0, len(unique_keys))
    summed = summed.astype(np.float32)
    report["users"] = int(len(user_ids))
    report["rows"] = int(len(unique_keys))
    log.info("listening %s: %d pairs from %d rows, %d users", path.name, len(unique_keys),
             report["rows_read"], len(user_ids))
    return Listening(tracks=(unique_keys % len(track_ids)).astype(np.int32),
                     users=(unique_keys // len(track_ids)).astype(np.int32),
                     playcounts=summed, user_ids=user_ids.to_numpy(zero_copy_only=False), cleaning=report)
