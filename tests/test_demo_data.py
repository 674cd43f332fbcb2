"""Specification of the synthetic Kaggle data written by ``build.demo_data``.

Everything runs at demo scale (or on a tiny custom scale) and takes seconds. The
full scale was checked by hand; see the module docstring of build.demo_data.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest

from build.demo_data import (
    CATALOGUE_COLUMNS,
    LISTENING_COLUMNS,
    SCALES,
    TAG_VOCABULARY,
    Scale,
    generate,
    main,
    write,
)
from build.settings import CATALOGUE_FILE, LISTENING_FILE
from engine import schema

DEMO = SCALES["demo"]
TINY = Scale(n_tracks=400, n_artists=80, n_users=300, n_listens=4_000, n_warm_tracks=250)
KAGGLE_GENRES = {
    "Rock", "Pop", "Electronic", "Rap", "Jazz", "Metal", "RnB", "Country", "Reggae", "Blues",
    "Folk", "Punk", "World", "Latin", "New Age",
}
AUDIO_COLUMNS = [
    "danceability", "energy", "loudness", "speechiness", "acousticness", "instrumentalness",
    "liveness", "valence", "tempo",
]


@pytest.fixture(scope="module")
def demo():
    return generate("demo", seed=42)


@pytest.fixture(scope="module")
def demo_dir(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write(demo, out)
    return out


@pytest.fixture(scope="module")
def tracks(demo):
    return demo.tracks


@pytest.fixture(scope="module")
def listens(demo):
    return demo.listens


def track_rows(listens):
    """Catalogue row of each listening row."""
    return listens["track_id"].cat.codes.to_numpy()


def user_rows(listens):
    """Row of ``truth.user_taste`` for each listening row."""
    return listens["user_id"].cat.codes.to_numpy()


def style_of(demo, name):
    return demo.truth.style_names.index(name)


def assert_listens_equal(left, right):
    """Compare listening frames by codes and categories.

    pandas' assert_frame_equal takes ~20 s per 300k-row categorical column.
    """
    assert list(left.columns) == list(right.columns)
    for column in ("track_id", "user_id"):
        pd.testing.assert_index_equal(left[column].cat.categories, right[column].cat.categories)
        np.testing.assert_array_equal(left[column].cat.codes, right[column].cat.codes)
    pd.testing.assert_series_equal(left["playcount"], right["playcount"])


# --------------------------------------------------------------------------- files


class TestFiles:
    def test_catalogue_header_is_the_kaggle_column_order(self, demo_dir):
        header = (demo_dir / CATALOGUE_FILE).read_text(encoding="utf-8").split("\n", 1)[0]
        assert header == (
            "track_id,name,artist,spotify_preview_url,spotify_id,tags,genre,year,duration_ms,"
            "danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,"
            "liveness,valence,tempo,time_signature"
        )
        assert tuple(header.split(",")) == CATALOGUE_COLUMNS

    def test_listening_header_is_track_user_playcount(self, demo_dir):
        with open(demo_dir / LISTENING_FILE, encoding="utf-8") as f:
            assert f.readline() == "track_id,user_id,playcount\n"
        assert LISTENING_COLUMNS == ("track_id", "user_id", "playcount")

    def test_catalogue_file_reads_back_as_the_generated_frame(self, demo_dir, tracks):
        pd.testing.assert_frame_equal(pd.read_csv(demo_dir / CATALOGUE_FILE), tracks)

    def test_listening_file_reads_back_as_the_generated_frame(self, demo_dir, listens):
        expected = listens.astype({"track_id": "str", "user_id": "str"})
        pd.testing.assert_frame_equal(pd.read_csv(demo_dir / LISTENING_FILE), expected)

    def test_only_the_two_csvs_are_left_in_the_output_directory(self, demo_dir):
        assert sorted(p.name for p in demo_dir.iterdir()) == sorted([CATALOGUE_FILE, LISTENING_FILE])

    def test_cli_defaults_to_demo_scale_and_seed_42_and_creates_the_directory(
        self, demo_dir, tmp_path
    ):
        out = tmp_path / "nested" / "raw"
        assert main(["--out", str(out)]) == 0
        for name in (CATALOGUE_FILE, LISTENING_FILE):
            assert (out / name).read_bytes() == (demo_dir / name).read_bytes()

    def test_write_replaces_previous_files(self, tmp_path):
        (tmp_path / CATALOGUE_FILE).write_text("stale")
        write(generate(TINY, seed=1), tmp_path)
        assert (tmp_path / CATALOGUE_FILE).read_text(encoding="utf-8").startswith("track_id,")


# --------------------------------------------------------------------------- determinism


class TestDeterminism:
    def test_same_seed_and_scale_give_identical_data(self, demo):
        again = generate("demo", seed=42)
        pd.testing.assert_frame_equal(again.tracks, demo.tracks)
        assert_listens_equal(again.listens, demo.listens)
        np.testing.assert_array_equal(again.truth.user_taste, demo.truth.user_taste)

    def test_same_seed_writes_byte_identical_files(self, tmp_path):
        write(generate(TINY, seed=7), tmp_path / "a")
        write(generate(TINY, seed=7), tmp_path / "b")
        for name in (CATALOGUE_FILE, LISTENING_FILE):
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    def test_different_seeds_give_different_data(self):
        one, two = generate(TINY, seed=1), generate(TINY, seed=2)
        assert not one.tracks["track_id"].equals(two.tracks["track_id"])
        assert not one.tracks["danceability"].equals(two.tracks["danceability"])
        assert not one.listens["playcount"].equals(two.listens["playcount"])


# --------------------------------------------------------------------------- catalogue


class TestCatalogue:
    def test_track_ids_are_unique_msd_ids(self, tracks):
        assert tracks["track_id"].str.fullmatch(r"TR[A-Z0-9]{16}").all()
        assert tracks["track_id"].is_unique

    def test_spotify_ids_are_22_base62_characters(self, tracks):
        assert tracks["spotify_id"].str.fullmatch(r"[0-9A-Za-z]{22}").all()

    def test_nine_spotify_ids_are_each_shared_by_two_rows(self, tracks):
        counts = tracks["spotify_id"].value_counts()
        assert (counts > 1).sum() == 9
        assert counts.max() == 2

    def test_rows_sharing_a_spotify_id_are_one_recording(self, tracks):
        shared = tracks[tracks["spotify_id"].duplicated(keep=False)]
        recording = ["name", "artist", "year", "duration_ms", *AUDIO_COLUMNS]
        assert (shared.groupby("spotify_id")[recording].nunique() == 1).all().all()
        assert shared["track_id"].is_unique

    def test_preview_urls_are_spotify_cdn_links_and_a_few_are_missing(self, tracks):
        urls = tracks["spotify_preview_url"]
        pattern = r"https://p\.scdn\.co/mp3-preview/[0-9a-f]{40}\?cid=[0-9a-f]{32}"
        assert urls.dropna().str.fullmatch(pattern).all()
        assert 0 < urls.isna().mean() < 0.05

    def test_about_2_2_percent_of_tracks_have_no_tags(self, tracks):
        assert tracks["tags"].isna().mean() == pytest.approx(0.022, abs=0.001)

    def test_about_56_percent_of_tracks_have_no_genre(self, tracks):
        assert tracks["genre"].isna().mean() == pytest.approx(0.56, abs=0.001)

    def test_genres_are_kaggle_genre_words(self, tracks):
        assert set(tracks["genre"].dropna()) == KAGGLE_GENRES

    def test_tags_are_one_to_ten_odd_words_from_a_100_tag_vocabulary(self, tracks):
        assert len(TAG_VOCABULARY) == len(set(TAG_VOCABULARY)) == 100
        assert all(re.fullmatch(r"[a-z0-9_]+", tag) for tag in TAG_VOCABULARY)
        per_track = tracks["tags"].dropna().str.split(", ")
        assert per_track.explode().isin(TAG_VOCABULARY).all()
        assert (per_track.str.len() == per_track.map(lambda tags: len(set(tags)))).all()
        assert per_track.str.len().between(1, 20).all()
        assert 2 <= per_track.str.len().mean() <= 4

    def test_tag_frequencies_are_heavy_tailed_with_rock_most_common(self, tracks):
        counts = tracks["tags"].dropna().str.split(", ").explode().value_counts()
        assert counts.index[0] == "rock"
        assert set(counts.index[:5]) == {"rock", "indie", "electronic", "alternative", "pop"}
        assert counts["rock"] == pytest.approx(10_681 * DEMO.n_tracks / 50_683, rel=0.1)
        assert len(counts) == 100
        assert counts.iloc[0] / counts.iloc[-1] > 30

    def test_integer_columns_have_integer_dtype(self, tracks):
        for column in ("year", "duration_ms", "key", "mode", "time_signature"):
            assert tracks[column].dtype == np.int64, column

    @pytest.mark.parametrize(
        ("column", "low", "high"),
        [
            ("duration_ms", 1_439, 3_816_373),
            ("danceability", 0.0, 0.986),
            ("energy", 0.0, 1.0),
            ("key", 0, 11),
            ("loudness", -60.0, 3.64),
            ("mode", 0, 1),
            ("speechiness", 0.0, 0.954),
            ("acousticness", 0.0, 0.996),
            ("instrumentalness", 0.0, 0.999),
            ("liveness", 0.0, 0.999),
            ("valence", 0.0, 0.993),
            ("tempo", 0.0, 238.9),
            ("time_signature", 0, 5),
        ],
    )
    def test_numeric_columns_stay_within_the_kaggle_ranges(self, tracks, column, low, high):
        assert tracks[column].between(low, high).all()
        assert tracks[column].nunique() > 1

    def test_audio_features_keep_at_most_three_decimals(self, tracks):
        for column in ("danceability", "energy", "valence", "loudness", "tempo"):
            assert np.allclose(tracks[column], tracks[column].round(3), rtol=0, atol=1e-9)

    def test_catalogue_spans_75_years_from_1900_to_2022_mostly_1960_to_2015(self, tracks):
        assert tracks["year"].nunique() == 75
        assert tracks["year"].min() == 1900 and tracks["year"].max() == 2022
        assert tracks["year"].between(1960, 2015).mean() > 0.85

    def test_most_tracks_last_150_to_350_seconds_in_four_four_time(self, tracks):
        assert tracks["duration_ms"].between(150_000, 350_000).mean() > 0.7
        assert (tracks["time_signature"] == 4).mean() > 0.8

    def test_each_artist_name_is_one_artist(self, demo, tracks):
        assert tracks["artist"].nunique() == DEMO.n_artists
        names_per_artist = tracks.groupby(demo.truth.track_artist)["artist"].nunique()
        assert (names_per_artist == 1).all()

    def test_artist_names_come_in_several_writing_systems(self, tracks):
        artists = tracks["artist"].drop_duplicates()
        for script in (r"[A-Za-z]", r"[\u3040-\u30ff\u4e00-\u9fff]", r"[\u0400-\u04ff]"):
            assert artists.str.contains(script).sum() >= 5, script

    def test_names_contain_characters_that_need_csv_quoting(self, tracks):
        for character in (",", '"', "(", "[", "*"):
            assert tracks["name"].str.contains(character, regex=False).any(), character
        for character in (",", '"'):
            assert tracks["artist"].str.contains(character, regex=False).any(), character


# --------------------------------------------------------------------------- listening history


class TestListeningHistory:
    def test_demo_scale_has_its_exact_sizes(self, demo, tracks, listens):
        assert len(tracks) == DEMO.n_tracks
        assert len(listens) == DEMO.n_listens
        assert listens["user_id"].nunique() == DEMO.n_users
        assert listens["track_id"].nunique() == DEMO.n_warm_tracks
        assert demo.truth.user_taste.shape == (DEMO.n_users, len(demo.truth.style_names))

    def test_a_custom_scale_has_its_exact_sizes(self):
        data = generate(TINY, seed=3)
        assert len(data.tracks) == TINY.n_tracks
        assert data.tracks["artist"].nunique() == TINY.n_artists
        assert len(data.listens) == TINY.n_listens
        assert data.listens["user_id"].nunique() == TINY.n_users
        assert data.listens["track_id"].nunique() == TINY.n_warm_tracks

    def test_user_ids_are_40_lowercase_hex_characters(self, listens):
        users = listens["user_id"].cat.categories.to_series()
        assert users.str.fullmatch(r"[0-9a-f]{40}").all()
        assert users.is_unique

    def test_listens_refer_to_catalogue_tracks(self, tracks, listens):
        assert listens["track_id"].cat.categories.equals(pd.Index(tracks["track_id"]))

    def test_track_user_pairs_are_unique(self, listens):
        assert not listens.duplicated(["track_id", "user_id"]).any()

    def test_playcounts_are_mostly_one_to_three_with_a_long_tail(self, listens):
        playcount = listens["playcount"]
        assert playcount.min() >= 1
        assert (playcount <= 3).mean() > 0.7
        assert playcount.max() >= 100

    def test_about_40_percent_of_tracks_are_cold(self, tracks, listens):
        cold = ~tracks["track_id"].isin(listens["track_id"].cat.remove_unused_categories().cat.categories)
        assert cold.mean() == pytest.approx(0.4, abs=0.01)

    def test_user_activity_is_heavy_tailed(self, listens):
        rows_per_user = np.bincount(user_rows(listens))
        assert rows_per_user.min() >= 1
        assert rows_per_user.mean() == pytest.approx(DEMO.n_listens / DEMO.n_users)
        assert np.median(rows_per_user) < rows_per_user.mean()
        assert rows_per_user.max() >= 100


# --------------------------------------------------------------------------- latent structure


class TestStructure:
    def test_tracks_of_one_style_share_far_more_tags_than_random_pairs(self, demo, tracks):
        tagged = np.flatnonzero(tracks["tags"].notna().to_numpy())
        has_tag = tracks["tags"].iloc[tagged].str.get_dummies(sep=", ").to_numpy(bool)
        style = demo.truth.track_style[tagged]
        rng = np.random.default_rng(0)
        first = rng.integers(len(tagged), size=4_000)
        random_partner = rng.integers(len(tagged), size=4_000)
        # A partner of the same style: the next tagged track of that style, cyclically.
        by_style = np.argsort(style, kind="stable")
        position = np.empty_like(by_style)
        position[by_style] = np.arange(len(by_style))
        same_style_partner = by_style[(position[first] + 1) % len(by_style)]
        keep = style[same_style_partner] == style[first]

        def jaccard(a, b):
            both = (has_tag[a] & has_tag[b]).sum(axis=1)
            either = (has_tag[a] | has_tag[b]).sum(axis=1)
            return (both / either).mean()

        assert jaccard(first[keep], same_style_partner[keep]) > 4 * jaccard(first, random_partner)

    def test_audio_features_follow_the_style(self, demo, tracks):
        means = tracks.groupby(demo.truth.track_style)[AUDIO_COLUMNS].mean()
        hip_hop, ambient = style_of(demo, "hip_hop"), style_of(demo, "ambient")
        metal, soundtrack = style_of(demo, "extreme_metal"), style_of(demo, "soundtrack")
        assert means.loc[hip_hop, "speechiness"] > 2 * means["speechiness"].median()
        assert means["instrumentalness"].idxmax() in (ambient, soundtrack)
        assert means.loc[metal, "energy"] > means.loc[soundtrack, "energy"] + 0.5
        assert means.loc[metal, "acousticness"] < means.loc[soundtrack, "acousticness"] - 0.5

    def test_era_follows_the_style(self, demo, tracks):
        median_year = tracks.groupby(demo.truth.track_style)["year"].median()
        assert median_year[style_of(demo, "oldies")] < median_year[style_of(demo, "new_wave")]
        assert median_year[style_of(demo, "new_wave")] < median_year[style_of(demo, "indie_rock")]

    def test_genre_follows_the_style(self, demo, tracks):
        labelled = tracks["genre"].notna().to_numpy()
        genres = tracks.loc[labelled, "genre"]
        per_style = genres.groupby(demo.truth.track_style[labelled])
        modal_share = per_style.agg(lambda g: g.value_counts(normalize=True).iloc[0])
        assert (modal_share > 0.8).all()

    def test_artists_keep_to_their_own_style(self, demo):
        truth = demo.truth
        on_style = truth.track_style == truth.artist_style[truth.track_artist]
        assert on_style.mean() > 0.9

    def test_users_play_mostly_within_their_two_favourite_styles(self, demo, listens):
        taste = demo.truth.user_taste
        assert np.allclose(taste.sum(axis=1), 1.0, atol=1e-5)
        favourite_two = np.argsort(-taste, axis=1)[:, :2]
        user, style = user_rows(listens), demo.truth.track_style[track_rows(listens)]
        in_favourites = (style[:, None] == favourite_two[user]).any(axis=1)
        warm_share = np.bincount(style, minlength=taste.shape[1]) / len(style)
        chance = warm_share[favourite_two[user]].sum(axis=1)
        assert in_favourites.mean() > 0.7
        assert in_favourites.mean() > 4 * chance.mean()

    def test_users_come_back_to_the_same_artists(self, demo, listens):
        user = user_rows(listens).astype(np.int64)
        artist = demo.truth.track_artist[track_rows(listens)]
        n_artists = DEMO.n_artists

        def repeat_share(artists):
            return pd.Series(user * n_artists + artists).duplicated(keep=False).mean()

        shuffled = np.random.default_rng(0).permutation(artist)
        assert repeat_share(artist) > 2 * repeat_share(shuffled)

    def test_popularity_is_heavy_tailed(self, tracks, listens):
        rows_per_track = np.sort(np.bincount(track_rows(listens), minlength=len(tracks)))[::-1]
        top_one_percent = rows_per_track[: len(tracks) // 100].sum() / len(listens)
        assert top_one_percent > 0.1  # ten times their even share


# --------------------------------------------------------------------------- validation


class TestValidation:
    def test_unknown_scale_name_is_rejected(self):
        with pytest.raises(ValueError, match="scale must be one of"):
            generate("huge")

    def test_scale_that_cannot_keep_every_user_and_warm_track_is_rejected(self):
        too_few_rows = Scale(n_tracks=100, n_artists=10, n_users=50, n_listens=60, n_warm_tracks=40)
        with pytest.raises(ValueError, match="n_listens must be at least"):
            generate(too_few_rows)


# SHA-256 of the written CSVs, computed with the single-module generator (build/demo_data.py at
# commit fa368bd, numpy 2.4.6, pandas 3.1.1, pyarrow 26.0.1) BEFORE it was split into the
# build/demo_data/ package: generate(scale, seed) then write(), then hashlib.sha256 of each file.
# The split moved code only; these digests pin that the output stayed byte for byte the same.
# numpy only promises a stable random stream within a version: after upgrading numpy, recompute
# them from a commit known to be right, and say so here.
DIGESTS_BEFORE_THE_SPLIT = {
    ("demo", 42): ("0ef5c9f579a9f8b14bcbcc9d115dfa1d37eedc5304fd58c4d65bfeccc864ebf2",
                   "2d80a67552ce773e332ae62020568c78be7b8b1d31c9cf0acf4d86fbe547428f"),
    ("demo", 7): ("8a35e0825fe60a52de525dbf8ae1543bff5f9fe4f422a4eb4fe4f62d5beb512c",
                  "ee39987ffd6bcfe2dcc4111487e5e733a62fcf4508ffb9b48d376579c3ee1380"),
    ("tiny", 42): ("2251441c3f912c0d4b9d0ab7187be710ec841449cfbecb9a1509f98d9d47b9b3",
                   "0569ff43c94b1f71f4ce047994f6da62cc23b20954276ef88ff2d636fa277a76"),
    ("tiny", 7): ("008fd6a05b77675b5c674acfb50f6b4a13ac86cdd851bc82baacf862a163b5d9",
                  "58e381096a437f9320fc4a388e227c43aa316b42aa3ba8b1767bf2f502b27dfc"),
}


@pytest.mark.parametrize(("scale", "seed"), sorted(DIGESTS_BEFORE_THE_SPLIT))
def test_the_written_files_are_byte_for_byte_those_of_the_generator_before_its_split(tmp_path, scale, seed):
    paths = write(generate(DEMO if scale == "demo" else TINY, seed=seed), tmp_path)
    digests = tuple(hashlib.sha256(paths[name].read_bytes()).hexdigest()
                    for name in (CATALOGUE_FILE, LISTENING_FILE))
    assert digests == DIGESTS_BEFORE_THE_SPLIT[(scale, seed)]


def test_the_file_schemas_are_the_engines():
    assert CATALOGUE_COLUMNS is schema.CATALOGUE_COLUMNS
    assert LISTENING_COLUMNS is schema.LISTENING_COLUMNS


# --------------------------------------------------------------------------- size multiplier


def test_a_multiplier_scales_every_count_alike():
    doubled = DEMO.times(2)
    assert (doubled.n_tracks, doubled.n_artists, doubled.n_users, doubled.n_listens,
            doubled.n_warm_tracks, doubled.n_duplicate_spotify_ids) == (10_000, 1_640, 40_000, 600_000, 6_000, 18)
    quarter = SCALES["full"].times(0.25)
    assert quarter.n_listens == round(9_711_301 / 4) and quarter.n_users == round(962_037 / 4)


def test_multiplier_one_is_the_scale_itself():
    assert SCALES["full"].times(1) is SCALES["full"]


@pytest.mark.parametrize("multiplier", [0, -1, float("nan"), float("inf")])
def test_a_multiplier_must_be_positive_and_finite(multiplier):
    with pytest.raises(ValueError, match="multiplier must be a positive number"):
        DEMO.times(multiplier)


def test_a_multiplier_too_small_for_the_sizes_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="n_listens"):
        TINY.times(0.001)


def test_the_cli_multiplier_writes_data_of_the_multiplied_size(tmp_path):
    assert main(["--out", str(tmp_path), "--multiplier", "0.5"]) == 0
    listens = pd.read_csv(tmp_path / LISTENING_FILE)
    tracks = pd.read_csv(tmp_path / CATALOGUE_FILE)
    half = DEMO.times(0.5)
    assert (len(tracks), len(listens), listens["user_id"].nunique(), listens["track_id"].nunique()) == (
        half.n_tracks, half.n_listens, half.n_users, half.n_warm_tracks)


def test_the_cli_refuses_a_bad_multiplier_with_a_message(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--out", "unused", "--multiplier", "-2"])
    assert stopped.value.code == 2
    assert "--multiplier -2: multiplier must be a positive number" in capsys.readouterr().err
