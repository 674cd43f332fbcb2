"""Specification of ``build.import_hetrec``, the HetRec 2011 Last.fm-2K importer.

Two parts:

- a tiny hand-made source directory (CRLF, latin-1, a literal ``"``, every
  kind of bad row) whose exact output is written out below;
- the real published files in ``../shared/data/hetrec2011-lastfm-2k``, checked
  against the statistics of its readme. Skipped only if that directory is absent.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from build import settings
from build.import_hetrec import (
    DEFAULT_SRC,
    USER_TAGS_FILE,
    ImportReport,
    SourceFileMissingError,
    import_hetrec,
    main,
    normalise_tag,
)
from engine.schema import CATALOGUE_COLUMNS

HETREC_DIR = settings.PROJECT_ROOT.parent / "shared" / "data" / "hetrec2011-lastfm-2k"
AUDIO_AND_SPOTIFY_COLUMNS = [
    "spotify_preview_url", "spotify_id", "genre", "year", "duration_ms", "danceability",
    "energy", "key", "loudness", "mode", "speechiness", "acousticness", "instrumentalness",
    "liveness", "valence", "tempo", "time_signature",
]
TRACK_ID = re.compile(r"^TR[A-Z0-9]{16}$")


def read_back(path: Path) -> pd.DataFrame:
    """Read an output CSV the way the pipeline should: every field as text, no NA guessing."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------
# Tag normalisation
# --------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("metal", "metal"),
    ("Alternative Metal", "alternative_metal"),
    ("  j  rock\t", "j_rock"),            # stripped; a whitespace run is one "_"
    ("rock , pop", "rock_pop"),           # commas removed before spaces collapse
    ("die Ärzte", "die_ärzte"),           # lower-cased, accents kept
    ("80's", "80's"),
    (" , ", ""),                          # nothing left: the tag is unusable
])
def test_normalise_tag_writes_tags_like_our_data_set(raw, expected):
    assert normalise_tag(raw) == expected


# --------------------------------------------------------------------------
# Hand-made source directory
# --------------------------------------------------------------------------

ARTISTS = (  # UTF-8 with LF, as published
    "id\tname\turl\tpictureURL\n"
    "1\tMötley Crüe\thttp://www.last.fm/music/M%C3%B6tley+Cr%C3%BCe\t\n"
    '2\t"Weird Al" Yankovic\thttp://www.last.fm/music/%22Weird+Al%22+Yankovic\tx.jpg\n'
    "3\t08001\thttp://www.last.fm/music/08001\tx.jpg\n"
)
TAGS = (  # latin-1 with CRLF, as published
    "tagID\ttagValue\r\n"
    "1\tHard Rock\r\n"
    "2\tfußball\r\n"
    "3\tHard  Rock\r\n"           # same tag as 1 once normalised
    "4\tdie Ärzte, live\r\n"
    "5\t,\r\n"                    # normalises to nothing
)
USER_ARTISTS = (  # ASCII with CRLF
    "userID\tartistID\tweight\r\n"
    "10\t1\t50\r\n"
    "10\t2\t7\r\n"
    "11\t2\t4\r\n"
    "11\t1\t3\r\n"
    "11\t99\t5\r\n"               # unknown artist
    "11\t2\t4\r\n"                # exact duplicate
    "12\t3\t2\r\n"
    "12\t3\t5\r\n"                # same pair, other count: summed to 7
    "12\t1\t0\r\n"                # no plays
)
USER_TAGGED_ARTISTS = (  # ASCII with CRLF
    "userID\tartistID\ttagID\tday\tmonth\tyear\r\n"
    "10\t1\t1\t1\t4\t2009\r\n"
    "10\t1\t2\t1\t4\t2009\r\n"
    "10\t1\t3\t1\t4\t2009\r\n"    # user 10 already gave artist 1 "hard_rock"
    "11\t1\t3\t1\t5\t2009\r\n"
    "11\t1\t4\t1\t5\t2009\r\n"
    "12\t1\t4\t1\t6\t2009\r\n"
    "12\t1\t4\t1\t6\t2009\r\n"    # exact duplicate
    "10\t2\t2\t1\t4\t2009\r\n"
    "10\t99\t1\t1\t4\t2009\r\n"   # unknown artist
    "10\t2\t77\t1\t4\t2009\r\n"   # unknown tag id
    "10\t2\t5\t1\t4\t2009\r\n"    # tag that normalises to nothing
)


def catalogue_row(track_id: str, name: str, tags: str) -> str:
    """One expected catalogue line: name doubles as artist; 2 + 15 empty fields."""
    return f"{track_id},{name},{name},,,{tags}" + "," * 15


