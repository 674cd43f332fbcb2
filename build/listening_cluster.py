"""The listening stage on a ``dask.distributed`` cluster, with a client whose memory does not grow with the rows.

:func:`build.ingest.read_listening` comes here when a distributed client is active. The
client never holds the listening pairs; it holds O(tracks) arrays and one range's
results at a time:

1. **User ranges.** The client reads a fixed number of small samples spread over the
   CSV (a few MB whatever the file's size) and cuts the sampled user ids into ranges of
   about one block's rows each; every parsed block tags its rows with their user's range.
2. **Shuffle by user range** (dask's disk-backed P2P shuffle): each worker then holds
   every row of the users of one range. Per range, on the worker: the rows' status
   counts, the range's distinct user ids sorted, exact duplicate rows dropped and
   repeated (track, user) pairs summed (:func:`build.ingest.sum_pairs`, as locally),
   the pairs sorted by (track, user) and each track's pair count. The ranges are
   ordered, so a user's global code is its position in its range plus the number of
   users in the ranges before it.
3. **Assemble the play matrix by track range.** The per-track counts give the CSR
   ``indptr`` (O(tracks), on the client) and cut the tracks into ranges of about equal
   pairs; for each track range a worker gathers that range's pairs from every user
   range and orders them by (track, user code). The client fetches the track ranges in
   order and appends them to ``.npy`` files (and the user ids, range by range, to
   another), then memory-maps them: the play matrix and the user ids are never one
   in-memory array on the client.

The result is the local build's, byte for byte (``tests/test_build_distributed.py``).
"""
from __future__ import annotations

import csv
import logging
import tempfile
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from build.progress import progress
from engine.errors import InputDataError

from .ingest import NON_NUMERIC_STATUS, Listening, check_pair_limits, encode_users, status_report, sum_pairs

log = logging.getLogger(__name__)

#: Samples of the CSV the client reads to cut the user ranges, and the bytes of each: about
#: 8 MB and a few hundred thousand user ids, whatever the size of the file.
SAMPLES, SAMPLE_BYTES = 256, 1 << 15
#: Track ranges assembled ahead of the one the client is writing.
TRACK_RANGES_IN_FLIGHT = 2


