"""Query strings: the state of every page lives in its URL.

Parsers take the raw text from the URL and return ``(value, notice)``: a bad
value falls back to a default and ``notice`` says so in words a person can act
on (None when the value was fine). Builders make the links between pages.
"""
from __future__ import annotations

import logging
import math
from urllib.parse import parse_qs, urlencode

log = logging.getLogger(__name__)

METHODS = {"hybrid": "Hybrid", "content": "Content only", "collaborative": "Listeners only"}
K_MIN, K_MAX, K_DEFAULT = 5, 50, 10
ALPHA_STEP = 0.05


def query_args(search: str | None) -> dict[str, str]:
    """``"?track=a&k=10"`` -> ``{"track": "a", "k": "10"}`` (first value of each key)."""
    parsed = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


def link(path: str, **params) -> str:
    """``path`` with the non-empty ``params`` as its query string."""
    params = {k: _text(v) for k, v in params.items() if v is not None and v != ""}
    return f"{path}?{urlencode(params)}" if params else path


def search_string(**params) -> str:
    """The ``?…`` part of :func:`link` (empty when no parameter is set)."""
    url = link("", **params)
    return url if url else ""


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parse_alpha(raw, default: float) -> tuple[float, str | None]:
    """alpha in [0, 1] from the URL (rounded to 2 decimals), else ``default`` with a notice."""
    if raw is None or raw == "":
        return default, None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= 1.0:  # also rejects nan
        log.warning("bad alpha %r in a URL; using %s", raw, default)
        return default, f"α must be a number from 0 to 1, not “{raw}”; showing α = {default:g}."
    return round(value, 2), None


def parse_k(raw, default: int = K_DEFAULT) -> tuple[int, str | None]:
    """k in [K_MIN, K_MAX] from the URL; out-of-range values are clamped with a notice."""
    if raw is None or raw == "":
        return default, None
    try:
        value = int(str(raw))
    except ValueError:
        log.warning("bad k %r in a URL; using %s", raw, default)
        return default, f"The number of results must be a whole number, not “{raw}”; showing {default}."
    if not K_MIN <= value <= K_MAX:
        clamped = min(max(value, K_MIN), K_MAX)
        log.warning("k %r out of range in a URL; using %s", raw, clamped)
        return clamped, f"The number of results goes from {K_MIN} to {K_MAX}; showing {clamped}."
    return value, None


def parse_method(raw) -> tuple[str, str | None]:
    """One of :data:`METHODS` from the URL, else ``"hybrid"`` with a notice."""
    if raw is None or raw == "":
        return "hybrid", None
    if raw not in METHODS:
        log.warning("unknown method %r in a URL; using hybrid", raw)
        return "hybrid", f"There is no method “{raw}”; showing the hybrid."
    return raw, None


def effective_alpha(method: str, alpha: float) -> float:
    """The alpha a method scores with: content only is alpha = 1, listening behaviour only alpha = 0."""
    return {"content": 1.0, "collaborative": 0.0}.get(method, alpha)