EXPECTED_CATALOGUE = "\n".join([
    ",".join(CATALOGUE_COLUMNS),
    # artist 1: hard_rock and die_ärzte_live were each given by 2 users; the tie
    # goes to the smaller tag id (1 < 4), not to the alphabet; fußball by 1 user.
    catalogue_row("TRLFM0000000000001", "Mötley Crüe", '"hard_rock, die_ärzte_live, fußball"'),
    catalogue_row("TRLFM0000000000002", '"""Weird Al"" Yankovic"', "fußball"),
    catalogue_row("TRLFM0000000000003", "08001", ""),
]) + "\n"
EXPECTED_LISTENING = (
    "track_id,user_id,playcount\n"
    "TRLFM0000000000001,hetrec-user-10,50\n"
    "TRLFM0000000000002,hetrec-user-10,7\n"
    "TRLFM0000000000001,hetrec-user-11,3\n"
    "TRLFM0000000000002,hetrec-user-11,4\n"
    "TRLFM0000000000003,hetrec-user-12,7\n"
)
EXPECTED_USER_TAGS = (
    "user_id,track_id,tag\n"
    "hetrec-user-10,TRLFM0000000000001,hard_rock\n"
    "hetrec-user-10,TRLFM0000000000001,fußball\n"
    "hetrec-user-10,TRLFM0000000000002,fußball\n"
    "hetrec-user-11,TRLFM0000000000001,hard_rock\n"
    "hetrec-user-11,TRLFM0000000000001,die_ärzte_live\n"
    "hetrec-user-12,TRLFM0000000000001,die_ärzte_live\n"
)
EXPECTED_REPORT = ImportReport(
    artists=3, users=3, listening_rows=5,
    listening_rows_dropped_duplicate=1, listening_rows_dropped_unknown_artist=1,
    listening_rows_dropped_nonpositive=1, listening_rows_merged=1,
    tags=3, tag_ids_merged=1, tag_ids_empty=1,
    tag_rows_read=11, tag_rows_dropped_unknown_artist=1, tag_rows_dropped_unknown_tag=1,
    tag_rows_dropped_empty_tag=1, tag_rows_dropped_duplicate=2,
    tag_assignments_kept=6, artists_with_tags=2,
)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A HetRec directory with the encodings and line ends of the real files."""
    src = tmp_path / "hetrec"
    src.mkdir()
    (src / "artists.dat").write_bytes(ARTISTS.encode("utf-8"))
    (src / "tags.dat").write_bytes(TAGS.encode("latin-1"))
    (src / "user_artists.dat").write_bytes(USER_ARTISTS.encode("ascii"))
    (src / "user_taggedartists.dat").write_bytes(USER_TAGGED_ARTISTS.encode("ascii"))
    return src


def test_fixture_really_has_crlf_and_latin1(src):
    assert (src / "tags.dat").read_bytes().count(b"\r\n") == 6
    assert b"fu\xdfball" in (src / "tags.dat").read_bytes()


def test_writes_exactly_the_expected_files(src, tmp_path):
    out = tmp_path / "out"
    import_hetrec(src, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [settings.CATALOGUE_FILE, settings.LISTENING_FILE, USER_TAGS_FILE])
    assert (out / settings.CATALOGUE_FILE).read_text(encoding="utf-8") == EXPECTED_CATALOGUE
    assert (out / settings.LISTENING_FILE).read_text(encoding="utf-8") == EXPECTED_LISTENING
    assert (out / USER_TAGS_FILE).read_text(encoding="utf-8") == EXPECTED_USER_TAGS


def test_track_id_is_tr_plus_16_characters_made_from_the_artist_id(src, tmp_path):
    import_hetrec(src, tmp_path / "out")
    track_ids = read_back(tmp_path / "out" / settings.CATALOGUE_FILE)["track_id"]
    assert track_ids.tolist() == ["TRLFM" + f"{artist_id:013d}" for artist_id in (1, 2, 3)]
    assert all(TRACK_ID.match(track_id) for track_id in track_ids)


def test_report_counts_every_kept_merged_and_dropped_row(src, tmp_path):
    assert import_hetrec(src, tmp_path / "out") == EXPECTED_REPORT


def test_every_drop_and_fix_is_logged_with_its_count(src, tmp_path, caplog):
    caplog.set_level("INFO", logger="build.import_hetrec")
    import_hetrec(src, tmp_path / "out")
    log = caplog.text
    for line in [
        "Dropped 1 of 9 exact duplicate listening rows",
        "Dropped 1 of 8 listening rows with an artist not in artists.dat",
        "Dropped 1 of 7 listening rows with a play count below 1",
        "Summed 1 listening rows",
        "1 tag ids normalise to an empty name",
        "1 tag ids share a normalised name",
        "Dropped 1 of 11 tag rows with an artist not in artists.dat",
        "Dropped 1 of 10 tag rows with a tag id not in tags.dat",
        "Dropped 1 of 9 tag rows whose tag name normalises to empty",
        "Dropped 2 of 8 tag rows repeating a (user, artist, normalised tag)",
    ]:
        assert line in log


def test_tags_per_artist_keeps_the_most_used(src, tmp_path):
    import_hetrec(src, tmp_path / "out", tags_per_artist=2)
    catalogue = read_back(tmp_path / "out" / settings.CATALOGUE_FILE)
    assert catalogue["tags"].tolist() == ["hard_rock, die_ärzte_live", "fußball", ""]


def test_names_read_back_exactly_as_published(src, tmp_path):
    import_hetrec(src, tmp_path / "out")
    catalogue = read_back(tmp_path / "out" / settings.CATALOGUE_FILE)
    names = ["Mötley Crüe", '"Weird Al" Yankovic', "08001"]
    assert catalogue["name"].tolist() == names
    assert catalogue["artist"].tolist() == names


def test_rerun_replaces_outputs_and_leaves_no_temporary_files(src, tmp_path):
    out = tmp_path / "out"
    import_hetrec(src, out, tags_per_artist=1)
    import_hetrec(src, out)
    assert (out / settings.CATALOGUE_FILE).read_text(encoding="utf-8") == EXPECTED_CATALOGUE
    assert len(list(out.iterdir())) == 3


def test_command_line_runs_the_import(src, tmp_path):
    report = main(["--src", str(src), "--out", str(tmp_path / "out"), "--tags-per-artist", "1"])
    assert report.artists == 3
    catalogue = read_back(tmp_path / "out" / settings.CATALOGUE_FILE)
    assert catalogue["tags"].tolist() == ["hard_rock", "fußball", ""]


def test_default_source_is_the_shared_data_directory():
    assert DEFAULT_SRC == HETREC_DIR


@pytest.mark.parametrize("name", [
    "artists.dat", "tags.dat", "user_artists.dat", "user_taggedartists.dat"])
def test_missing_source_file_is_named(src, tmp_path, name):
    (src / name).unlink()
    with pytest.raises(SourceFileMissingError, match=re.escape(name)) as err:
        import_hetrec(src, tmp_path / "out")
    assert isinstance(err.value, FileNotFoundError)
    assert not (tmp_path / "out").exists()


def test_unexpected_header_is_rejected_with_the_file_name(src, tmp_path):
    (src / "user_artists.dat").write_text("userID\tartistID\tplays\r\n2\t1\t3\r\n")
    with pytest.raises(ValueError, match=r"user_artists\.dat.*expected columns"):
        import_hetrec(src, tmp_path / "out")


def test_non_integer_id_is_rejected_with_the_file_name(src, tmp_path):
    (src / "user_artists.dat").write_text("userID\tartistID\tweight\r\n2\tabc\t3\r\n")
    with pytest.raises(ValueError, match=r"user_artists\.dat"):
        import_hetrec(src, tmp_path / "out")


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_tags_per_artist_must_be_a_positive_integer(src, tmp_path, n):
    with pytest.raises(ValueError, match="tags_per_artist must be an integer >= 1"):
        import_hetrec(src, tmp_path / "out", tags_per_artist=n)


# --------------------------------------------------------------------------
# The real published data set
# --------------------------------------------------------------------------

needs_hetrec = pytest.mark.skipif(
    not HETREC_DIR.is_dir(), reason=f"HetRec Last.fm-2K data not found at {HETREC_DIR}")
N_TAGS = 10


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Import the real data once; return the report and the three outputs read back."""
    out = tmp_path_factory.mktemp("hetrec_out")
    report = import_hetrec(HETREC_DIR, out, tags_per_artist=N_TAGS)
    return {
        "report": report,
        "catalogue": read_back(out / settings.CATALOGUE_FILE),
        "listening": read_back(out / settings.LISTENING_FILE),
        "user_tags": read_back(out / USER_TAGS_FILE),
    }


