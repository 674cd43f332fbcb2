"""Private sparse helpers shared by the content and collaborative models."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .errors import InvalidParameterError


def concat_ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Indices ``[starts[0], stops[0]) ++ [starts[1], stops[1]) ++ ...`` as one int64 array.

    The vectorised way to gather several CSR rows (or CSC columns) at once,
    without a Python loop over them.
    """
    lengths = (stops - starts).astype(np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    # Each output position is its range's start plus its offset inside the range.
    offsets = np.repeat(starts.astype(np.int64) - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(total, dtype=np.int64)


#: Entries (and rows, columns) an int32-indexed matrix can address.
INT32_LIMIT = 2**31 - 1


def to_csr32(matrix) -> sp.csr_matrix:
    """CSR float32 with int32 indices, sorted and without duplicates (a copy only when needed).

    Raises :class:`InvalidParameterError` when the matrix has more entries,
    rows or columns than int32 indices address (the cast would wrap around).
    """
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.sum_duplicates()
    csr.sort_indices()
    if max(csr.nnz, *csr.shape) > INT32_LIMIT:
        raise InvalidParameterError(f"a matrix of shape {csr.shape} with {csr.nnz:,} entries does not fit int32 "
                                    f"indices (at most {INT32_LIMIT:,})")
    if csr.indices.dtype != np.int32:
        csr.indices = csr.indices.astype(np.int32)
    # int32 indptr too: scipy upcasts (copies) mixed index dtypes, which would defeat memory-mapping.
    csr.indptr = csr.indptr.astype(np.int32)
    return csr


def row_scale(matrix: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    """Multiply each row of a CSR matrix by a factor, without densifying."""
    out = matrix.copy()
    out.data = (out.data * np.repeat(factors, np.diff(out.indptr))).astype(np.float32)
    return out


def column_scale(matrix: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    """Multiply each column of a CSR matrix by a factor, without densifying."""
    out = matrix.copy()
    out.data = (out.data * factors[out.indices]).astype(np.float32)
    return out


def safe_inverse(values: np.ndarray) -> np.ndarray:
    """``1 / values`` where values > 0, else 0 (empty rows stay empty)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros_like(values)
    np.divide(1.0, values, out=out, where=values > 0)
    return out
