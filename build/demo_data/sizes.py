"""Sizes of a generated data set: :class:`Scale` and the named :data:`SCALES`."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Sizes of one generated data set.

    Parameters
    ----------
    n_tracks : int
        Catalogue rows.
    n_artists : int
        Distinct artists. Every artist has at least one track.
    n_users : int
        Distinct users. Every user has at least one listening row.
    n_listens : int
        Listening rows, each a distinct (track, user) pair. Must be at least
        ``n_users + n_warm_tracks``, so that trimming to the exact count can
        always keep one row per user and per warm track.
    n_warm_tracks : int
        Tracks with at least one listener. The rest of the catalogue is cold.
    n_duplicate_spotify_ids : int, default=9
        Pairs of catalogue rows by the same artist that were matched to one
        Spotify track, so they share spotify_id, name and audio features.
    """

    n_tracks: int
    n_artists: int
    n_users: int
    n_listens: int
    n_warm_tracks: int
    n_duplicate_spotify_ids: int = 9

    def validate(self) -> None:
        """Raise ``ValueError`` if these sizes cannot be generated exactly."""
        for field in ("n_tracks", "n_artists", "n_users", "n_listens", "n_warm_tracks"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be at least 1, got {getattr(self, field)}")
        if not self.n_artists <= self.n_tracks:
            raise ValueError(
                f"n_artists must be at most n_tracks={self.n_tracks}, got {self.n_artists}"
            )
        if not self.n_warm_tracks <= self.n_tracks:
            raise ValueError(
                f"n_warm_tracks must be at most n_tracks={self.n_tracks}, got {self.n_warm_tracks}"
            )
        if self.n_listens < self.n_users + self.n_warm_tracks:
            raise ValueError(
                f"n_listens must be at least n_users + n_warm_tracks="
                f"{self.n_users + self.n_warm_tracks}, got {self.n_listens}"
            )
        # Above half of all possible pairs, rejection of repeated pairs stalls.
        if self.n_listens > self.n_users * self.n_warm_tracks // 2:
            raise ValueError(
                f"n_listens must be at most n_users * n_warm_tracks / 2="
                f"{self.n_users * self.n_warm_tracks // 2}, got {self.n_listens}"
            )
        if self.n_duplicate_spotify_ids < 0:
            raise ValueError(
                f"n_duplicate_spotify_ids must be >= 0, got {self.n_duplicate_spotify_ids}"
            )

    def times(self, multiplier: float) -> Scale:
        """These sizes with every count (tracks, artists, users, rows, warm tracks, duplicate
        pairs) multiplied by ``multiplier`` and rounded, so the shapes stay the same.

        Rows per user, tracks per artist and the warm share are unchanged, so the data grows
        like a catalogue and an audience that both grow, not like heavier listeners.
        ``times(1)`` returns the sizes unchanged (same data, same bytes).

        Parameters
        ----------
        multiplier : float
            Positive and finite, e.g. 0.25 or 4.

        Raises
        ------
        ValueError
            When ``multiplier`` is not positive and finite, or the multiplied sizes cannot be
            generated (see :meth:`validate`).
        """
        if not (isinstance(multiplier, (int, float)) and math.isfinite(multiplier) and multiplier > 0):
            raise ValueError(f"multiplier must be a positive number, got {multiplier!r}")
        if multiplier == 1:
            return self
        scaled = dataclasses.replace(self, **{
            field.name: max(1, round(getattr(self, field.name) * multiplier))
            for field in dataclasses.fields(self) if field.name != "n_duplicate_spotify_ids"
        }, n_duplicate_spotify_ids=round(self.n_duplicate_spotify_ids * multiplier))
        scaled.validate()
        return scaled


SCALES = {
    # About a tenth of the catalogue and 3 % of the listening log: runs in seconds.
    "demo": Scale(
        n_tracks=5_000, n_artists=820, n_users=20_000, n_listens=300_000, n_warm_tracks=3_000
    ),
    # The exact sizes of the Kaggle download.
    "full": Scale(
        n_tracks=50_683,
        n_artists=8_317,
        n_users=962_037,
        n_listens=9_711_301,
        n_warm_tracks=30_459,
    ),
}
