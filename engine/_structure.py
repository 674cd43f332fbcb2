"""Structural checks of a loaded artifact set: every index the compiled kernels follow is in range.

The query kernels (:mod:`engine._kernels`) run without bounds checks, for
speed, and assume finite scores (``fastmath``). Checksums prove that files are
the ones the build wrote, not that they are well formed: a file written by a
faulty build, or edited and re-checksummed, could send a kernel past the end
of an array. These checks run once per load, O(stored entries), vectorised:
every ``indptr`` starts at 0, never decreases and ends at the number of
entries; every index is below its dimension; every stored score is finite;
every code fits its table. Each failure raises :class:`ArtifactError` naming
the file and the first bad value.
"""
from __future__ import annotations

import numpy as np

from .errors import ArtifactError

__all__ = ["check_artifact_structure"]


def _fail(name: str, problem: str):
    raise ArtifactError(f"artifact array {name!r} is malformed: {problem}; rebuild the artifact set "
                        f"(python -m build.refresh --force)")


def _check_indices(name: str, indices, bound: int) -> None:
    """Every value of ``indices`` in ``[0, bound)``."""
    indices = np.asarray(indices)
    if indices.size == 0:
        return
    low, high = indices.min(), indices.max()
    if low < 0 or high >= bound:
        bad = low if low < 0 else high
        _fail(name, f"holds {int(bad)}, outside [0, {bound})")


def _check_finite(name: str, values, non_negative: bool = False) -> None:
    values = np.asarray(values)
    if values.size == 0:
        return
    # A NaN or an infinity makes the sum non-finite: one vectorised pass, no boolean temporary
    # (the sum can only overflow on values near 1e308, and then the exact check below runs).
    if not np.isfinite(np.sum(values, dtype=np.float64)) and not np.isfinite(values).all():
        _fail(name, "holds a value that is not a finite number")
    if non_negative and values.min() < 0:
        _fail(name, f"holds {float(values.min())}, below 0")


def check_csr(name: str, indptr, indices, n_rows: int, n_columns: int, data=None) -> None:
    """A compressed sparse matrix (rows of CSR, or columns of CSC) is well formed."""
    indptr = np.asarray(indptr)
    if indptr.ndim != 1 or len(indptr) != n_rows + 1:
        _fail(f"{name}.indptr", f"has {len(indptr)} entries for {n_rows} rows (needs {n_rows + 1})")
    if len(indptr) and (indptr[0] != 0 or indptr[-1] != len(indices)):
        _fail(f"{name}.indptr", f"runs from {int(indptr[0])} to {int(indptr[-1])}, not from 0 to the "
                                f"{len(indices)} stored entries")
    if n_rows and np.any(indptr[1:] < indptr[:-1]):
        _fail(f"{name}.indptr", "decreases somewhere (row bounds must never go back)")
    _check_indices(f"{name}.indices", indices, n_columns)
    if data is not None:
        if len(data) != len(indices):
            _fail(f"{name}.data", f"has {len(data)} values for {len(indices)} indices")
        _check_finite(f"{name}.data", data)


def _check_length(name: str, values, length: int) -> None:
    if len(values) != length:
        _fail(name, f"has {len(values)} entries, not one per track ({length})")


def check_artifact_structure(artifacts) -> None:
    """Check every array of ``artifacts`` (an :class:`engine.artifacts.ArtifactSet`) the queries read,
    against the catalogue and listener counts of its manifest."""
    try:
        counts = artifacts.manifest["counts"]
        _check_all(artifacts, int(counts["tracks"]), int(counts["users"]))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ArtifactError(f"the manifest of artifact set {str(artifacts.directory)!r} does not describe its "
                            f"arrays ({type(exc).__name__}: {exc}); rebuild the artifact set "
                            f"(python -m build.refresh --force)") from exc


def _check_all(artifacts, n_tracks: int, n_users: int) -> None:
    if n_tracks < 0 or n_users < 0:
        raise ValueError(f"negative counts: {n_tracks} tracks, {n_users} users")
    array = artifacts.array
    for side, rows, columns in (("collab_left", n_tracks, n_users), ("collab_right", n_users, n_tracks)):
        check_csr(side, array(f"{side}.indptr"), array(f"{side}.indices"), rows, columns,
                  array(f"{side}.data"))
    _check_finite("user_playcounts", array("user_playcounts"), non_negative=True)
    if len(array("user_playcounts")) != len(array("collab_right.indices")):
        _fail("user_playcounts", "does not hold one play count per listening pair")
    if "collab_heavy_seeds" in artifacts:
        seeds = array("collab_heavy_seeds")
        _check_indices("collab_heavy_seeds", seeds, n_tracks)
        check_csr("collab_heavy", array("collab_heavy.indptr"), array("collab_heavy.indices"), len(seeds),
                  n_tracks, array("collab_heavy.data"))
    blocks = {b["name"]: b for b in artifacts.manifest["content"]["blocks"]}
    for name, block in blocks.items():
        width = block["stop"] - block["start"]
        if block["kind"] == "sparse":
            check_csr("content_tags", array("content_tags.indptr"), array("content_tags.indices"), n_tracks,
                      width, array("content_tags.data"))
            check_csr("content_tags_csc", array("content_tags_csc.indptr"), array("content_tags_csc.indices"),
                      width, n_tracks, array("content_tags_csc.data"))
        elif block["kind"] == "dense":
            audio = array("content_audio")
            if audio.shape != (n_tracks, width):
                _fail("content_audio", f"has shape {audio.shape}, not ({n_tracks}, {width})")
            _check_finite("content_audio", audio)
        elif block["kind"] == "coded":
            codes, table = array("content_era_codes"), array("content_era_table")
            _check_length("content_era_codes", codes, n_tracks)
            _check_indices("content_era_codes", codes + 1, len(table) + 1)  # -1: no year
            _check_finite("content_era_table", table)
        else:
            codes = array(f"content_{name}_codes")
            _check_length(f"content_{name}_codes", codes, n_tracks)
            _check_indices(f"content_{name}_codes", codes + 1, width + 1)  # -1: missing value
    if "cold_rows" in artifacts:
        rows, neighbours, weights = array("cold_rows"), array("cold_neighbours"), array("cold_weights")
        _check_indices("cold_rows", rows, n_tracks)
        if neighbours.ndim != 2 or neighbours.shape[0] != len(rows) or weights.shape != neighbours.shape:
            _fail("cold_neighbours", f"has shape {neighbours.shape} (weights {weights.shape}) for {len(rows)} "
                                     f"cold tracks")
        _check_indices("cold_neighbours", neighbours, n_tracks)
        _check_finite("cold_weights", weights, non_negative=True)
