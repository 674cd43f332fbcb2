"""Small shared builders of tiny catalogues and CSV fixtures for the engine and build tests.

A catalogue row is a dict over the 21 columns of ``Music Info.csv``
(:data:`engine.schema.CATALOGUE_COLUMNS`); anything not given is left empty.
A listening row is a ``(track_id, user_id, playcount)`` tuple. Ids are made
by :func:`tid` (``TR`` + 16 characters, as in the real data) and :func:`uid`
(40 hex characters).
"""
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pandas as pd

from build import settings
from engine.schema import CATALOGUE_COLUMNS, LISTENING_COLUMNS


def tid(n: int) -> str:
    """Track id number ``n``: ``TR`` + 16 upper-case characters."""
    return f"TRTEST{n:012d}"


def uid(n: int) -> str:
    """User id number ``n``: 40 lower-case hex characters."""
    return f"{n:040x}"


def track(n: int, name: str | None = None, artist: str = "Artist", tags: str = "", **values) -> dict:
    """One catalogue row for track ``tid(n)``; extra keyword arguments fill other columns."""
    unknown = set(values) - set(CATALOGUE_COLUMNS)
    if unknown:
        raise ValueError(f"not catalogue columns: {sorted(unknown)}")
    return {"track_id": tid(n), "name": name if name is not None else f"Song {n}",
            "artist": artist, "tags": tags, **values}


