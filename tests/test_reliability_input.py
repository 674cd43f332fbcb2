"""Reliability of the build on bad input: the cases of issue 7 that ``tests/test_build.py`` does not cover.

``tests/test_build.py`` specifies the basic cases (a missing or renamed column,
a non-numeric value, an empty or header-only file, a Latin-1 file, the
documented cleaning). This module adds what people's own exports really look
like: headers with spaces, byte-order marks and other capitalisation, CRLF
line ends, a file cut off in its last line, an unclosed quote, non-UTF-8 bytes
in the middle of either file, blank files, audio features out of range, play
counts too large to be real, a history written against another catalogue, and
a multi-million-row history with one bad row in the middle.

For every case exactly one of two things happens:

* the build stops with an :class:`InputDataError` whose message names the file
  and, where it applies, the column, the line (the header is line 1) and the
  value; the previous artifact set stays ``current`` and byte-identical and no
  partial set or staging directory is left behind; or
* the rows are cleaned as documented in ``build/ingest.py`` and every cleaning
  step is counted in the manifest's ``cleaning`` and in the build log.

The large file has :data:`BIG_ROWS` rows (2 million by default, about 60 MB;
set ``RELIABILITY_BIG_ROWS=9711301`` for the real Kaggle size). It is read in
8 MB partitions so that, like the real 600 MB file in 64 MB partitions, the
bad row sits in a middle partition and past the first million-row chunk that
the error path scans for line numbers.
"""
from __future__ import annotations

import functools
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

import build.refresh as refresh_module
from build import ingest, settings
from build.refresh import refresh
from engine import Recommender
from engine.errors import InputDataError
from engine.schema import AUDIO_FEATURES
from tests.helpers import (small_catalogue, small_listening, snapshot, tid, uid, write_catalogue,
                           write_listening)
from tests.test_build import build_fails

CATALOGUE = settings.CATALOGUE_FILE
LISTENING = settings.LISTENING_FILE
BIG_ROWS = int(os.environ.get("RELIABILITY_BIG_ROWS", "2000000"))
BIG_BLOCKS = "8MB"


def rewrite(path: Path, change) -> None:
    """Replace a file's bytes by ``change(bytes)``: damage that pandas could not write."""
    path.write_bytes(change(path.read_bytes()))


def stops(raw: Path, out: Path, *fragments: str) -> InputDataError:
    """:func:`tests.test_build.build_fails`, and no staging directory is left in the root either."""
    error = build_fails(raw, out, *fragments)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp-")]
    return error


def builds(raw: Path, out: Path) -> Recommender:
    assert refresh(raw, out, force=True) is not None
    return Recommender.load(out)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


# --------------------------------------------------------------------------
# Headers: renamed, spaced, marked, other line ends
# --------------------------------------------------------------------------

@pytest.mark.parametrize(("file", "old", "new", "missing"), [
    (CATALOGUE, b"track_id,", b"Track_ID,", "track_id"),
    (CATALOGUE, b",energy,", b",energy_level,", "energy"),
    (LISTENING, b",playcount", b",PlayCount", "playcount"),
    (LISTENING, b"track_id,", b"song_id,", "track_id"),
])
def test_a_renamed_column_stops_the_build_naming_the_expected_and_found_names(raw, previous, file, old, new,
                                                                            missing):
    rewrite(raw / file, lambda b: b.replace(old, new, 1))
    error = stops(raw, previous, file, f"'{missing}'", new.strip(b",").decode())
    assert error.column == missing


@pytest.mark.parametrize("file", [CATALOGUE, LISTENING])
@pytest.mark.parametrize("header", ["spaces after commas", "byte-order mark", "CRLF line ends"])
def test_a_header_with_spaces_a_bom_or_crlf_line_ends_is_read_like_a_plain_one(raw, good, tmp_path, file, header):
    def change(data: bytes) -> bytes:
        first, rest = data.split(b"\n", 1)
        if header == "spaces after commas":
            return first.replace(b",", b", ") + b"\n" + rest
        if header == "byte-order mark":
            return b"\xef\xbb\xbf" + data
        return data.replace(b"\n", b"\r\n")

    rewrite(raw / file, change)
    rec = builds(raw, tmp_path / "out")
    reference = Recommender.load(good[1])
    assert rec.manifest["counts"] == reference.manifest["counts"]
    assert rec.recommend(tid(0), k=5) == reference.recommend(tid(0), k=5)
    assert rec.track(tid(3)) == reference.track(tid(3))


