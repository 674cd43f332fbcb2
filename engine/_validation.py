"""Small shared argument checkers; each error names the parameter and the bad value."""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

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