# ------------------------------------------------------------------ user ranges
def user_boundaries(path: Path, user_column: int, n_ranges: int) -> np.ndarray:
    """Sorted distinct user ids cutting a sample of the file's rows into ``n_ranges`` ranges of equal rows.

    Range ``r`` holds the users ``u`` with ``boundaries[r - 1] <= u < boundaries[r]``. The
    boundaries only balance the ranges: a poor sample makes ranges uneven, never the result wrong.
    """
    sample = _sample_users(path, user_column)
    if n_ranges <= 1 or sample.size == 0:
        return np.empty(0, dtype=object)
    sample.sort()
    cuts = sample[(np.arange(1, n_ranges) * len(sample)) // n_ranges]
    return np.unique(cuts)  # repeated ids (a very active user) cut once


def _sample_users(path: Path, user_column: int) -> np.ndarray:
    """User ids (stripped) of the whole lines inside ``SAMPLES`` chunks spread evenly over the file."""
    size = path.stat().st_size
    starts = [0] if size <= SAMPLES * SAMPLE_BYTES else np.linspace(0, size - SAMPLE_BYTES, SAMPLES).astype(int)
    length = size if size <= SAMPLES * SAMPLE_BYTES else SAMPLE_BYTES
    users = []
    with open(path, "rb") as handle:
        for start in starts:
            handle.seek(int(start))
            chunk = handle.read(length)
            first, last = chunk.find(b"\n") + 1, chunk.rfind(b"\n")  # whole lines only (and not the header)
            if first == 0 or last < first:
                continue
            lines = chunk[first:last].decode("utf-8", "replace").splitlines()
            users += [row[user_column].strip() for row in csv.reader(lines) if len(row) > user_column]
    return np.array(users, dtype=object)


def _with_user_range(frame: pd.DataFrame, boundaries: np.ndarray) -> pd.DataFrame:
    users = np.asarray(frame["user"], dtype=object)
    return frame.assign(user_range=np.searchsorted(boundaries, users, side="right").astype(np.int64))


def _reduce_user_range(frame: pd.DataFrame, n_tracks: int) -> tuple[tuple, np.ndarray, np.ndarray, dict]:
    """One user range's ``(pairs, user_ids, pairs_per_track, stats)`` (runs on a worker).

    ``pairs`` is ``(tracks, users, playcounts)`` sorted by track then user, with user codes
    local to the range; ``user_ids`` the range's distinct ids, sorted, as UTF-8 bytes;
    ``pairs_per_track`` the range's tracks and their pair counts.
    """
    status = frame["status"].to_numpy()
    stats = {"rows_read": int(len(status)), "status": np.bincount(status, minlength=NON_NUMERIC_STATUS + 1).tolist()}
    keep = frame if (status == 0).all() else frame[status == 0]
    user_ids, codes = encode_users(keep["user"]) if len(keep) else (pa.array([], pa.large_string()),
                                                                      np.empty(0, np.int64))
    keys, summed, pair_report = sum_pairs(codes, keep["track"].to_numpy(dtype=np.int64),
                                          keep["playcount"].to_numpy(dtype=np.float64), n_tracks)
    tracks, users = keys % n_tracks, keys // n_tracks
    by_track = np.lexsort((users, tracks))
    pairs = (tracks[by_track].astype(np.int32), users[by_track].astype(np.int32),
             summed[by_track].astype(np.float32))
    ids = np.array(user_ids.cast(pa.large_binary()).to_pylist(), dtype=bytes)
    stats.update(pair_report, pairs=int(len(keys)), users=int(len(ids)), id_bytes=ids.dtype.itemsize,
                 largest_sum=float(summed.max()) if summed.size else 0.0)
    # Each track's pair count, only for the tracks the range has: O(pairs), not O(tracks) per range.
    played, pair_counts = np.unique(pairs[0], return_counts=True)
    return pairs, ids, (played, pair_counts), stats


# ------------------------------------------------------------------ track ranges
def _track_slice(pairs: tuple, low: int, high: int, user_offset: int) -> tuple[np.ndarray, ...]:
    """The pairs of tracks ``low <= track < high`` of one user range, with global user codes."""
    tracks, users, counts = pairs
    start, stop = np.searchsorted(tracks, [low, high])
    return tracks[start:stop], users[start:stop] + np.int32(user_offset), counts[start:stop]


def _assemble_track_range(*slices: tuple) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, data)`` of a track range's CSR rows, from its slices in user-range order."""
    tracks = np.concatenate([s[0] for s in slices])
    order = np.argsort(tracks, kind="stable")  # stable: user codes stay ascending within a track
    return (np.concatenate([s[1] for s in slices])[order].astype(np.int32, copy=False),
            np.concatenate([s[2] for s in slices])[order].astype(np.float32, copy=False))


def _track_edges(indptr: np.ndarray, n_ranges: int) -> np.ndarray:
    """Track boundaries ``[0, ..., n_tracks]`` cutting the pairs into ``n_ranges`` ranges of about equal size."""
    cuts = np.searchsorted(indptr, np.linspace(0, indptr[-1], n_ranges + 1)[1:-1])
    return np.unique(np.concatenate(([0], cuts, [len(indptr) - 1])))


class _NpyAppender:
    """Writes a 1-D ``.npy`` file of known length and dtype piece by piece."""

    def __init__(self, path: Path, dtype: np.dtype, length: int):
        self.path, self.dtype, self.length, self.written = path, np.dtype(dtype), length, 0
        self._handle = open(path, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (length,)}
        np.lib.format.write_array_header_1_0(self._handle, header)

    def append(self, piece: np.ndarray) -> None:
        self._handle.write(np.ascontiguousarray(piece, dtype=self.dtype).tobytes())
        self.written += len(piece)

    def close(self) -> np.ndarray:
        """The finished file, memory-mapped copy-on-write.

        Reading costs no memory beyond the file's pages; a later stage that writes into the
        matrix in place (scipy's ``eliminate_zeros`` needs writable arrays) gets private pages.
        """
        self._handle.close()
        if self.written != self.length:
            raise RuntimeError(f"{self.path.name}: {self.written} entries written, {self.length} expected")
        return np.load(self.path, mmap_mode="c", allow_pickle=False)