@needs_hetrec
def test_real_counts_match_the_published_statistics(real):
    report = real["report"]
    assert report.artists == len(real["catalogue"]) == 17_632
    assert report.users == real["listening"]["user_id"].nunique() == 1_892
    assert report.listening_rows == len(real["listening"]) == 92_834
    assert report.tag_rows_read == 186_479
    assert report.tag_rows_dropped_unknown_artist == 1_538
    assert report.tag_rows_dropped_unknown_tag == 0
    # "j rock"/"j  rock" and five more pairs differ only in whitespace; two
    # users gave one artist both spellings.
    assert report.tag_ids_merged == 6
    assert report.tags == 11_946 - 6
    assert report.tag_rows_dropped_duplicate == 2
    assert report.tag_assignments_kept == len(real["user_tags"]) == 186_479 - 1_538 - 2


@needs_hetrec
def test_real_catalogue_has_schema_columns_and_one_row_per_artist(real):
    catalogue = real["catalogue"]
    assert tuple(catalogue.columns) == CATALOGUE_COLUMNS
    assert catalogue["track_id"].str.match(TRACK_ID.pattern).all()
    assert catalogue["track_id"].is_unique
    assert (catalogue["name"] == catalogue["artist"]).all()


@needs_hetrec
def test_real_audio_and_spotify_columns_are_all_empty(real):
    assert (real["catalogue"][AUDIO_AND_SPOTIFY_COLUMNS] == "").all().all()