# --------------------------------------------------------------------------
# Blank files and files with nothing but a header
# --------------------------------------------------------------------------

@pytest.mark.parametrize("file", [CATALOGUE, LISTENING])
@pytest.mark.parametrize("content", [b"\n\n\n", b"   \r\n \n", b"\xef\xbb\xbf"], ids=["blank lines", "spaces",
                                                                                 "only a BOM"])
def test_a_file_without_a_header_stops_the_build(raw, previous, file, content):
    (raw / file).write_bytes(content)
    stops(raw, previous, file)


@pytest.mark.parametrize("file", [CATALOGUE, LISTENING])
def test_a_header_with_crlf_and_no_rows_stops_the_build(raw, previous, file):
    header = lines_of(raw / file)[0]
    (raw / file).write_bytes(header + b"\r\n\r\n")
    stops(raw, previous, file, "no rows")


# --------------------------------------------------------------------------
# Truncated and badly quoted lines
# --------------------------------------------------------------------------

def test_a_catalogue_cut_off_in_its_last_line_stops_the_build_naming_the_line(raw, previous):
    # An interrupted download: the last row (line 11) ends in the middle of its name.
    rewrite(raw / CATALOGUE, lambda b: b[:b.rstrip(b"\n").rfind(b"\n") + 1] + f"{tid(9)},Bri".encode())
    assert lines_of(raw / CATALOGUE)[-1].decode() == f"{tid(9)},Bri"
    error = stops(raw, previous, CATALOGUE, "row 11", "fields")
    assert error.row == 11


def test_an_unclosed_quote_in_the_catalogue_stops_the_build_instead_of_swallowing_rows(raw, previous):
    # Without the check the quote would run to the end of the file: six tracks would vanish into one name.
    rewrite(raw / CATALOGUE, lambda b: b.replace(b",Yellow,", b',"Yellow,', 1))
    error = stops(raw, previous, CATALOGUE, "row 5")
    assert error.row == 5


def test_a_listening_history_cut_off_in_its_last_line_stops_the_build_naming_the_row(raw, previous):
    rewrite(raw / LISTENING, lambda b: b.rstrip(b"\n")[:-20])
    cut = lines_of(raw / LISTENING)[-1].decode()
    assert cut.count(",") == 1
    stops(raw, previous, LISTENING, cut)


def test_a_complete_last_line_without_a_line_end_is_kept(raw, good, tmp_path):
    rewrite(raw / LISTENING, lambda b: b.rstrip(b"\n"))
    assert builds(raw, tmp_path / "out").manifest["counts"] == Recommender.load(good[1]).manifest["counts"]


def test_a_row_with_an_extra_field_in_the_listening_history_stops_the_build(raw, previous):
    rewrite(raw / LISTENING, lambda b: b + f"{tid(1)},{uid(9)},3,extra\n".encode())
    stops(raw, previous, LISTENING, uid(9))


# --------------------------------------------------------------------------
# Text that is not UTF-8
# --------------------------------------------------------------------------

@pytest.mark.parametrize(("file", "line", "old", "new"), [
    (CATALOGUE, 6, b"One More Time", "One Möre Time".encode("latin-1")),
    (CATALOGUE, 11, b"Nobody", "Nobødy".encode("cp1252")),
    (LISTENING, 8, tid(0).encode(), b"TR\xe9" + tid(0).encode()[3:]),
    (LISTENING, 17, uid(6).encode(), b"\xff" + uid(6).encode()[1:]),
])
def test_a_line_that_is_not_utf8_in_either_file_stops_the_build_naming_the_line(raw, previous, file, line, old, new):
    lines = lines_of(raw / file)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    (raw / file).write_bytes(b"\n".join(lines))
    error = stops(raw, previous, file, "UTF-8", f"row {line}")
    assert error.row == line


def test_a_utf16_file_stops_the_build(raw, previous):
    (raw / LISTENING).write_bytes((raw / LISTENING).read_text(encoding="utf-8").encode("utf-16"))
    stops(raw, previous, LISTENING, "UTF-8")


# --------------------------------------------------------------------------
# Values out of range
# --------------------------------------------------------------------------

