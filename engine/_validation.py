"""Small shared argument checkers; each error names the parameter and the bad value."""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from .errors import InvalidParameterError


def check_alpha(alpha) -> float:
    """Return ``alpha`` as a float, or raise if it is not a number in [0, 1]."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise InvalidParameterError(f"alpha must be a number in [0, 1], got {alpha!r}")
    try:
        value = float(alpha)
    except OverflowError:  # an int beyond the float range
        value = math.inf
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise InvalidParameterError(f"alpha must be in [0, 1], got {alpha!r}")
    return value


def check_alphas(alphas) -> tuple[float, ...]:
    """Return ``alphas`` as a tuple of floats, or raise if it is not a non-empty sequence of valid alphas."""
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, Iterable):
        raise InvalidParameterError(f"alphas must be a sequence of numbers in [0, 1], got {alphas!r}")
    alphas = tuple(check_alpha(a) for a in alphas)
    if not alphas:
        raise InvalidParameterError("alphas is empty: give at least one alpha")
    return alphas


def check_k(k, *, name: str = "k", maximum: int | None = None) -> int:
    """Return ``k`` as an int, or raise if it is not an integer >= 1 (and <= maximum)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise InvalidParameterError(f"{name} must be an integer >= 1, got {k!r}")
    if k < 1:
        raise InvalidParameterError(f"{name} must be >= 1, got {k!r}")
    if maximum is not None and k > maximum:
        raise InvalidParameterError(f"{name} must be <= {maximum}, got {k!r}")
    return int(k)


def check_choice(value, choices, *, name: str):
    """Return ``value`` if it is one of ``choices``, else raise naming both."""
    if value not in choices:
        raise InvalidParameterError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_rows(values, n: int, *, name: str, allow_empty: bool = False) -> np.ndarray:
    """``values`` as a 1-D int64 array of row indices in ``[0, n)``, or raise naming the first bad one.

    The compiled kernels do not check bounds: every index a caller passes goes through here first.
    """
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name} must be track rows (integers), got {values!r}") from exc
    if array.ndim > 1:
        raise InvalidParameterError(f"{name} must be a 1-D sequence of rows, got shape {array.shape}")
    array = np.atleast_1d(array)
    if array.size == 0:
        if allow_empty:
            return np.empty(0, dtype=np.int64)
        raise InvalidParameterError(f"{name} is empty: give at least one row")
    if array.dtype.kind not in "iu":
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)) or np.any(array != np.floor(array)):
            raise InvalidParameterError(f"{name} must be whole numbers, got {array[:5].tolist()!r}")
    rows = array.astype(np.int64)
    bad = (rows < 0) | (rows >= n)
    if bad.any():
        raise InvalidParameterError(f"{name} must be rows in [0, {n}), got {int(rows[bad][0])}")
    return rows


def check_weights(weights, n_seeds: int, *, name: str = "weights", positive_sum: bool = True) -> np.ndarray:
    """``weights`` as float64 of shape (n_seeds,), finite and >= 0 (with a positive sum), or raise."""
    try:
        array = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name} must be numbers, got {weights!r}") from exc
    array = np.atleast_1d(array)
    if array.shape != (n_seeds,):
        raise InvalidParameterError(f"{name} must hold one number per seed ({n_seeds}), got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise InvalidParameterError(f"{name} must be finite and >= 0, got {array[:5].tolist()!r}")
    if positive_sum and not array.sum() > 0:
        raise InvalidParameterError(f"{name} must not all be 0 (they are divided by their sum)")
    return array


def check_scores(values, n: int, *, name: str) -> np.ndarray:
    """Per-track scores as a C-contiguous float64 array of shape (n,), all finite, or raise."""
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise InvalidParameterError(f"{name} must have shape ({n},), got {array.shape}")
    if not np.isfinite(array.sum()) and not np.all(np.isfinite(array)):
        raise InvalidParameterError(f"{name} must be finite numbers (no NaN or infinity)")
    return array
