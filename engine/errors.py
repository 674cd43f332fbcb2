"""Exception types raised by the engine and the build pipeline.

Every error message names the offending value (and, for input data, the file,
column and row), so a caller can show it to a person unchanged.
"""
from __future__ import annotations

__all__ = [
    "RecommenderError",
    "UnknownTrackError",
    "UnknownUserError",
    "InvalidParameterError",
    "ArtifactError",
    "InputDataError",
]


class RecommenderError(Exception):
    """Base class of every error the engine raises on purpose."""


class UnknownTrackError(RecommenderError, KeyError):
    """A track id that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else "unknown track"


class UnknownUserError(RecommenderError, KeyError):
    """A user id that has no listening history in the artifact set."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown user"


class InvalidParameterError(RecommenderError, ValueError):
    """A parameter value out of its allowed range (alpha, k, an empty seed list...)."""


class ArtifactError(RecommenderError, RuntimeError):
    """A missing, truncated, altered or incompatible artifact set."""


class BuildLockedError(RecommenderError, RuntimeError):
    """Another build holds the artifact root; ``holder`` describes it (pid, start time, command)."""

    def __init__(self, message: str, holder: dict | None = None):
        super().__init__(message)
        self.holder = holder or {}


class InputDataError(RecommenderError, ValueError):
    """Raw input data that cannot be used; the message names file, column, row and value."""

    def __init__(self, message: str, *, file=None, column=None, row=None, value=None):
        parts = [message]
        where = ", ".join(
            f"{name} {val!r}" if name != "row" else f"row {val}"
            for name, val in (("file", file), ("column", column), ("row", row), ("value", value))
            if val is not None
        )
        if where:
            parts.append(f"({where})")
        super().__init__(" ".join(parts))
        self.file, self.column, self.row, self.value = file, column, row, value