#: For each numeric column, one value below and one above its documented range.
OUT_OF_RANGE = {"danceability": (-0.1, 1.5), "energy": (-1, 2), "loudness": (-80, 12), "speechiness": (-0.5, 1.01),
                "acousticness": (-0.01, 3), "instrumentalness": (-2, 1.2), "liveness": (-0.2, 7),
                "valence": (-0.3, 1.3), "tempo": (-1, 420), "key": (-1, 12), "mode": (-1, 2),
                "time_signature": (-1, 8), "year": (999, 2200), "duration_ms": (0, 200_000_000)}


def test_every_numeric_column_out_of_range_is_treated_as_missing_and_counted(raw, tmp_path):
    rows = small_catalogue()
    for n, (column, (low, high)) in enumerate(OUT_OF_RANGE.items()):
        rows[n % 10][column] = low
        rows[(n + 5) % 10][column] = high
    write_catalogue(raw, rows)
    rec = builds(raw, tmp_path / "out")
    report = rec.manifest["cleaning"]["catalogue"]
    for column in OUT_OF_RANGE:
        assert report[f"out_of_range_{column}"] == 2, column
    for n, (column, _) in enumerate(OUT_OF_RANGE.items()):
        for row in (n % 10, (n + 5) % 10):
            value = rec.tracks.loc[row, column]
            assert value != value, f"{column} of track {row} kept as {value}"  # NaN: treated as missing
            if column in AUDIO_FEATURES:
                assert column not in rec.track(tid(row)).audio
    assert rec.manifest["counts"]["tracks"] == 10


def test_values_on_the_edges_of_their_ranges_are_kept(raw, tmp_path):
    rows = small_catalogue()
    edges = {"danceability": 0, "energy": 1, "loudness": -60, "speechiness": 1, "tempo": 300, "key": 11,
             "time_signature": 0, "year": 2100, "duration_ms": 1}
    rows[4].update(edges)
    write_catalogue(raw, rows)
    rec = builds(raw, tmp_path / "out")
    assert not [k for k in rec.manifest["cleaning"]["catalogue"] if k.startswith("out_of_range_")]
    assert rec.track(tid(4)).audio["tempo"] == 300 and rec.track(tid(4)).year == 2100


@pytest.mark.parametrize("count", ["1e300", "1e400", "-1e300", "9" * 400])
def test_a_play_count_too_large_to_be_real_is_dropped_and_counted(raw, tmp_path, count):
    write_listening(raw, small_listening() + [(tid(7), uid(1), count)])
    rec = builds(raw, tmp_path / "out")
    assert rec.manifest["cleaning"]["listening"]["dropped_bad_playcount"] == 1
    assert rec.track(tid(7)).n_listeners == 0
    assert np.isfinite(rec.manifest["statistics"]["plays"])


def test_play_counts_stay_exact_in_the_float32_play_matrix(raw, tmp_path):
    limit = int(ingest.MAX_PLAYCOUNT)  # 2**24: the largest integer float32 holds exactly
    assert float(np.float32(limit)) == limit and float(np.float32(limit + 1)) != limit + 1
    write_listening(raw, small_listening() + [(tid(7), uid(1), limit), (tid(8), uid(1), limit + 1)])
    rec = builds(raw, tmp_path / "out")
    assert rec.manifest["cleaning"]["listening"]["dropped_bad_playcount"] == 1  # only the one beyond
    assert rec.track(tid(7)).n_plays == limit and rec.track(tid(8)).n_listeners == 0


def test_repeated_rows_adding_up_beyond_the_exact_range_stop_the_build_naming_the_value(raw, previous):
    limit = int(ingest.MAX_PLAYCOUNT)
    write_listening(raw, small_listening() + [(tid(7), uid(1), limit), (tid(7), uid(1), 5)])
    error = build_fails(raw, previous, settings.LISTENING_FILE)
    assert "add up to more than 16,777,216 plays" in str(error) and str(float(limit + 5)) in str(error)


# --------------------------------------------------------------------------
# A history written against another catalogue
# --------------------------------------------------------------------------

def test_history_ids_missing_from_the_catalogue_are_dropped_counted_and_logged(raw, tmp_path, caplog):
    foreign = [(f"TRFOREIGN{n:09d}", uid(n % 7 + 1), 2) for n in range(500)]
    write_listening(raw, small_listening() + foreign)
    with caplog.at_level(logging.INFO):
        rec = builds(raw, tmp_path / "out")
    report = rec.manifest["cleaning"]["listening"]
    assert report["dropped_unknown_track"] == 500 and report["rows"] == 16
    assert "dropped_unknown_track" in caplog.text and "500" in caplog.text


