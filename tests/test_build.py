"""Specification of the build (``build.refresh``) on bad and messy input.

Bad input stops the build with an :class:`InputDataError` whose message names
the file, and where it applies the column, row (line of the CSV, the header
being line 1) and value; the previous artifact set then stays ``current`` and
byte-identical, and nothing visible is left behind. Messy but usable input is
cleaned as documented in ``build/ingest.py`` and every cleaning step is counted
in the manifest's ``cleaning``.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from build import settings
from build.refresh import main, refresh
from engine.artifacts import LOCK_FILE
from engine import Recommender
from engine.errors import InputDataError, RecommenderError
from tests.helpers import (small_catalogue,
    small_listening,
    snapshot,
    tid,
    uid,
    version_dirs,
    visible_entries,
    write_catalogue,
    write_listening,
)

CATALOGUE = settings.CATALOGUE_FILE
LISTENING = settings.LISTENING_FILE


def edit(path: Path, change) -> None:
    """Rewrite a CSV after ``change(frame)`` (every field read as text, nothing guessed as missing)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False)


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    def change(frame):
        frame.loc[row, column] = value
        return frame
    edit(path, change)


def build_fails(raw: Path, out: Path, *fragments: str) -> InputDataError:
    """Run the build, expect an InputDataError mentioning every fragment, and check nothing changed."""
    before = snapshot(out)
    with pytest.raises(InputDataError) as error:
        refresh(raw, out)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert isinstance(error.value, ValueError) and isinstance(error.value, RecommenderError)
    assert snapshot(out) == before, "a failed build changed the artifact root"
    return error.value


def build(raw: Path, out: Path) -> Recommender:
    assert refresh(raw, out) is not None
    return Recommender.load(out)


# --------------------------------------------------------------------------
# Bad catalogue
# --------------------------------------------------------------------------

def test_a_missing_catalogue_column_stops_the_build(raw, previous):
    edit(raw / CATALOGUE, lambda f: f.drop(columns=["tags"]))
    build_fails(raw, previous, CATALOGUE, "'tags'", "missing")


def test_a_renamed_catalogue_column_stops_the_build(raw, previous):
    edit(raw / CATALOGUE, lambda f: f.rename(columns={"artist": "artist_name"}))
    error = build_fails(raw, previous, CATALOGUE, "'artist'", "artist_name")
    assert error.column == "artist"


@pytest.mark.parametrize(("column", "value"), [("energy", "loud"), ("year", "MMIV"), ("key", "C#"),
                                               ("duration_ms", "3:42")])
def test_a_non_numeric_value_in_a_numeric_column_names_file_column_row_and_value(raw, previous, column, value):
    set_cell(raw / CATALOGUE, 3, column, value)  # data row 3 is line 5
    error = build_fails(raw, previous, CATALOGUE, repr(column), "row 5", repr(value))
    assert (error.column, error.row, error.value) == (column, 5, value)


def test_the_reported_line_counts_rows_dropped_before_it(raw, previous):
    # A repeated track id on line 3 is dropped by cleaning; the bad value stays on line 6.
    rows = small_catalogue()
    rows.insert(1, dict(rows[0]))
    rows[4]["energy"] = "loud"
    write_catalogue(raw, rows)
    error = build_fails(raw, previous, "'energy'", "'loud'", "row 6")
    assert error.row == 6


def test_an_empty_catalogue_file_stops_the_build(raw, previous):
    (raw / CATALOGUE).write_bytes(b"")
    build_fails(raw, previous, CATALOGUE, "empty")


def test_a_catalogue_with_only_a_header_stops_the_build(raw, previous):
    write_catalogue(raw, [])
    build_fails(raw, previous, CATALOGUE, "no rows")


def test_a_catalogue_that_is_not_utf8_stops_the_build(raw, previous):
    text = (raw / CATALOGUE).read_text(encoding="utf-8").replace("Coldplay", "Mötley Crüe")
    (raw / CATALOGUE).write_bytes(text.encode("latin-1"))
    build_fails(raw, previous, CATALOGUE, "UTF-8")


def test_a_missing_input_file_stops_the_build(raw, previous):
    (raw / LISTENING).unlink()
    build_fails(raw, previous, LISTENING, "not found")


# --------------------------------------------------------------------------
# Bad listening history
# --------------------------------------------------------------------------

