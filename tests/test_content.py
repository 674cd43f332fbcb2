"""Specification of ``engine.content``: the content blocks and the exact content similarity.

The documented formula is ``content(i, j) = sum_b w_b * cos_b(i, j)`` with the
block weights renormalised over the blocks present in the data. The tests
compute it by hand for tiny catalogues, and with an independent numpy
reference (written out below) for a ten-track one.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.content import DEFAULT_BLOCK_WEIGHTS, ContentFeatures, ContentIndex
from engine.errors import InvalidParameterError
from engine.schema import AUDIO_FEATURES
from tests.helpers import catalogue_frame, small_catalogue, track

ERA_WIDTH = 6.0  # the default era_width


def fitted(rows, **params) -> tuple[ContentFeatures, ContentIndex, pd.DataFrame]:
    frame = catalogue_frame(rows)
    features = ContentFeatures(**params).fit(frame)
    return features, features.transform_index(frame), frame


def sim(index: ContentIndex, i: int, j: int) -> float:
    return float(index.similarity([i])[j])


# --------------------------------------------------------------------------
# An independent reference of the documented formula
# --------------------------------------------------------------------------

def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def reference_block_cosines(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """``{block: (n, n) cosine matrix}`` for every non-empty block, from the raw table."""
    n = len(frame)
    cosines = {}
    tag_lists = [list(dict.fromkeys(t.strip().lower() for t in s.split(",") if t.strip()))
                 if isinstance(s, str) else [] for s in frame["tags"]]
    vocabulary = sorted({t for tags in tag_lists for t in tags})
    if vocabulary:
        binary = np.array([[t in tags for t in vocabulary] for tags in tag_lists], dtype=float)
        idf = np.log((1 + n) / (1 + binary.sum(axis=0))) + 1  # smoothed idf, as documented
        tfidf = _unit_rows(binary * idf)
        cosines["tags"] = tfidf @ tfidf.T
    audio = frame[[c for c in AUDIO_FEATURES if frame[c].notna().any()]].to_numpy(float)
    if audio.shape[1]:
        std = np.nanstd(audio, axis=0)
        z = np.nan_to_num((audio - np.nanmean(audio, axis=0)) / np.where(std > 0, std, 1.0))
        z = _unit_rows(z)
        cosines["audio"] = z @ z.T
    for block in ("artist", "genre"):
        key = frame[block].map(lambda v: v.strip().casefold() if isinstance(v, str) and v.strip() else None)
        if key.dropna().duplicated().any():  # a block where no two tracks agree is left out
            known = key.notna().to_numpy()
            cosines[block] = ((key.to_numpy()[:, None] == key.to_numpy()[None, :])
                              & known[:, None] & known[None, :]).astype(float)
    for block in ("key", "mode", "time_signature"):
        values = frame[block].to_numpy(float)
        if frame[block].dropna().duplicated().any():
            cosines[block] = (values[:, None] == values[None, :]).astype(float)  # NaN != NaN
    years = frame["year"].to_numpy(float)
    if (~np.isnan(years)).any():
        d = years[:, None] - years[None, :]
        # Documented: exp(-d^2 / (4 width^2)); the bumps approximate it to within 0.01.
        cosines["era"] = np.nan_to_num(np.exp(-d ** 2 / (4 * ERA_WIDTH ** 2)))
    return cosines


def reference_weights(present) -> dict[str, float]:
    total = sum(DEFAULT_BLOCK_WEIGHTS[b] for b in present)
    return {b: DEFAULT_BLOCK_WEIGHTS[b] / total for b in present}


def rich_catalogue() -> list[dict]:
    """The shared small catalogue plus genres (two spellings of one), a missing key and odd years."""
    rows = small_catalogue()
    genres = {0: "Rock", 1: "rock ", 2: "Indie", 4: "Electronic", 5: "electronic", 6: "IDM"}
    for n, genre in genres.items():
        rows[n]["genre"] = genre
    rows[3]["key"] = None
    rows[6]["year"] = 1989
    rows[8]["danceability"] = 0.9  # the only danceability value: a constant feature
    return rows


# --------------------------------------------------------------------------
# Hand-computed values
# --------------------------------------------------------------------------

def test_tags_and_artist_similarity_by_hand():
    # Only tags and artist present: weights 0.35 and 0.15 renormalise to 0.7 and 0.3.
    # rock and pop each appear on 2 of 3 tracks, so they share one idf and
    # cos_tags(0, 1) = 1/sqrt(2), cos_tags(0, 2) = 0.
    _, index, _ = fitted([track(0, artist="A", tags="rock"),
                          track(1, artist="A", tags="rock, pop"),
                          track(2, artist="B", tags="pop")])
    assert index.block_names == ["tags", "artist"]
    assert sim(index, 0, 1) == pytest.approx(0.7 / math.sqrt(2) + 0.3, abs=1e-6)
    assert sim(index, 0, 2) == pytest.approx(0.0, abs=1e-7)
    assert sim(index, 1, 2) == pytest.approx(0.7 / math.sqrt(2), abs=1e-6)
    assert sim(index, 1, 0) == pytest.approx(sim(index, 0, 1), abs=1e-7)  # symmetric
    for i in range(3):
        assert sim(index, i, i) == pytest.approx(1.0, abs=1e-6)


def test_rare_tags_weigh_more_than_common_ones():
    # n = 4: df(rock) = 3, df(pop) = 2, idf = ln(5/(1+df)) + 1.
    _, index, _ = fitted([track(0, artist=None, tags="rock"),
                          track(1, artist=None, tags="rock, pop"),
                          track(2, artist=None, tags="pop"),
                          track(3, artist=None, tags="rock")])
    assert index.block_names == ["tags"]
    idf_rock, idf_pop = math.log(5 / 4) + 1, math.log(5 / 3) + 1
    norm = math.hypot(idf_rock, idf_pop)
    assert sim(index, 0, 1) == pytest.approx(idf_rock / norm, abs=1e-6)
    assert sim(index, 2, 1) == pytest.approx(idf_pop / norm, abs=1e-6)
    assert sim(index, 2, 1) > sim(index, 0, 1)
    assert sim(index, 0, 3) == pytest.approx(1.0, abs=1e-6)


def test_audio_block_is_the_cosine_of_z_scored_features():
    # energy z-scores: [-1.5, -0.5, 0.5, 1.5] / std; valence: constant 0.5 -> z = 0.
    rows = [track(i, artist=None, energy=e, valence=0.5) for i, e in enumerate([0.2, 0.4, 0.6, 0.8])]
    features, index, _ = fitted(rows)
    assert index.block_names == ["audio"]
    assert features.audio_columns_ == ["energy", "valence"]
    assert features.audio_mean_ == pytest.approx([0.5, 0.5])
    assert features.audio_scale_[0] == pytest.approx(math.sqrt(0.05))
    # With valence constant every audio vector lies on the energy axis: cosine is +-1.
    assert sim(index, 0, 1) == pytest.approx(1.0, abs=1e-6)
    assert sim(index, 0, 3) == pytest.approx(-1.0, abs=1e-6)


def test_era_similarity_follows_the_documented_gaussian():
    years = [1950, 1951, 1955, 1960, 1970, 1990, 2004, 2010, 2022]
    _, index, _ = fitted([track(i, artist=None, year=y) for i, y in enumerate(years)])
    assert index.block_names == ["era"]
    for i, yi in enumerate(years):
        expected = [math.exp(-(yj - yi) ** 2 / (4 * ERA_WIDTH ** 2)) for yj in years]
        assert index.similarity([i]) == pytest.approx(expected, abs=0.01)
        assert sim(index, i, i) == pytest.approx(1.0, abs=1e-6)
    assert sim(index, years.index(1960), years.index(1970)) == pytest.approx(0.5, abs=0.01)


def test_categorical_blocks_match_on_equal_values_only():
    rows = [track(0, artist=None, key=1, mode=1, time_signature=4),
            track(1, artist=None, key=1, mode=0, time_signature=4),
            track(2, artist=None, key=5, mode=0, time_signature=3),
            track(3, artist=None)]  # nothing known
    _, index, _ = fitted(rows)
    assert index.block_names == ["key", "mode", "time_signature"]
    w = reference_weights(["key", "mode", "time_signature"])
    assert index.similarity_by_block(0, 1) == pytest.approx(
        {"key": w["key"], "mode": 0.0, "time_signature": w["time_signature"]})
    assert sim(index, 1, 2) == pytest.approx(w["mode"], abs=1e-7)
    assert index.similarity([3]) == pytest.approx([0, 0, 0, 0])


def test_artist_and_genre_compare_case_and_space_insensitively():
    _, index, _ = fitted([track(0, artist="The Killers", genre="Rock"),
                          track(1, artist=" the killers", genre="rock "),
                          track(2, artist="Killers", genre="Rock and Roll")])
    assert index.block_names == ["artist", "genre"]
    assert sim(index, 0, 1) == pytest.approx(1.0, abs=1e-6)
    assert sim(index, 0, 2) == pytest.approx(0.0, abs=1e-7)


def test_a_missing_value_contributes_nothing():
    _, index, _ = fitted([track(0, artist="A", tags="rock", year=2000),
                          track(1, artist="A", tags="", year=None),
                          track(2, artist="B", tags="rock", year=2000)])
    w = reference_weights(["tags", "artist", "era"])
    parts = index.similarity_by_block(0, 1)
    assert parts["tags"] == 0.0 and parts["era"] == 0.0
    assert parts["artist"] == pytest.approx(w["artist"])
    assert sim(index, 1, 1) == pytest.approx(w["artist"], abs=1e-6)  # only its artist is known


# --------------------------------------------------------------------------
# Blocks and weights
# --------------------------------------------------------------------------

def test_a_block_absent_from_the_data_has_no_columns_and_no_weight():
    features, index, _ = fitted([track(0, artist="A", tags="rock, pop"),
                                 track(1, artist="B", tags="pop, jazz"),
                                 track(2, artist="A", tags="")])
    names = [b.name for b in features.blocks_]
    assert names == ["tags", "artist"]  # no audio, era, key, mode, time signature or genre
    tags, artist = features.blocks_
    assert (tags.start, tags.stop, artist.start, artist.stop) == (0, 3, 3, 5)
    assert features.n_features_ == 5 == index.to_csr().shape[1]
    assert (tags.weight, artist.weight) == pytest.approx((0.7, 0.3))
    assert features.feature_names() == ["tag=jazz", "tag=pop", "tag=rock", "artist=a", "artist=b"]
    assert index.absent_blocks == ["audio", "era", "genre", "key", "mode", "time_signature"]


def test_weights_renormalise_over_present_blocks_and_sum_to_one():
    features, _, _ = fitted(rich_catalogue())
    present = [b.name for b in features.blocks_]
    assert present == ["tags", "audio", "artist", "era", "genre", "key", "mode", "time_signature"]
    assert sum(b.weight for b in features.blocks_) == pytest.approx(1.0)
    for block in features.blocks_:
        assert block.weight == pytest.approx(reference_weights(present)[block.name])
    # Column ranges tile [0, n_features) in order.
    stops = [0] + [b.stop for b in features.blocks_]
    assert [b.start for b in features.blocks_] == stops[:-1]
    assert features.n_features_ == stops[-1] == len(features.feature_names())


def test_a_categorical_block_in_which_no_two_tracks_agree_is_left_out():
    # One artist per track (as in the Last.fm artist data) can never relate two tracks.
    features, _, _ = fitted([track(0, artist="A", tags="rock", key=1),
                                 track(1, artist="B", tags="rock, pop", key=1),
                                 track(2, artist="C", tags="pop", key=2)])
    assert [b.name for b in features.blocks_] == ["tags", "key"]
    assert features.vocabularies_["artist"] == []


def test_custom_block_weights_and_a_zero_weight_drops_the_block():
    rows = [track(0, artist="A", tags="rock", year=2000), track(1, artist="A", tags="pop", year=2000)]
    features, index, _ = fitted(rows, block_weights={"tags": 1.0, "artist": 3.0, "era": 0.0})
    assert [(b.name, b.weight) for b in features.blocks_] == [("tags", 0.25), ("artist", 0.75)]
    assert "era" in index.absent_blocks  # present in the data, weighted 0
    assert sim(index, 0, 1) == pytest.approx(0.75, abs=1e-6)


def test_an_unknown_block_weight_is_refused_by_name():
    with pytest.raises(InvalidParameterError, match="loudness_block"):
        ContentFeatures(block_weights={"tags": 1.0, "loudness_block": 1.0}).fit(catalogue_frame([track(0)]))


def test_transform_before_fit_is_refused():
    with pytest.raises(InvalidParameterError, match="fit"):
        ContentFeatures().transform(catalogue_frame([track(0)]))


def test_transform_uses_what_fit_learned_and_ignores_unseen_values():
    features, _, _ = fitted([track(0, artist="A", tags="rock"), track(1, artist="B", tags="pop"),
                             track(2, artist="A", tags="pop")])
    new = catalogue_frame([track(5, artist="Z", tags="rock, polka"), track(6, artist="B", tags="polka")])
    matrix = features.transform(new)
    assert matrix.shape == (2, features.n_features_)
    dense = matrix.toarray()
    names = features.feature_names()
    assert dense[0, names.index("tag=rock")] > 0 and dense[0, names.index("tag=pop")] == 0
    assert not dense[0, names.index("artist=a"):].any()          # unseen artist: zeros
    assert dense[1, names.index("artist=b")] == pytest.approx(math.sqrt(0.3))
    assert not dense[1, :names.index("artist=a")].any()           # only an unseen tag: zeros


# --------------------------------------------------------------------------
# The exact similarity against the documented formula and the matrix
# --------------------------------------------------------------------------

def test_similarity_equals_the_documented_formula_block_by_block():
    _, index, frame = fitted(rich_catalogue())
    cosines = reference_block_cosines(frame)
    assert sorted(cosines) == sorted(index.block_names)
    weights = reference_weights(index.block_names)
    expected_total = sum(weights[b] * cosines[b] for b in cosines)
    n = len(frame)
    for i in range(n):
        # era is compared against the documented Gaussian it approximates (to 0.01).
        assert index.similarity([i]) == pytest.approx(expected_total[i], abs=0.01 * weights["era"] + 1e-6)
        for j in range(n):
            parts = index.similarity_by_block(i, j)
            for block, value in parts.items():
                tolerance = 0.01 * weights["era"] if block == "era" else 1e-6
                assert value == pytest.approx(weights[block] * cosines[block][i, j], abs=tolerance), (i, j, block)


def test_similarity_equals_the_content_matrix_product():
    _, index, frame = fitted(rich_catalogue())
    X = index.to_csr()
    assert X.shape == (len(frame), index.blocks[-1].stop)
    assert X.dtype == np.float32
    gram = (X @ X.T).toarray()
    for i in range(len(frame)):
        assert index.similarity([i]) == pytest.approx(gram[i], abs=1e-6)
    seeds, weights = [0, 4, 9], np.array([0.5, 0.3, 0.2])
    profile = X[seeds].T @ weights
    assert index.similarity(seeds, weights) == pytest.approx(X @ profile, abs=1e-6)
    # Without weights every seed counts once.
    assert index.similarity(seeds) == pytest.approx(gram[seeds].sum(axis=0), abs=1e-6)


def test_block_split_sums_to_the_total_for_every_pair():
    _, index, frame = fitted(rich_catalogue())
    for i in range(len(frame)):
        total = index.similarity([i])
        for j in range(len(frame)):
            parts = index.similarity_by_block(i, j)
            assert list(parts) == index.block_names
            assert sum(parts.values()) == pytest.approx(total[j], abs=1e-6)


def test_similarity_is_bounded_and_complete_tracks_are_similar_to_themselves():
    _, index, frame = fitted(rich_catalogue())
    for i in range(len(frame)):
        values = index.similarity([i])
        assert np.all(values <= 1 + 1e-6) and np.all(values >= -1 - 1e-6)
    for complete in (0, 1, 2, 4, 5, 6):  # every block known
        assert sim(index, complete, complete) == pytest.approx(1.0, abs=1e-6)


def test_the_indie_rock_tracks_are_each_others_nearest_neighbours():
    _, index, _ = fitted(small_catalogue())
    values = index.similarity([0])
    values[0] = -np.inf
    assert set(np.argsort(-values)[:3]) == {1, 2, 7}
    values = index.similarity([4])
    values[4] = -np.inf
    assert set(np.argsort(-values)[:3]) == {5, 6, 8}


def test_the_index_survives_a_round_trip_through_flat_arrays():
    _, index, frame = fitted(rich_catalogue())
    arrays = index.to_arrays()
    assert all(isinstance(a, np.ndarray) and not a.dtype.hasobject for a in arrays.values())
    again = ContentIndex.from_arrays(index.blocks, len(frame), arrays)
    for i in range(len(frame)):
        assert again.similarity([i]) == pytest.approx(index.similarity([i]), abs=0)
    assert (again.to_csr() != index.to_csr()).nnz == 0