def test_every_cleaning_count_appears_in_the_build_log(raw, tmp_path, caplog):
    rows = small_catalogue() + [dict(small_catalogue()[2])]
    rows[3]["energy"] = 7
    write_catalogue(raw, rows)
    write_listening(raw, small_listening() + [(tid(1), uid(3), -2), (tid(1), uid(3), -2)])
    with caplog.at_level(logging.INFO):
        rec = builds(raw, tmp_path / "out")
    cleaning = rec.manifest["cleaning"]
    assert cleaning["catalogue"]["dropped_duplicate_track_id"] == 1
    assert cleaning["catalogue"]["out_of_range_energy"] == 1
    assert cleaning["listening"]["dropped_bad_playcount"] == 2
    for name in ("dropped_duplicate_track_id", "out_of_range_energy", "dropped_bad_playcount"):
        assert name in caplog.text, name


# --------------------------------------------------------------------------
# A multi-million-row history with one bad row in the middle
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_history(tmp_path_factory) -> tuple[Path, Path]:
    """``(head, tail)``: the two halves of a :data:`BIG_ROWS`-row history over the small catalogue.

    ``head`` has the header and ``BIG_ROWS // 2`` rows, so a row written
    between the halves is on line ``BIG_ROWS // 2 + 2``.
    """
    directory = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(0)
    tracks = pa.array([tid(n) for n in range(10)])
    users = pa.array([f"user{n:07d}" for n in range(BIG_ROWS // 8)])
    table = pa.table({"track_id": tracks.take(pa.array(rng.integers(0, 10, BIG_ROWS))),
                      "user_id": users.take(pa.array(rng.integers(0, len(users), BIG_ROWS))),
                      "playcount": pa.array(rng.integers(1, 30, BIG_ROWS))})
    half = BIG_ROWS // 2
    head, tail = directory / "head.csv", directory / "tail.csv"
    plain = dict(quoting_style="none")
    pa_csv.write_csv(table.slice(0, half), head, pa_csv.WriteOptions(**plain))
    pa_csv.write_csv(table.slice(half), tail, pa_csv.WriteOptions(include_header=False, **plain))
    return head, tail


@pytest.fixture
def big_raw(big_history, tmp_path, monkeypatch):
    """``write(bad_line) -> raw directory`` with the big history around ``bad_line``; partitions of 8 MB."""
    monkeypatch.setattr(refresh_module, "read_listening",
                        functools.partial(ingest.read_listening, blocksize=BIG_BLOCKS))
    raw = tmp_path / "big-raw"
    write_catalogue(raw, small_catalogue())

    def write(bad_line: bytes) -> Path:
        with open(raw / LISTENING, "wb") as out:
            for part, extra in ((big_history[0], bad_line), (big_history[1], b"")):
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
                out.write(extra)
        return raw

    return write


BAD_LINE = BIG_ROWS // 2 + 2


@pytest.mark.slow
def test_a_non_numeric_play_count_in_the_middle_of_a_big_history_names_its_line(big_raw, previous):
    raw = big_raw(f"{tid(3)},user0000001,12x\n".encode())
    assert (raw / LISTENING).stat().st_size > 4 * 8 * 2**20  # several partitions
    error = stops(raw, previous, LISTENING, "'playcount'", f"row {BAD_LINE}", "'12x'")
    assert (error.row, error.value) == (BAD_LINE, "12x")


@pytest.mark.slow
def test_a_non_utf8_byte_in_the_middle_of_a_big_history_names_its_line(big_raw, previous):
    raw = big_raw(f"{tid(3)},user\xe9,1\n".encode("latin-1"))
    error = stops(raw, previous, LISTENING, "UTF-8", f"row {BAD_LINE}")
    assert error.row == BAD_LINE


@pytest.mark.slow
def test_a_negative_play_count_in_the_middle_of_a_big_history_is_dropped_and_counted(big_raw, tmp_path):
    raw = big_raw(f"{tid(7)},lonely-listener,-4\n".encode())
    rec = builds(raw, tmp_path / "out")
    report = rec.manifest["cleaning"]["listening"]
    assert report["rows_read"] == BIG_ROWS + 1 and report["dropped_bad_playcount"] == 1
    assert rec.track(tid(7)).n_listeners > 0 and rec.search_users("lonely") == []
    assert snapshot(tmp_path / "out")["current"] == rec.version