def test_a_missing_listening_column_stops_the_build(raw, previous):
    edit(raw / LISTENING, lambda f: f.drop(columns=["playcount"]))
    build_fails(raw, previous, LISTENING, "'playcount'")


def test_a_renamed_listening_column_stops_the_build(raw, previous):
    edit(raw / LISTENING, lambda f: f.rename(columns={"user_id": "user"}))
    build_fails(raw, previous, LISTENING, "'user_id'")


@pytest.mark.parametrize("value", ["many", "3 plays", "0x1F"])
def test_a_non_numeric_play_count_names_file_column_row_and_value(raw, previous, value):
    set_cell(raw / LISTENING, 4, "playcount", value)  # data row 4 is line 6
    error = build_fails(raw, previous, LISTENING, "'playcount'", "row 6", repr(value))
    assert (error.column, error.row, error.value) == ("playcount", 6, value)


def test_an_empty_listening_file_stops_the_build(raw, previous):
    (raw / LISTENING).write_bytes(b"")
    build_fails(raw, previous, LISTENING, "empty")


def test_a_listening_history_with_only_a_header_stops_the_build(raw, previous):
    write_listening(raw, [])
    build_fails(raw, previous, LISTENING, "no rows")


def test_a_listening_history_that_is_not_utf8_stops_the_build(raw, previous):
    with open(raw / LISTENING, "ab") as handle:
        handle.write(f"{tid(0)},usér-latin1,3\n".encode("latin-1"))
    build_fails(raw, previous, LISTENING, "UTF-8")


def test_a_listening_history_without_a_single_usable_row_stops_the_build(raw, previous):
    write_listening(raw, [("TRNOTINTHECATALOG", uid(1), 3), (tid(0), uid(2), 0)])
    build_fails(raw, previous, LISTENING)


# --------------------------------------------------------------------------
# Failures while writing, and killed builds
# --------------------------------------------------------------------------

