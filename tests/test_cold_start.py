"""Specification of ``engine.cold_start``: the content neighbours that score tracks nobody has played.

The neighbours of a cold track are the ``m`` tracks with listeners of highest
content similarity (ties: catalogue order), weighted by their clipped
similarity; a deeper search on more data gives exactly the same table as a
fresh one; estimates and expanded seed profiles follow the formula.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.cold_start import ContentNeighbours
from engine.content import ContentFeatures
from engine.errors import InvalidParameterError
from tests.helpers import catalogue_frame


@pytest.fixture(scope="module")
def catalogue():
    rng = np.random.default_rng(3)
    frame = catalogue_frame([{"track_id": f"T{n:03d}", "name": f"Song {n}", "artist": f"A{n % 7}",
                              "tags": f"g{n % 5}, x{n % 3}", "year": 1980 + n % 30,
                              "energy": float(rng.random()), "valence": float(rng.random())}
                             for n in range(80)])
    features = ContentFeatures().fit(frame)
    X = features.transform(frame).astype(np.float64)
    listeners = rng.integers(0, 4, size=80) * (rng.random(80) > 0.3)
    return features.transform_index(frame), (X @ X.T).toarray(), listeners


def test_each_cold_track_gets_its_most_similar_tracks_with_listeners(catalogue):
    content, similarity, listeners = catalogue
    table = ContentNeighbours(5, n_threads=2).fit(content, listeners)
    warm = np.flatnonzero(listeners > 0)
    assert table.rows_.tolist() == np.flatnonzero(listeners == 0).tolist()
    for position, track in enumerate(table.rows_):
        expected = sorted(warm, key=lambda n: (-round(similarity[track, n], 9), n))[:5]
        assert sorted(table.neighbours_[position].tolist()) == sorted(expected)
        positive = np.maximum(similarity[track, table.neighbours_[position]], 0)
        np.testing.assert_allclose(table.weights_[position], positive / positive.sum(), rtol=1e-5)


def test_a_deeper_search_on_more_data_cuts_to_the_same_table(catalogue):
    content, _, listeners = catalogue
    rng = np.random.default_rng(0)
    fewer = listeners * (rng.random(80) > 0.4)  # a split took some tracks' listening away
    deeper = ContentNeighbours(15).fit(content, np.maximum(listeners, fewer),
                                       tracks=np.flatnonzero((listeners == 0) | (fewer == 0)))
    for split in (listeners, fewer):
        fresh = ContentNeighbours(4).fit(content, split)
        cut = ContentNeighbours(4).fit(content, split, candidates=deeper)
        assert np.array_equal(fresh.rows_, cut.rows_)
        assert np.array_equal(fresh.neighbours_, cut.neighbours_)
        assert np.array_equal(fresh.weights_, cut.weights_)
    with pytest.raises(InvalidParameterError, match="deeper"):
        ContentNeighbours(20).fit(content, listeners, candidates=deeper)


def test_estimates_and_expanded_seeds_follow_the_formula(catalogue):
    content, _, listeners = catalogue
    table = ContentNeighbours(3).fit(content, listeners)
    collab = np.where(listeners > 0, np.arange(80, dtype=float), 0.0)
    estimated = table.estimate(collab.copy())
    for position, track in enumerate(table.rows_):
        expected = table.weights_[position].astype(float) @ collab[table.neighbours_[position]]
        assert estimated[track] == pytest.approx(expected)
    warm_values = listeners > 0
    assert np.array_equal(estimated[warm_values], collab[warm_values])  # measured scores untouched
    block = np.stack([collab, 2 * collab], axis=1)
    np.testing.assert_allclose(table.estimate_columns(block.copy(), block=1)[:, 1], 2 * estimated)
    cold, warm = int(table.rows_[0]), int(np.flatnonzero(listeners > 0)[0])
    seeds, weights = table.expand(np.array([cold, warm]), np.array([0.5, 0.5]))
    neighbours, omega = table.neighbours_of(cold)
    assert seeds.tolist() == [warm] + neighbours.tolist()
    np.testing.assert_allclose(weights, [0.5, *(0.5 * omega)])
    assert table.is_cold([cold, warm]).tolist() == [True, False]


def test_a_track_unlike_every_played_track_scores_zero(catalogue):
    content, _, listeners = catalogue
    lonely = ContentNeighbours(3).fit(content, np.where(np.arange(80) == 0, 1, 0))
    # One track with listeners: every cold track's single neighbour is it, weight 1 where similar at all.
    assert set(lonely.neighbours_[:, 0].tolist()) == {0}
    assert set(np.round(lonely.weights_.sum(axis=1), 6).tolist()) <= {0.0, 1.0}


def test_listeners_of_the_wrong_shape_are_refused(catalogue):
    content, _, _ = catalogue
    with pytest.raises(InvalidParameterError, match="listeners"):
        ContentNeighbours().fit(content, np.ones(3))
    with pytest.raises(InvalidParameterError, match="n_neighbours"):
        ContentNeighbours(0)