@needs_hetrec
def test_real_names_with_literal_quotes_round_trip(real):
    by_id = real["catalogue"].set_index("track_id")["name"]
    assert by_id["TRLFM0000000001686"] == '"Weird Al" Yankovic'
    assert by_id["TRLFM0000000002906"] == "Royce da 5'9\""   # a single, unbalanced quote
    assert by_id["TRLFM0000000017355"] == "08001"            # not the number 8001
    # Every name, compared with the file split by hand (no CSV quoting rules).
    published = (HETREC_DIR / "artists.dat").read_text(encoding="utf-8").splitlines()[1:]
    expected = {f"TRLFM{int(artist_id):013d}": name
                for artist_id, name, *_ in (line.split("\t") for line in published)}
    assert by_id.to_dict() == expected


@needs_hetrec
def test_real_latin1_tag_names_are_decoded(real):
    assert b"11213\tdie \xc4rzte\r\n" in (HETREC_DIR / "tags.dat").read_bytes()
    tags = real["user_tags"]
    assert tags.loc[tags["tag"] == "die_ärzte", "track_id"].tolist() == ["TRLFM0000000016875"]
    assert "español" in set(tags["tag"])


@needs_hetrec
def test_real_listening_keeps_user_artist_weights(real):
    listening = real["listening"]
    assert listening.columns.tolist() == ["track_id", "user_id", "playcount"]
    first = listening.iloc[0].tolist()
    assert first == ["TRLFM0000000000051", "hetrec-user-2", "13883"]  # "2 51 13883" in the readme
    assert listening["track_id"].isin(real["catalogue"]["track_id"]).all()
    assert not listening.duplicated(["track_id", "user_id"]).any()


@needs_hetrec
def test_real_user_tags_name_catalogue_tracks_once(real):
    tags = real["user_tags"]
    assert tags.columns.tolist() == ["user_id", "track_id", "tag"]
    assert tags["track_id"].isin(real["catalogue"]["track_id"]).all()
    assert not tags.duplicated().any()
    assert (tags["tag"] != "").all() and not tags["tag"].str.contains(r",|\s").any()


@needs_hetrec
def test_real_tags_are_the_most_used_in_order(real):
    uses = real["user_tags"].groupby(["track_id", "tag"]).size().rename("uses").reset_index()
    listed = real["catalogue"][["track_id", "tags"]]
    listed = listed.assign(tag=listed["tags"].str.split(", ")).explode("tag")
    listed = listed[listed["tag"].fillna("") != ""]
    listed = listed.merge(uses, on=["track_id", "tag"], how="left", validate="one_to_one")

    assert listed["uses"].notna().all()                            # every listed tag was used
    assert listed.groupby("track_id").size().max() <= N_TAGS
    assert (listed.groupby("track_id")["uses"].diff().fillna(0) <= 0).all()  # most used first
    fewest_listed = listed.groupby("track_id")["uses"].min()
    unlisted = uses.merge(listed[["track_id", "tag"]], how="left", indicator=True)
    most_unlisted = unlisted[unlisted["_merge"] == "left_only"].groupby("track_id")["uses"].max()
    assert (most_unlisted <= fewest_listed.reindex(most_unlisted.index)).all()
    assert set(uses["track_id"]) == set(listed["track_id"])        # tagged artists have tags
    assert real["report"].artists_with_tags == listed["track_id"].nunique() == 12_133