def test_a_build_failing_while_writing_leaves_the_previous_set(raw, previous, monkeypatch):
    before = snapshot(previous)
    real_save, calls = np.save, []

    def failing_save(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 3:
            raise OSError("No space left on device")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", failing_save)
    with pytest.raises(OSError, match="No space"):
        refresh(raw, previous, force=True)
    monkeypatch.undo()
    assert snapshot(previous) == before
    assert visible_entries(previous) == before["entries"]
    assert [p.name for p in previous.iterdir() if p.name.startswith(".")] == [LOCK_FILE]  # no staging dir
    Recommender.load(previous)


def test_a_killed_build_leaves_only_a_hidden_directory_that_the_next_build_cleans(raw, previous):
    before = snapshot(previous)
    leftover = previous / ".tmp-v20990101T000000-deadbeef-x1y2z3"  # what a killed build leaves
    leftover.mkdir()
    (leftover / "collab_left.data.npy").write_bytes(b"half written")
    assert snapshot(previous) == before and Recommender.load(previous).version == before["current"]
    edit(raw / LISTENING, lambda f: f.iloc[:-1])  # changed input: a real build runs
    build(raw, previous)
    assert not leftover.exists()
    assert not [p for p in previous.iterdir() if p.name.startswith(".") and p.name != LOCK_FILE]


def test_the_command_line_reports_bad_input_with_exit_status_2(raw, previous, caplog):
    set_cell(raw / LISTENING, 0, "playcount", "lots")
    before = snapshot(previous)
    assert main(["--raw", str(raw), "--out", str(previous)]) == 2
    assert "'lots'" in caplog.text and "previous artifacts untouched" in caplog.text
    assert snapshot(previous) == before


# --------------------------------------------------------------------------
# Documented cleaning, counted in the manifest
# --------------------------------------------------------------------------

def test_extra_and_reordered_columns_are_ignored(raw, good, tmp_path):
    def change(frame):
        frame.insert(3, "comment", "anything, even , commas")
        return frame[list(reversed(frame.columns))]

    edit(raw / CATALOGUE, change)
    rec = build(raw, tmp_path / "out")
    assert rec.manifest["cleaning"]["catalogue"]["extra_columns"] == ["comment"]
    reference = Recommender.load(good[1])
    for r in (0, 4, 7):
        assert rec.recommend(tid(r), k=9) == reference.recommend(tid(r), k=9)
    pd.testing.assert_frame_equal(rec.tracks, reference.tracks)


def test_catalogue_cleaning_is_documented_and_counted(raw, tmp_path):
    rows = small_catalogue()
    rows[0]["name"] = "  " + unicodedata.normalize("NFD", "Mr. Brightsidé") + "  "
    rows[1]["tags"] = "Rock,  INDIE, rock,,00s "
    rows[2]["name"] = None
    rows[3]["energy"] = 1.7                        # outside [0, 1]: treated as missing
    rows[5]["loudness"] = -99                      # outside [-60, 5]
    rows[6]["energy"] = "NaN"                      # a spelled-out missing number
    duplicate = dict(rows[4], name="Another name for the same id")
    no_id = dict(rows[6], track_id=None)
    rows += [duplicate, dict(rows[4]), no_id]
    write_catalogue(raw, rows)
    rec = build(raw, tmp_path / "out")
    report = rec.manifest["cleaning"]["catalogue"]
    assert report["rows_read"] == 13 and report["rows"] == 10
    assert report["dropped_duplicate_track_id"] == 2
    assert report["dropped_missing_track_id"] == 1
    assert report["missing_name"] == 1 and rec.track(tid(2)).name == "Unknown"
    assert report["out_of_range_energy"] == 1 and report["out_of_range_loudness"] == 1
    assert report["rows_without_tags"] == 1                      # track 9
    assert rec.track(tid(0)).name == unicodedata.normalize("NFC", "Mr. Brightsidé")
    assert rec.track(tid(1)).tags == ("rock", "indie", "00s")
    assert rec.track(tid(3)).audio == {"valence": 0.30}
    assert rec.track(tid(6)).audio == {"valence": 0.40}
    assert rec.track(tid(4)).name == "One More Time"              # the first row of an id wins
    assert rec.manifest["counts"]["tracks"] == 10


def test_listening_cleaning_is_documented_and_counted(raw, tmp_path):
    rows = small_listening()
    rows += [
        (tid(0), uid(1), -3), (tid(1), uid(4), 0), (tid(2), uid(4), ""), (tid(3), uid(5), "NaN"),
        (tid(3), uid(6), "nan"), (tid(4), uid(1), "inf"),                  # bad play counts
        ("TRNOTINTHECATALOG", uid(1), 4), ("TRTEST000000000099", uid(2), 1),  # unknown tracks
        (tid(5), "", 2), (tid(5), "   ", 2),                               # no user
        (tid(0), uid(1), 5),                                               # exact duplicate
        (tid(0), uid(2), 3),                                               # same pair, more plays
        (tid(6), uid(7), 0),                                               # a user left without plays
    ]
    write_listening(raw, rows)
    rec = build(raw, tmp_path / "out")
    report = rec.manifest["cleaning"]["listening"]
    assert report["rows_read"] == 16 + 13
    assert report["dropped_bad_playcount"] == 7
    assert report["dropped_unknown_track"] == 2
    assert report["dropped_missing_user"] == 2
    assert report["dropped_duplicate_rows"] == 1
    assert report["merged_repeated_pairs"] == 1
    assert report["rows"] == 16 and report["users"] == 6
    assert rec.manifest["counts"] == {"tracks": 10, "users": 6, "rows": 16, "cold_tracks": 2}
    history = {t.track_id: n for t, n in rec.user_history(uid(2))}
    assert history == {tid(0): 2 + 3, tid(1): 4, tid(9): 1}
    assert rec.search_users(uid(7)) == []                                # only a dropped row
    assert np.isfinite([r.score for r in rec.recommend_for_user(uid(1), k=7)]).all()


def test_user_ids_are_compared_after_stripping_spaces(raw, tmp_path):
    rows = small_listening() + [(tid(9), f"  {uid(1)} ", 2)]
    write_listening(raw, rows)
    rec = build(raw, tmp_path / "out")
    assert rec.manifest["counts"]["users"] == 6
    assert {t.track_id for t, _ in rec.user_history(uid(1))} == {tid(0), tid(1), tid(2), tid(9)}


def test_cleaning_never_leaves_stray_directories(raw, tmp_path):
    out = tmp_path / "out"
    build(raw, out)
    assert visible_entries(out) == sorted(["current", *version_dirs(out)]) and len(version_dirs(out)) == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != LOCK_FILE]