# ------------------------------------------------------------------ the stage
def reduce_on_cluster(client, encoded, path: Path, user_column: int, n_tracks: int,
                      locate_non_numeric) -> Listening:
    """The listening pairs of ``encoded`` (the parsed blocks) reduced on ``client``'s cluster.

    ``locate_non_numeric()`` names the first non-numeric play count (error path, read on the client).
    """
    from distributed import as_completed

    boundaries = user_boundaries(path, user_column, encoded.npartitions)
    n_ranges = len(boundaries) + 1
    meta = encoded._meta.assign(user_range=np.empty(0, np.int64))
    ranged = encoded.map_partitions(_with_user_range, boundaries, meta=meta)
    by_user = ranged.set_index("user_range", divisions=list(range(n_ranges)) + [n_ranges])
    reduced = [dask.delayed(_reduce_user_range, nout=4)(part, n_tracks) for part in by_user.to_delayed()]
    pairs = client.compute([r[0] for r in reduced])
    ids, per_track, stats = (client.compute([r[k] for r in reduced]) for k in (1, 2, 3))
    try:
        with progress(total=n_ranges, desc="user ranges reduced", unit="range") as bar:
            for future in as_completed(stats):
                future.result()  # raises a worker's error (malformed CSV...) here
                bar.update(1)
        stats = client.gather(stats)
        report = _report(stats, path, locate_non_numeric)
        listening = _assemble(client, pairs, ids, per_track, stats, n_tracks, report)
    finally:
        client.cancel([*pairs, *ids, *per_track])
    log.info("listening %s: %d pairs from %d rows, %d users (%d user ranges on the cluster)", path.name,
             report["rows"], report["rows_read"], report["users"], n_ranges)
    return listening


def _report(stats: list[dict], path: Path, locate_non_numeric) -> dict:
    """The cleaning report of the whole file from the ranges' counts; stops on unusable input."""
    if sum(s["rows_read"] for s in stats) == 0:
        raise InputDataError("file has a header but no rows", file=str(path))
    report = status_report(path, np.sum([s["status"] for s in stats], axis=0), locate_non_numeric)
    for key in ("dropped_duplicate_rows", "merged_repeated_pairs"):
        report[key] = int(sum(s[key] for s in stats))
    check_pair_limits(path, max(s["largest_sum"] for s in stats), sum(s["pairs"] for s in stats))
    report["users"] = int(sum(s["users"] for s in stats))
    report["rows"] = int(sum(s["pairs"] for s in stats))
    return report


def _assemble(client, pairs: list, ids: list, per_track: list, stats: list[dict], n_tracks: int,
              report: dict) -> Listening:
    """Stream the user ids and the play matrix into memory-mapped files, range by range."""
    n_users, nnz = report["users"], report["rows"]
    user_offsets = np.concatenate(([0], np.cumsum([s["users"] for s in stats])[:-1]))
    listeners = np.zeros(n_tracks, dtype=np.int64)
    for future in per_track:
        played, pair_counts = future.result()
        listeners[played] += pair_counts  # (each track once per range)
        future.release()
    indptr = np.concatenate(([0], np.cumsum(listeners))).astype(np.int32)  # check_pair_limits: < 2**31
    width = max(s["id_bytes"] for s in stats)
    # The files are unlinked once mapped: the mappings keep their pages until the arrays are gone.
    with tempfile.TemporaryDirectory(prefix="listening-") as scratch:
        user_file = _NpyAppender(Path(scratch) / "user_ids.npy", f"S{width}", n_users)
        for future in ids:
            user_file.append(future.result())
            future.release()
        user_ids = user_file.close()
        indices = _NpyAppender(Path(scratch) / "indices.npy", np.int32, nnz)
        data = _NpyAppender(Path(scratch) / "data.npy", np.float32, nnz)
        edges = _track_edges(indptr, len(pairs))
        with progress(total=len(edges) - 1, desc="play matrix track ranges", unit="range") as bar:
            for assembled in _track_ranges(client, pairs, user_offsets, edges):
                range_indices, range_data = assembled.result()
                indices.append(range_indices)
                data.append(range_data)
                assembled.release()
                bar.update(1)
        plays = sp.csr_matrix((data.close(), indices.close(), indptr), shape=(n_tracks, n_users), copy=False)
    plays.has_sorted_indices = True  # by construction: no pass over the indices to find out
    return Listening(plays=plays, user_id_bytes=user_ids, cleaning=report)


def _track_ranges(client, pairs: list, user_offsets: np.ndarray, edges: np.ndarray):
    """Futures of each track range's ``(indices, data)``, in order, at most a few ranges ahead."""
    pending = []
    for low, high in zip(edges[:-1], edges[1:]):
        slices = [client.submit(_track_slice, part, int(low), int(high), int(offset))
                  for part, offset in zip(pairs, user_offsets)]
        pending.append(client.submit(_assemble_track_range, *slices))
        del slices  # the assembled range keeps what it needs; the client holds no slice
        if len(pending) > TRACK_RANGES_IN_FLIGHT:
            yield pending.pop(0)
    yield from pending
