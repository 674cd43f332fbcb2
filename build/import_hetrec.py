"""Import the HetRec 2011 Last.fm-2K data set into our raw CSV schema.

HetRec has no tracks, only artists, so every artist becomes one catalogue
"track". Its tags are the most used user tags, and its listening rows are the
user-artist play counts. The data set has no audio, so the audio columns are
left empty: the pipeline must then build without the audio block rather than
with invented numbers.

Outputs in ``--out``:

- ``Music Info.csv``: the catalogue columns (:data:`engine.schema.CATALOGUE_COLUMNS`).
- ``User Listening History.csv``: :data:`engine.schema.LISTENING_COLUMNS` (``track_id,user_id,playcount``).
- ``User Tags.csv``: ``user_id,track_id,tag``, one row for each cleaned tag
  assignment. Evaluation rebuilds tags from it without the held-out listener's
  own tagging.

Usage::

    python -m build.import_hetrec --out DIR [--src DIR] [--tags-per-artist N]
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from build import progress, settings
from engine.schema import CATALOGUE_COLUMNS, LISTENING_COLUMNS

logger = logging.getLogger("build.import_hetrec")  # not "__main__" under python -m

DEFAULT_SRC = settings.PROJECT_ROOT.parent / "shared" / "data" / "hetrec2011-lastfm-2k"
USER_TAGS_FILE = "User Tags.csv"

USER_TAGS_COLUMNS = ["user_id", "track_id", "tag"]

# The source files as published (artists.dat is UTF-8, tags.dat latin-1).
# Reading is strict: a changed header means a different release, and guessing
# at it would corrupt the import silently. utf-8-sig also accepts a BOM.
_SOURCES = {
    "artists": ("artists.dat", "utf-8-sig", ["id", "name", "url", "pictureURL"]),
    "tags": ("tags.dat", "latin-1", ["tagID", "tagValue"]),
    "user_artists": ("user_artists.dat", "ascii", ["userID", "artistID", "weight"]),
    "user_tags": (
        "user_taggedartists.dat", "ascii",
        ["userID", "artistID", "tagID", "day", "month", "year"],
    ),
}
_INT_COLUMNS = {"id", "tagID", "userID", "artistID", "weight", "day", "month", "year"}
_ID_DIGITS = 13  # "TR" + "LFM" + 13 digits = the 18 characters of an MSD track id
_MAX_ARTIST_ID = 10**_ID_DIGITS - 1


class SourceFileMissingError(FileNotFoundError):
    """A HetRec source file is absent from the source directory."""


@dataclass(frozen=True)
class ImportReport:
    """Counts of what the import read, kept, fixed and dropped.

    Attributes
    ----------
    artists : int
        Catalogue rows written, one per artist in ``artists.dat``.
    users : int
        Distinct users in the written listening history.
    listening_rows : int
        Rows written to the listening history.
    listening_rows_dropped_duplicate : int
        Listening rows dropped as exact repeats of an earlier row.
    listening_rows_dropped_unknown_artist : int
        Listening rows dropped because the artist is not in ``artists.dat``.
    listening_rows_dropped_nonpositive : int
        Listening rows dropped because the play count is below 1.
    listening_rows_merged : int
        Rows folded into another row for the same (user, artist) pair by
        summing their play counts.
    tags : int
        Distinct tag names after normalisation.
    tag_ids_merged : int
        Tag ids whose normalised name equals that of a smaller tag id.
    tag_ids_empty : int
        Tag ids whose name normalises to the empty string.
    tag_rows_read : int
        Rows in ``user_taggedartists.dat``.
    tag_rows_dropped_unknown_artist : int
        Tag rows dropped because the artist is not in ``artists.dat``.
    tag_rows_dropped_unknown_tag : int
        Tag rows dropped because the tag id is not in ``tags.dat``.
    tag_rows_dropped_empty_tag : int
        Tag rows dropped because the tag name normalises to ``""``.
    tag_rows_dropped_duplicate : int
        Tag rows repeating the (user, artist, normalised tag) of an earlier row.
    tag_assignments_kept : int
        Rows written to ``User Tags.csv``.
    artists_with_tags : int
        Catalogue rows with a non-empty ``tags`` value.
    """

    artists: int
    users: int
    listening_rows: int
    listening_rows_dropped_duplicate: int
    listening_rows_dropped_unknown_artist: int
    listening_rows_dropped_nonpositive: int
    listening_rows_merged: int
    tags: int
    tag_ids_merged: int
    tag_ids_empty: int
    tag_rows_read: int
    tag_rows_dropped_unknown_artist: int
    tag_rows_dropped_unknown_tag: int
    tag_rows_dropped_empty_tag: int
    tag_rows_dropped_duplicate: int
    tag_assignments_kept: int
    artists_with_tags: int


def normalise_tag(raw: str) -> str:
    """Write a tag the way our data set does.

    Lower case, commas removed (so the ``", "`` separator of the ``tags``
    column stays unambiguous), outer whitespace stripped and each inner run of
    whitespace replaced by ``_``.

    Parameters
    ----------
    raw : str
        Tag as published, e.g. ``"Hip  Hop"``.

    Returns
    -------
    str
        Normalised tag, e.g. ``"hip_hop"``; ``""`` if nothing is left.
    """
    # Commas go first so that "rock , pop" becomes "rock_pop", not "rock__pop".
    return "_".join(raw.lower().replace(",", "").split())


def track_ids(artist_ids: pd.Series) -> pd.Series:
    """Return the catalogue track id of each HetRec artist id.

    ``"TRLFM"`` followed by the id in 13 digits, e.g. 51 -> ``TRLFM0000000000051``:
    ``TR`` plus 16 upper-case alphanumerics, the shape of our data set's ids
    (``^TR[A-Z0-9]{16}$``, as in ``TRIOREW128F424EAF0``).
    """
    return "TRLFM" + artist_ids.astype(str).str.zfill(_ID_DIGITS)


def user_ids(hetrec_user_ids: pd.Series) -> pd.Series:
    """Return our user id for each HetRec user id, e.g. 2 -> ``hetrec-user-2``."""
    return "hetrec-user-" + hetrec_user_ids.astype(str)


def import_hetrec(src: Path | str, out: Path | str, tags_per_artist: int = 10) -> ImportReport:
    """Convert the HetRec Last.fm-2K files in ``src`` into our CSVs in ``out``.

    Parameters
    ----------
    src : path-like
        Directory holding ``artists.dat``, ``tags.dat``, ``user_artists.dat``
        and ``user_taggedartists.dat``. It is only read.
    out : path-like
        Directory for the three CSVs; created if needed. Each file is written
        under a temporary name and renamed into place.
    tags_per_artist : int, default=10
        Maximum number of tags in an artist's ``tags`` value.

    Returns
    -------
    ImportReport
        Counts of rows written, merged and dropped.

    Raises
    ------
    SourceFileMissingError
        If a source file is absent; the message names it.
    ValueError
        If ``tags_per_artist`` < 1, or a source file has an unexpected
        header, a non-integer id or an artist id too large for a track id.
    """
    if isinstance(tags_per_artist, bool) or not isinstance(tags_per_artist, int) or tags_per_artist < 1:
        raise ValueError(f"tags_per_artist must be an integer >= 1, got {tags_per_artist!r}")
    src, out = Path(src), Path(out)
    frames = {key: _read_source(src, key) for key in _SOURCES}
    counts: dict[str, int] = {}

    artists = _clean_artists(frames["artists"])
    tag_names = _clean_tag_names(frames["tags"], counts)
    listening = _clean_listening(frames["user_artists"], artists, counts)
    user_tags = _clean_user_tags(frames["user_tags"], artists, tag_names, counts)
    catalogue = _catalogue(artists, _top_tags(user_tags, tags_per_artist))

    _write_csvs(out, {
        settings.CATALOGUE_FILE: catalogue,
        settings.LISTENING_FILE: listening[list(LISTENING_COLUMNS)],
        USER_TAGS_FILE: user_tags[USER_TAGS_COLUMNS],
    })
    report = ImportReport(
        artists=len(catalogue),
        users=listening["user_id"].nunique(),
        listening_rows=len(listening),
        tag_assignments_kept=len(user_tags),
        artists_with_tags=int((catalogue["tags"] != "").sum()),
        **counts,
    )
    logger.info("Imported HetRec %s -> %s: %s", src, out, asdict(report))
    return report


def _read_source(src: Path, key: str) -> pd.DataFrame:
    """Read one tab-separated HetRec file with its published encoding and header.

    Ids and counts are read as int64 and names as text with NA detection off,
    so names such as "NULL" or "08001" stay exactly as published. Quoting is
    off because artist names contain literal ``"`` characters.
    """
    name, encoding, columns = _SOURCES[key]
    path = src / name
    if not path.is_file():
        raise SourceFileMissingError(f"HetRec source file not found: {path}")
    # The C parser accepts both LF (artists.dat) and CRLF (the others) line ends.
    header = pd.read_csv(path, sep="\t", encoding=encoding, quoting=csv.QUOTE_NONE, nrows=0)
    if list(header.columns) != columns:
        raise ValueError(f"{path}: expected columns {columns}, got {list(header.columns)}")
    dtypes = {column: "int64" if column in _INT_COLUMNS else str for column in columns}
    try:
        frame = pd.read_csv(
            path, sep="\t", encoding=encoding, quoting=csv.QUOTE_NONE,
            dtype=dtypes, keep_default_na=False, na_filter=False,
        )
    except ValueError as err:  # pandas' message names the value, not the file
        raise ValueError(f"{path}: {err}") from err
    logger.info("Read %d rows from %s", len(frame), path)
    return frame


def _clean_artists(artists: pd.DataFrame) -> pd.DataFrame:
    """Check artist ids and return ``artist_id, track_id, name`` sorted by id."""
    ids = artists["id"]
    if ids.duplicated().any():
        raise ValueError(f"artists.dat repeats artist ids, e.g. {ids[ids.duplicated()].iloc[0]}")
    if ids.min() < 0 or ids.max() > _MAX_ARTIST_ID:
        raise ValueError(f"artist ids must be in [0, {_MAX_ARTIST_ID}], got [{ids.min()}, {ids.max()}]")
    return pd.DataFrame({
        "artist_id": ids,
        "track_id": track_ids(ids),
        "name": artists["name"],
    }).sort_values("artist_id", ignore_index=True)


def _clean_tag_names(tags: pd.DataFrame, counts: dict[str, int]) -> pd.DataFrame:
    """Normalise tag names and map every tag id to one canonical id per name.

    Several published tags differ only in inner whitespace ("j rock" and
    "j  rock"). They become one tag, whose canonical id is the smallest of
    their ids; that id breaks count ties when ranking an artist's tags.

    Returns
    -------
    pandas.DataFrame
        Columns ``tagID, tag, tag_rank_id``, one row per published tag id;
        ``tag`` is ``""`` for names that normalise to nothing.
    """
    if tags["tagID"].duplicated().any():
        raise ValueError("tags.dat repeats tag ids")
    names = pd.DataFrame({"tagID": tags["tagID"], "tag": tags["tagValue"].map(normalise_tag)})
    names["tag_rank_id"] = names.groupby("tag")["tagID"].transform("min")
    usable = names["tag"] != ""
    counts["tag_ids_empty"] = int((~usable).sum())
    counts["tag_ids_merged"] = int((usable & (names["tagID"] != names["tag_rank_id"])).sum())
    counts["tags"] = names.loc[usable, "tag"].nunique()
    if counts["tag_ids_empty"]:
        logger.warning("%d tag ids normalise to an empty name", counts["tag_ids_empty"])
    if counts["tag_ids_merged"]:
        logger.info("%d tag ids share a normalised name with a smaller id and are merged into it",
                    counts["tag_ids_merged"])
    return names


def _clean_listening(
    user_artists: pd.DataFrame, artists: pd.DataFrame, counts: dict[str, int],
) -> pd.DataFrame:
    """Turn user-artist weights into listening rows, dropping what cannot be used.

    Returns
    -------
    pandas.DataFrame
        ``LISTENING_COLUMNS``, sorted by user then artist id, ``playcount`` int64.
    """
    rows = user_artists
    rows = _drop(rows, rows.duplicated(), counts, "listening_rows_dropped_duplicate",
                 "exact duplicate listening rows")
    rows = _drop(rows, ~rows["artistID"].isin(artists["artist_id"]), counts,
                 "listening_rows_dropped_unknown_artist", "listening rows with an artist not in artists.dat")
    rows = _drop(rows, rows["weight"] < 1, counts, "listening_rows_dropped_nonpositive",
                 "listening rows with a play count below 1")

    # A pair listed twice with different counts is summed, as the listening
    # ingest does with repeated (user, track) rows anyway.
    summed = rows.groupby(["userID", "artistID"], as_index=False, sort=True)["weight"].sum()
    counts["listening_rows_merged"] = len(rows) - len(summed)
    if counts["listening_rows_merged"]:
        logger.warning("Summed %d listening rows into another row for the same user and artist",
                       counts["listening_rows_merged"])
    return pd.DataFrame({
        "track_id": summed["artistID"].pipe(track_ids),
        "user_id": summed["userID"].pipe(user_ids),
        "playcount": summed["weight"].astype("int64"),
    })


def _clean_user_tags(
    user_tags: pd.DataFrame, artists: pd.DataFrame, tag_names: pd.DataFrame,
    counts: dict[str, int],
) -> pd.DataFrame:
    """Keep the tag assignments that name a known artist and a usable tag.

    Returns
    -------
    pandas.DataFrame
        Columns ``user_id, track_id, tag, artist_id, tag_rank_id``, one row per
        distinct (user, artist, normalised tag), sorted by user, artist and
        ``tag_rank_id``.
    """
    rows = user_tags[["userID", "artistID", "tagID"]]
    counts["tag_rows_read"] = len(rows)
    rows = _drop(rows, ~rows["artistID"].isin(artists["artist_id"]), counts,
                 "tag_rows_dropped_unknown_artist", "tag rows with an artist not in artists.dat")
    rows = _drop(rows, ~rows["tagID"].isin(tag_names["tagID"]), counts,
                 "tag_rows_dropped_unknown_tag", "tag rows with a tag id not in tags.dat")
    rows = rows.merge(tag_names, on="tagID", how="left", validate="many_to_one")
    rows = _drop(rows, rows["tag"] == "", counts, "tag_rows_dropped_empty_tag",
                 "tag rows whose tag name normalises to empty")
    # Checked on the normalised name: two published spellings of one tag
    # ("j rock", "j  rock") given by one user to one artist are one assignment.
    rows = _drop(rows, rows.duplicated(["userID", "artistID", "tag"]), counts,
                 "tag_rows_dropped_duplicate", "tag rows repeating a (user, artist, normalised tag)")
    rows = rows.sort_values(["userID", "artistID", "tag_rank_id"], ignore_index=True)
    return pd.DataFrame({
        "user_id": rows["userID"].pipe(user_ids),
        "track_id": rows["artistID"].pipe(track_ids),
        "tag": rows["tag"],
        "artist_id": rows["artistID"],
        "tag_rank_id": rows["tag_rank_id"],
    })


def _drop(rows: pd.DataFrame, mask: pd.Series, counts: dict[str, int], key: str, what: str) -> pd.DataFrame:
    """Return ``rows`` without the ``mask`` rows; record and log how many went."""
    counts[key] = int(mask.sum())
    if counts[key]:
        logger.warning("Dropped %d of %d %s", counts[key], len(rows), what)
    return rows[~mask]


def _top_tags(user_tags: pd.DataFrame, n: int) -> pd.Series:
    """Return each artist's ``n`` most used tags joined with ``", "``.

    Tags are ranked by the number of assignments (users who gave the tag to
    the artist), most used first; ties go to the smaller tag id.

    Returns
    -------
    pandas.Series
        Indexed by artist id; artists without tags are absent.
    """
    used = (
        user_tags.groupby(["artist_id", "tag_rank_id", "tag"], as_index=False, sort=False)
        .size()
        .sort_values(["artist_id", "size", "tag_rank_id"], ascending=[True, False, True])
    )
    top = used.groupby("artist_id", sort=False).head(n)
    # Summing "tag, " strings joins every artist's tags in one vectorised pass (no Python call per group).
    return (top["tag"] + ", ").groupby(top["artist_id"], sort=True).sum().str[:-2]


def _catalogue(artists: pd.DataFrame, top_tags: pd.Series) -> pd.DataFrame:
    """Build the catalogue frame: one row per artist, audio and Spotify fields empty."""
    catalogue = pd.DataFrame("", index=artists.index, columns=list(CATALOGUE_COLUMNS))
    catalogue["track_id"] = artists["track_id"]
    catalogue["name"] = artists["name"]
    catalogue["artist"] = artists["name"]
    catalogue["tags"] = artists["artist_id"].map(top_tags).fillna("")
    return catalogue


def _write_csvs(out: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Write each frame to ``out/<name>`` through a temporary file and a rename.

    All files are written before any is renamed, so a failure while writing
    leaves the previous set in place and no half-written file behind.
    """
    out.mkdir(parents=True, exist_ok=True)
    staged: dict[Path, Path] = {}
    try:
        for name, frame in frames.items():
            # A plain open (not mkstemp, which makes 0600 files) keeps the umask's permissions.
            tmp = out / f".{name}.{os.getpid()}.tmp"
            staged[tmp] = out / name
            frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        for tmp, final in staged.items():
            os.replace(tmp, final)
            logger.info("Wrote %s", final)
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> ImportReport:
    """Parse the command line, run the import and log the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC,
                        help="HetRec directory, only read (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the three CSVs")
    parser.add_argument("--tags-per-artist", type=int, default=10,
                        help="most used tags kept per artist (default: %(default)s)")
    args = parser.parse_args(argv)
    progress.setup()
    return import_hetrec(args.src, args.out, args.tags_per_artist)


if __name__ == "__main__":
    main()