def catalogue_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as a DataFrame with every catalogue column (missing values NaN), as ingest returns it."""
    frame = pd.DataFrame(rows, columns=list(CATALOGUE_COLUMNS))
    for column in ("year", "duration_ms", "danceability", "energy", "key", "loudness", "mode",
                   "speechiness", "acousticness", "instrumentalness", "liveness", "valence",
                   "tempo", "time_signature"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def write_catalogue(directory: Path, rows: list[dict], columns=CATALOGUE_COLUMNS) -> Path:
    """Write ``Music Info.csv`` into ``directory`` with the given columns (default: the schema's)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / settings.CATALOGUE_FILE
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return path


def write_listening(directory: Path, rows: list[tuple], columns=LISTENING_COLUMNS) -> Path:
    """Write ``User Listening History.csv`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / settings.LISTENING_FILE
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def write_raw(directory: Path, catalogue: list[dict], listening: list[tuple]) -> Path:
    """Write both CSVs into ``directory`` and return it."""
    write_catalogue(directory, catalogue)
    write_listening(directory, listening)
    return Path(directory)


def copy_raw(source: Path, target: Path) -> Path:
    """Copy a raw directory's two CSVs (so a test can damage its own copy)."""
    Path(target).mkdir(parents=True, exist_ok=True)
    for name in (settings.CATALOGUE_FILE, settings.LISTENING_FILE):
        shutil.copyfile(Path(source) / name, Path(target) / name)
    return Path(target)


# --------------------------------------------------------------------------
# The small catalogue shared by the recommender and build tests
# --------------------------------------------------------------------------
#
#   n  name               artist        tags                    year  energy valence  listeners
#   0  Mr. Brightside     The Killers   rock, indie, 00s        2004  0.92   0.24     u1 u2 u3
#   1  Somebody Told Me   The Killers   rock, indie, 00s        2004  0.90   0.30     u1 u2
#   2  Take Me Out        Franz F.      rock, indie             2004  0.85   0.50     u1 u3
#   3  Yellow             Coldplay      rock, pop               2000  0.40   0.30     u3 u4
#   4  One More Time      Daft Punk     electronic, house       2000  0.70   0.80     u4 u5 u6
#   5  Around the World   Daft Punk     electronic, house       1997  0.75   0.85     u5 u6
#   6  Windowlicker       Aphex Twin    electronic              1999  0.60   0.40     u6
#   7  Bright (Demo)      The Killers   rock, indie, 00s        2004  0.91   0.25     (cold)
#   8  Star* [a-z]        Nobody        electronic, house       1998  0.72   0.82     (cold)
#   9  Bright             Nobody        (none)                  (none) (none) (none) u2
#
# Two clear styles (indie rock 0-2, 7; electronic 4-6, 8), a bridge track (3),
# two cold tracks (7, 8) and a track without tags, year or audio (9). For search,
# "bright" is exactly 9's name, a prefix of 7's and inside 0's; 8's name has
# regex characters.
STYLE = {0: "rock", 1: "rock", 2: "rock", 3: "pop", 4: "electronic", 5: "electronic",
         6: "electronic", 7: "rock", 8: "electronic", 9: "none"}


def small_catalogue() -> list[dict]:
    def row(n, name, artist, tags, year, energy, valence, key, mode):
        return track(n, name, artist, tags, year=year, energy=energy, valence=valence,
                     key=key, mode=mode, time_signature=4, genre=None,
                     spotify_preview_url=f"https://p.scdn.co/mp3-preview/{n:040x}")

    return [
        row(0, "Mr. Brightside", "The Killers", "rock, indie, 00s", 2004, 0.92, 0.24, 1, 1),
        row(1, "Somebody Told Me", "The Killers", "rock, indie, 00s", 2004, 0.90, 0.30, 1, 1),
        row(2, "Take Me Out", "Franz Ferdinand", "rock, indie", 2004, 0.85, 0.50, 4, 1),
        row(3, "Yellow", "Coldplay", "rock, pop", 2000, 0.40, 0.30, 11, 1),
        row(4, "One More Time", "Daft Punk", "electronic, house", 2000, 0.70, 0.80, 2, 0),
        row(5, "Around the World", "Daft Punk", "electronic, house", 1997, 0.75, 0.85, 2, 0),
        row(6, "Windowlicker", "Aphex Twin", "electronic", 1999, 0.60, 0.40, 7, 0),
        row(7, "Bright (Demo)", "The Killers", "rock, indie, 00s", 2004, 0.91, 0.25, 1, 1),
        row(8, "Star* [a-z]", "Nobody", "electronic, house", 1998, 0.72, 0.82, 2, 0),
        track(9, "Bright", "Nobody", ""),
    ]


#: (track, user, playcount) of the small catalogue, with user numbers for uid().
SMALL_PLAYS = [
    (0, 1, 5), (1, 1, 3), (2, 1, 1),
    (0, 2, 2), (1, 2, 4), (9, 2, 1),
    (0, 3, 1), (2, 3, 2), (3, 3, 6),
    (3, 4, 1), (4, 4, 2),
    (4, 5, 3), (5, 5, 1),
    (4, 6, 1), (5, 6, 2), (6, 6, 7),
]


def small_listening() -> list[tuple]:
    return [(tid(t), uid(u), c) for t, u, c in SMALL_PLAYS]


def write_small_raw(directory: Path) -> Path:
    return write_raw(directory, small_catalogue(), small_listening())


# --------------------------------------------------------------------------
# Artifact directories
# --------------------------------------------------------------------------

def snapshot(root: Path) -> dict:
    """What a reader of an artifact root sees: its visible entries, the ``current`` link and every byte.

    Hidden entries (temporary directories of a build in progress or killed) are left out.
    """
    root = Path(root)
    state = {"entries": visible_entries(root),
             "current": os.readlink(root / "current") if (root / "current").is_symlink() else None,
             "files": {}}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0].startswith(".") or relative.parts[0] == "current" or not path.is_file():
            continue
        state["files"][str(relative)] = path.read_bytes()
    return state


def visible_entries(root: Path) -> list[str]:
    """Names in an artifact root that are not hidden (hidden ones are temporary and cleaned later)."""
    return sorted(p.name for p in Path(root).iterdir() if not p.name.startswith("."))


def version_dirs(root: Path) -> list[str]:
    """Artifact set directories (not the ``current`` link, not hidden temp dirs), oldest first."""
    return sorted(p.name for p in Path(root).iterdir()
                  if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
