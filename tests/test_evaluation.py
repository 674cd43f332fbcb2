"""Specification of the offline evaluation (``engine.evaluation``, ``build.evaluate``).

- ranking metrics against values worked out by hand;
- the split: seeded, deterministic, leak-free (no held-out pair in training, and
  no tag a test listener gave a held-out track in the rebuilt content);
- the evaluation's ranking is the engine's ranking (``HybridScorer``);
- the collaborative options the comparison adds (``engine.collaborative``)
  against dense formulas;
- the stage end to end on generated demo data, through ``build.refresh``.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from build import demo_data
from build.evaluate import CANDIDATES, choose_defaults, leak_free_tags, main as evaluate_main, settle_defaults
from build.refresh import DEFAULT_CONFIG, refresh
from dashboard.views import evaluation_rows, load_evaluation
from engine import Recommender
from engine.cold_start import ContentNeighbours
from engine.collaborative import CollaborativeModel, bm25_weight, log_weight
from engine.errors import InvalidParameterError
from engine.evaluation import (
    ALPHA_GRID, Split, TruncatedNeighbours, catalogue_coverage, compare_methods,
    hit_rate_at_k, history_weights, intra_list_diversity, map_at_k, ndcg_at_k, novelty,
    new_release_split, precision_at_k, rank_hybrid, rank_popular, ranking_metrics, recall_at_k, train_test_split)
from engine.hybrid import HybridScorer
from tests.helpers import catalogue_frame, tid, track, uid, write_raw

# --------------------------------------------------------------------------
# Metrics, by hand
# --------------------------------------------------------------------------
# Two listeners, ten tracks, top-3 lists.
#   listener 0: list [1, 2, 3], relevant {2, 9}: one hit, at rank 2
#   listener 1: list [4, 5, 6], relevant {7}:    no hit
RECOMMENDED = np.array([[1, 2, 3], [4, 5, 6]])
RELEVANT = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 0, 1], [2, 9, 7])), shape=(2, 10))
L3 = math.log2(3)
# Training listeners per track (8 listeners in all): -log2(p) of tracks 1..6 is 1, 2, 3, 0, 1, 2.
POPULARITY = np.array([0, 4, 2, 1, 8, 4, 2, 0, 0, 0])
# Tracks 1 and 2 have the same content, 3..6 are pairwise unrelated.
FEATURES = sp.csr_matrix(np.array([[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [2, 0, 0, 0, 0], [0, 1, 0, 0, 0],
                                   [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0],
                                   [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=float))

HAND = {
    "precision": (1 / 3 + 0) / 2,
    "recall": (1 / 2 + 0) / 2,
    # DCG = 1/log2(3); ideal DCG with two relevant tracks = 1 + 1/log2(3).
    "ndcg": ((1 / L3) / (1 + 1 / L3) + 0) / 2,
    # AP@3 = precision@2 * 1 / min(3, 2).
    "map": ((1 / 2) / 2 + 0) / 2,
    "hit_rate": 1 / 2,
    "coverage": 6 / 10,
    "novelty": (1 + 2 + 3 + 0 + 1 + 2) / 6,
    # list 0: pairs (1,2) cosine 1, (1,3) and (2,3) 0 -> distance 2/3; list 1: all unrelated -> 1.
    "diversity": (2 / 3 + 1) / 2,
    "new_share": 0.0,  # every listed track has training listeners
}


def test_ranking_metrics_match_the_hand_computed_values():
    metrics = ranking_metrics(RECOMMENDED, RELEVANT, 3, popularity=POPULARITY, n_listeners=8,
                              item_features=FEATURES)
    assert metrics.pop("users") == 2
    assert metrics == pytest.approx(HAND)


def test_new_share_counts_listed_tracks_nobody_played_in_training():
    never_played_3_and_5 = np.where(np.isin(np.arange(10), [3, 5]), 0, POPULARITY)
    metrics = ranking_metrics(RECOMMENDED, RELEVANT, 3, popularity=never_played_3_and_5, n_listeners=8)
    assert metrics["new_share"] == pytest.approx(2 / 6)


def test_each_wrapper_returns_its_metric():
    assert precision_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(HAND["precision"])
    assert recall_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(HAND["recall"])
    assert ndcg_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(HAND["ndcg"])
    assert map_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(HAND["map"])
    assert hit_rate_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(HAND["hit_rate"])
    assert catalogue_coverage(RECOMMENDED, RELEVANT, 3) == pytest.approx(HAND["coverage"])
    assert novelty(RECOMMENDED, RELEVANT, POPULARITY, 3, n_listeners=8) == pytest.approx(HAND["novelty"])
    assert intra_list_diversity(RECOMMENDED, RELEVANT, FEATURES, 3) == pytest.approx(HAND["diversity"])


def test_only_the_first_k_recommendations_count():
    assert precision_at_k(RECOMMENDED, RELEVANT, 1) == 0.0  # track 2 is at rank 2
    longer = np.array([[1, 2, 3, 9], [4, 5, 6, 7]])
    assert recall_at_k(longer, RELEVANT, 4) == pytest.approx((1.0 + 1.0) / 2)
    assert recall_at_k(longer, RELEVANT, 3) == pytest.approx(HAND["recall"])


def test_a_perfect_ranking_scores_one():
    perfect = np.array([[9, 2, 0], [7, 0, 1]])
    metrics = ranking_metrics(perfect, RELEVANT, 3)
    assert metrics["ndcg"] == pytest.approx(1.0)
    assert metrics["map"] == pytest.approx(1.0)
    assert metrics["recall"] == pytest.approx(1.0)
    assert metrics["hit_rate"] == 1.0


def test_padding_never_counts_and_listeners_without_relevant_tracks_are_skipped():
    padded = np.array([[2, -1, -1], [4, 5, 6], [7, 8, 9]])
    relevant = sp.vstack([RELEVANT, sp.csr_matrix((1, 10))])  # listener 2 has nothing held out
    metrics = ranking_metrics(padded, relevant, 3)
    assert metrics["users"] == 2
    assert metrics["precision"] == pytest.approx((1 / 3) / 2)
    assert metrics["ndcg"] == pytest.approx((1 / (1 + 1 / L3)) / 2)
    assert metrics["coverage"] == pytest.approx(4 / 10)  # tracks 2, 4, 5, 6


def test_metrics_reject_inconsistent_shapes():
    with pytest.raises(InvalidParameterError, match="rows"):
        ranking_metrics(RECOMMENDED[:1], RELEVANT, 3)
    with pytest.raises(InvalidParameterError, match="2-D"):
        ranking_metrics(np.array([1, 2, 3]), RELEVANT, 3)


# --------------------------------------------------------------------------
# The split
# --------------------------------------------------------------------------
def random_plays(n_tracks=40, n_users=30, density=0.3, seed=0) -> sp.csr_matrix:
    """Track x user play counts; listener u has played about density * n_tracks tracks."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_tracks, n_users)) < density) * rng.integers(1, 50, (n_tracks, n_users))
    dense[:, 0] = 0
    dense[:3, 0] = 7  # listener 0: three tracks, too few to be tested
    return sp.csr_matrix(dense.astype(np.float32))


def test_the_split_is_deterministic_for_a_seed():
    plays = random_plays()
    a, b = train_test_split(plays, seed=3), train_test_split(plays, seed=3)
    assert (a.train != b.train).nnz == 0 and (a.test != b.test).nnz == 0
    assert np.array_equal(a.test_users, b.test_users)
    assert (train_test_split(plays, seed=4).test != a.test).nnz > 0


def test_the_split_holds_out_a_fifth_of_each_active_listener_and_never_trains_on_it():
    plays = random_plays()
    split = train_test_split(plays, seed=0)
    per_user = np.diff(plays.T.tocsr().indptr)
    held = np.diff(split.test.indptr)
    for user, n in enumerate(per_user):
        expected = max(1, math.floor(0.2 * n + 0.5)) if n >= 5 else 0
        assert held[user] == expected, user
    assert np.array_equal(split.test_users, np.flatnonzero(per_user >= 5))
    train_by_user = split.train.T.tocsr()
    # disjoint, and together exactly the plays (counts kept in training)
    assert split.test.multiply(train_by_user).nnz == 0
    union = (train_by_user > 0).astype(int) + (split.test > 0).astype(int)
    assert (union != (plays.T > 0).astype(int)).nnz == 0
    kept = plays.T.tocsr().multiply(train_by_user > 0)
    assert np.allclose(kept.toarray(), train_by_user.toarray())


def test_is_held_out_names_exactly_the_held_out_pairs():
    split = train_test_split(random_plays(), seed=1)
    test = split.test.tocoo()
    assert split.is_held_out(test.row, test.col).all()
    train = split.train.tocoo()  # (track, user)
    assert not split.is_held_out(train.col, train.row).any()
    assert not split.is_held_out([-1, 0], [0, -1]).any()  # unknown ids are never held out


def test_the_split_checks_its_parameters():
    with pytest.raises(InvalidParameterError, match="test_fraction"):
        train_test_split(random_plays(), test_fraction=1.5)
    with pytest.raises(InvalidParameterError, match="min_items"):
        train_test_split(random_plays(), min_items=0)


def test_tags_a_listener_gave_a_held_out_track_are_left_out_of_the_content():
    # listener uid(1) has track 0 held out and was the only one to tag it "secret".
    tracks = catalogue_frame([track(0, tags="rock, secret"), track(1, tags="rock"), track(2, tags="jazz")])
    user_ids = np.array([uid(0), uid(1)], dtype=object)
    user_tags = pd.DataFrame({"user_id": [uid(0), uid(1), uid(1), uid(0), uid(1), uid(0)],
                              "track_id": [tid(0), tid(0), tid(0), tid(1), tid(1), tid(2)],
                              "tag": ["rock", "rock", "secret", "rock", "rock", "jazz"]})
    test = sp.csr_matrix(([1.0], ([1], [0])), shape=(2, 3))
    split = Split(train=sp.csr_matrix((3, 2)), test=test, test_users=np.array([1]), seed=0,
                  test_fraction=0.2, min_items=5)
    tags, report = leak_free_tags(tracks, user_ids, user_tags, split)
    assert tags.tolist() == ["rock", "rock", "jazz"]
    assert report["dropped_held_out"] == 2 and report["tracks_changed"] == 1
    nothing_held = Split(split.train, sp.csr_matrix((2, 3)), np.array([], dtype=np.int64), 0, 0.2, 5)
    same, _ = leak_free_tags(tracks, user_ids, user_tags, nothing_held)
    assert same.tolist() == ["rock, secret", "rock", "jazz"]  # the catalogue's own order is kept


# --------------------------------------------------------------------------
# The evaluation ranks as the engine ranks
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    """A generated demo catalogue small enough to rank every listener both ways: (split, content)."""
    from build.features import build_content
    from build.ingest import read_catalogue, read_listening
    from build.interactions import play_matrix

    directory = tmp_path_factory.mktemp("small-world")
    scale = demo_data.Scale(n_tracks=400, n_artists=80, n_users=300, n_listens=6000, n_warm_tracks=300)
    demo_data.write(demo_data.generate(scale, seed=7), directory)
    tracks, _ = read_catalogue(directory / "Music Info.csv")
    listening = read_listening(directory / "User Listening History.csv", pd.Index(tracks["track_id"]))
    split = train_test_split(play_matrix(listening, len(tracks)), seed=0)
    _, content = build_content(tracks)
    return split, content


@pytest.mark.parametrize("params", [CANDIDATES["cosine, bm25"], CANDIDATES["rp3beta tuned, beta 0.4, shift 10"]])
def test_rank_hybrid_gives_the_engines_lists_at_every_alpha(small_world, params):
    split, content = small_world
    model = CollaborativeModel(**params).fit(split.train)
    users = split.test_users[:60]
    listeners = np.diff(split.train.indptr)
    cold = ContentNeighbours().fit(content, listeners)
    assert len(cold.rows_) > 0  # tracks nobody played in training are estimated on both sides
    lists = rank_hybrid(content, {"m": model}, split, users, {"m": ALPHA_GRID}, 10, block=7,
                        cold=cold)
    scorer = HybridScorer(content, model, listeners, cold=cold)
    by_user = split.train.T.tocsr()
    for row, user in enumerate(users):
        lo, hi = by_user.indptr[user], by_user.indptr[user + 1]
        raw = scorer.raw_scores(by_user.indices[lo:hi].astype(np.int64), history_weights(by_user.data[lo:hi]))
        for alpha in ALPHA_GRID:
            assert lists[("m", alpha)][row].tolist() == scorer.top(raw, alpha, 10).tolist(), (user, alpha)


def test_the_batched_collaborative_scores_are_the_engines_sums(small_world):
    """Gathered, or through shared dense rows, a listener's column is ``CollaborativeModel.scores``."""
    from engine.evaluation.ranking import _collab_rows, _profiles, _SharedRows

    split, _ = small_world
    model = CollaborativeModel(**CANDIDATES["rp3beta tuned, beta 0.45, shift 20, shrink 0.5"]).fit(split.train)
    users = split.test_users[:40]
    profiles = _profiles(split.train.T.tocsr(), users)
    by_scores = np.array([model.scores(profiles[u].indices, profiles[u].data) for u in range(len(users))])
    shared = _SharedRows(model, profiles)
    assert len(shared.rows) > 0  # popular seeds are shared here, so both paths run
    gathered = _SharedRows(model, profiles, max_bytes=0)
    assert len(gathered.rows) == 0
    for rows in (shared, gathered):
        assert np.allclose(_collab_rows(model, profiles, rows, None), by_scores, rtol=1e-12, atol=1e-15)


def test_a_neighbourhood_as_large_as_the_catalogue_changes_nothing(small_world):
    split, content = small_world
    model = CollaborativeModel(weighting="log", similarity="cosine").fit(split.train)
    users = split.test_users[:50]
    exact = rank_hybrid(content, {"m": model}, split, users, {"m": (0.0,)}, 10)[("m", 0.0)]
    everything = TruncatedNeighbours(model, split.train.shape[0]).fit()
    cut = rank_hybrid(content, {"t": everything}, split, users, {"t": (0.0,)}, 10)[("t", 0.0)]
    assert np.array_equal(exact, cut)


def test_rank_popular_lists_the_most_played_unheard_tracks(small_world):
    split, _ = small_world
    listeners = np.diff(split.train.indptr)
    user = split.test_users[0]
    heard = set(split.train.T.tocsr()[user].indices)
    expected = [t for t in np.lexsort((np.arange(len(listeners)), -listeners)) if t not in heard][:5]
    assert rank_popular(split, [user], 5)[0].tolist() == expected


def test_truncated_neighbours_keep_each_seeds_best_tracks(small_world):
    split, _ = small_world
    model = CollaborativeModel(weighting="log", similarity="cosine").fit(split.train)
    exact = (model.left_ @ model.right_).toarray()
    everything = TruncatedNeighbours(model, split.train.shape[0]).fit()
    assert np.allclose(everything.similarity_.toarray(), exact, atol=1e-6)
    one = TruncatedNeighbours(model, 1).fit().similarity_.toarray()
    for i in range(exact.shape[0]):
        if exact[i].any():
            assert np.count_nonzero(one[i]) == 1 and one[i].max() == pytest.approx(exact[i].max())


def test_choose_defaults_takes_the_best_ndcg_that_keeps_enough_coverage():
    def entry(name, alpha, ndcg, coverage):
        return {"name": name, "params": {"weighting": name}, "alpha": alpha, "k": 10,
                "metrics": {"ndcg": ndcg, "coverage": coverage}}
    entries = [entry("a", 0.0, 0.30, 0.05), entry("b", 0.2, 0.25, 0.12), entry("b", 0.3, 0.24, 0.20)]
    chosen = choose_defaults(entries, 10, min_coverage=0.10)
    assert (chosen["name"], chosen["alpha"]) == ("b", 0.2) and "coverage@10 >= 0.1" in chosen["rule"]
    fallback = choose_defaults(entries, 10, min_coverage=0.5)
    assert (fallback["name"], fallback["alpha"]) == ("a", 0.0) and "no measured pair" in fallback["rule"]


def test_choose_defaults_serves_new_releases_among_pairs_as_accurate_as_the_best():
    base = np.random.default_rng(0).random(400)

    def entry(alpha, shift, noise, new_ndcg):
        by_listener = base + shift + noise * np.resize([1.0, -1.0], 400)  # paired spread ``noise``
        return {"name": "m", "params": {}, "alpha": alpha, "k": 10, "ndcg_by_listener": by_listener,
                "metrics": {"ndcg": float(by_listener.mean()), "coverage": 0.2},
                "new_release": {10: {"ndcg": new_ndcg}, 50: {"ndcg": new_ndcg, "recall": new_ndcg}}}
    best = entry(0.2, 0.0, 0.0, 0.01)
    # 0.3: 0.001 lower on average but the paired noise is 0.05 -> within one standard error (0.0025).
    close = entry(0.3, -0.001, 0.05, 0.05)
    # 0.6: clearly worse for listeners with a history, although best for new releases.
    worse = entry(0.6, -0.05, 0.05, 0.09)
    chosen = choose_defaults([best, close, worse], 10)
    assert chosen["alpha"] == 0.3 and "new-release ndcg@10" in chosen["rule"]
    assert chosen["new_release"]["10"]["ndcg"] == 0.05
    # Without a new-release measurement the best warm ndcg wins.
    plain = [{key: value for key, value in e.items() if key != "new_release"} for e in (best, close, worse)]
    assert choose_defaults(plain, 10)["alpha"] == 0.2


def test_the_new_release_split_holds_out_all_listening_of_a_seeded_share_of_tracks():
    plays = sp.random(200, 300, density=0.08, format="csr", random_state=1, dtype=np.float32)
    plays.data[:] = 1 + np.floor(plays.data * 10)
    split = new_release_split(plays, track_share=0.1, min_listeners=5, seed=3)
    listeners = np.diff(plays.indptr)
    held = split.held_out_tracks
    assert len(held) == round(0.1 * np.count_nonzero(listeners >= 5)) and (listeners[held] >= 5).all()
    train_listeners = np.diff(split.train.indptr)
    assert (train_listeners[held] == 0).all()  # nobody played them in training
    others = np.setdiff1d(np.arange(200), held)
    assert (train_listeners[others] == listeners[others]).all()  # everything else untouched
    assert split.test.nnz == listeners[held].sum() and set(split.test.indices) <= set(held.tolist())
    has_history = np.diff(split.train.T.tocsr().indptr) > 0
    assert set(split.test_users) == set(np.flatnonzero((np.diff(split.test.indptr) > 0) & has_history))
    again = new_release_split(plays, track_share=0.1, min_listeners=5, seed=3)
    assert np.array_equal(again.held_out_tracks, held)
    assert not np.array_equal(new_release_split(plays, 0.1, 5, seed=4).held_out_tracks, held)
    assert split.summary()["held_out_tracks"] == len(held)
    with pytest.raises(InvalidParameterError, match="track_share"):
        new_release_split(plays, track_share=1.5)
    with pytest.raises(InvalidParameterError, match="listeners"):
        new_release_split(plays, min_listeners=10_000)


def test_a_never_played_track_with_its_neighbours_tags_is_found_for_their_listeners():
    """Hand-checked: tracks 0-3 are "shoegaze" and played by listeners 0-5; track 4 is new, also
    shoegaze, never played. Listeners who like the shoegaze tracks get it near the top at a blend."""
    from build.features import build_content

    rows = [track(n, tags="shoegaze, dream pop" if n < 5 else "country, banjo", artist=f"A{n}") for n in range(12)]
    frame = catalogue_frame(rows)
    plays = np.zeros((12, 12), dtype=np.float32)
    plays[0:4, 0:6] = 3.0          # the shoegaze fans
    plays[5:9, 6:12] = 2.0         # the country fans ...
    plays[9:12, 9:12] = 2.0        # ... half of whom also play 9-11
    plays[0, 6] = 1.0              # one crossover play
    split = Split(train=sp.csr_matrix(plays), test=sp.csr_matrix((12, 12), dtype=np.float32),
                  test_users=np.arange(12), seed=0, test_fraction=0.2, min_items=1)
    _, content = build_content(frame)
    model = CollaborativeModel(**CANDIDATES["cosine, bm25"]).fit(split.train)
    cold = ContentNeighbours(n_neighbours=3).fit(content, np.diff(split.train.indptr))
    assert cold.rows_.tolist() == [4]
    neighbours, _ = cold.neighbours_of(4)
    assert set(neighbours.tolist()) <= {0, 1, 2, 3}
    # Listener 1 has played 0-3 (all the shoegaze there is): the new one comes first at alpha 0.3,
    # and not for country fan 7, who gets the country tracks 9-11 first.
    lists = rank_hybrid(content, {"m": model}, split, np.array([1, 7]), {"m": (0.0, 0.3)}, 3, cold=cold)
    assert lists[("m", 0.3)][0, 0] == 4 and lists[("m", 0.0)][0, 0] == 4
    assert sorted(lists[("m", 0.3)][1].tolist()) == [9, 10, 11]
    # Without the neighbour table it has no listening score and never comes first.
    plain = rank_hybrid(content, {"m": model}, split, np.array([1]), {"m": (0.0,)}, 3)
    assert 4 not in plain[("m", 0.0)][0].tolist()


# --------------------------------------------------------------------------
# Collaborative options the comparison measures (dense formulas)
# --------------------------------------------------------------------------
PLAYS = np.array([[1, 3, 0, 0, 0], [2, 0, 0, 0, 1], [0, 1, 2, 3, 0], [0, 0, 0, 2, 2], [0, 0, 0, 0, 0],
                  [0, 0, 1, 0, 3]], dtype=float)


def dense_rp3beta(left_w, right_w, plays, beta, shift=0.0, shrink=0.0, exponent=1.0):
    listeners = (plays > 0).sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_user = np.nan_to_num(left_w / left_w.sum(axis=1, keepdims=True)) ** exponent
        p_track = np.nan_to_num(right_w.T / right_w.T.sum(axis=1, keepdims=True)) ** exponent
        confidence = np.nan_to_num(listeners / (listeners + shrink))
        penalty = np.nan_to_num(1.0 / (listeners + shift) ** beta, posinf=0.0)
    return (confidence[:, None] * p_user) @ p_track * penalty[None, :]


@pytest.mark.parametrize("kw", [dict(beta=0.4), dict(beta=0.45, popularity_shift=20.0, seed_shrink=0.5),
                                dict(beta=0.3, exponent=0.8)])
def test_rp3beta_options_follow_their_formula(kw):
    model = CollaborativeModel(similarity="rp3beta", weighting="log", right_weighting="bm25", k1=5.0,
                               **kw).fit(sp.csr_matrix(PLAYS))
    left_w = log_weight(sp.csr_matrix(PLAYS)).toarray().astype(float)
    right_w = bm25_weight(sp.csr_matrix(PLAYS), k1=5.0).toarray().astype(float)
    expected = dense_rp3beta(left_w, right_w, PLAYS, kw["beta"], kw.get("popularity_shift", 0.0),
                             kw.get("seed_shrink", 0.0), kw.get("exponent", 1.0))
    got = np.array([model.scores([i]) for i in range(PLAYS.shape[0])])
    assert np.allclose(got, expected, atol=1e-6)
    # The right matrix keeps the play pattern: user histories are read from it.
    assert ((model.right_ != 0) != (sp.csr_matrix(PLAYS.T) != 0)).nnz == 0


def test_asymmetric_cosine_follows_its_formula_and_half_is_the_plain_cosine():
    w = log_weight(sp.csr_matrix(PLAYS)).toarray().astype(float)
    norms2 = (w * w).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.nan_to_num((w @ w.T) / (norms2[:, None] ** 0.7 * norms2[None, :] ** 0.3))
    model = CollaborativeModel(similarity="cosine", weighting="log", asymmetry=0.7).fit(sp.csr_matrix(PLAYS))
    assert np.allclose([model.scores([i]) for i in range(6)], expected, atol=1e-6)
    plain = CollaborativeModel(similarity="cosine", weighting="log").fit(sp.csr_matrix(PLAYS))
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = np.nan_to_num((w @ w.T) / np.sqrt(norms2[:, None] * norms2[None, :]))
    assert np.allclose([plain.scores([i]) for i in range(6)], cosine, atol=1e-6)


def test_an_unknown_right_weighting_is_refused_by_name():
    with pytest.raises(InvalidParameterError, match="right_weighting"):
        CollaborativeModel(similarity="rp3beta", right_weighting="sqrt").fit(sp.csr_matrix(PLAYS))


# --------------------------------------------------------------------------
# The stage end to end on demo data
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_raw(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo-raw")
    scale = demo_data.Scale(n_tracks=600, n_artists=120, n_users=800, n_listens=16000, n_warm_tracks=450)
    demo_data.write(demo_data.generate(scale, seed=11), directory)
    return directory


@pytest.fixture(scope="module")
def evaluated_build(demo_raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-artifacts")
    refresh(demo_raw, out, evaluate=True, eval_listeners=300)
    return Recommender.load(out)


def test_a_build_with_evaluation_writes_evaluation_json_and_takes_its_defaults(evaluated_build):
    rec = evaluated_build
    evaluation = load_evaluation(rec.directory, rec.manifest)  # checked against the manifest
    manifest = rec.manifest
    assert manifest["extra_files"]["evaluation.json"]["bytes"] > 0
    assert manifest["defaults"]["chosen_by"] == "evaluation"
    assert manifest["collaborative"]["chosen_by"] == "evaluation"
    chosen = evaluation["chosen"]
    assert rec.default_alpha == chosen["alpha"]
    assert manifest["collaborative"]["params"] == chosen["collaborative"]
    assert manifest["evaluation"]["evaluated_listeners"] == 300 and manifest["evaluation"]["sampled"]
    # Every method, every alpha of the grid, both cut-offs, every metric.
    runs = {(r["method"], r["alpha"], r["k"]) for r in evaluation["runs"]}
    for k in (10, 20):
        assert {("popularity", None, k), ("content", None, k), ("collaborative", None, k)} <= runs
        assert {("hybrid", a, k) for a in ALPHA_GRID} <= runs
    for run in evaluation["runs"] + evaluation["variants"]:
        m = run["metrics"]
        assert set(m) == {"precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty", "new_share",
                          "diversity"}
        assert all(0.0 <= m[name] <= 1.0 for name in m if name not in ("novelty", "diversity"))
    names = {v["name"] for v in evaluation["variants"]} | {chosen["name"]}
    assert set(CANDIDATES) <= names and any("neighbours" in n for n in names)
    # The demo listeners follow their styles: every personalised method beats popularity.
    ndcg = {(r["method"], r["alpha"]): r["metrics"]["ndcg"] for r in evaluation["runs"] if r["k"] == 10}
    assert ndcg[("collaborative", None)] > ndcg[("popularity", None)]
    assert ndcg[("content", None)] > ndcg[("popularity", None)]
    # The dashboard reads it.
    assert {"ndcg@10", "coverage@20"} <= {row["metric"] for row in evaluation_rows(evaluation)}
    # The new-release protocol ran beside it, on the chosen model's alpha grid, and the rule used it.
    new = evaluation["new_release"]
    assert new["protocol"]["protocol"] == "new_release" and new["protocol"]["held_out_tracks"] > 0
    assert {(r["alpha"], r["k"]) for r in new["runs"]} == {(a, k) for a in ALPHA_GRID for k in (10, 50)}
    assert "new-release ndcg@10" in chosen["rule"] and set(chosen["new_release"]) == {"10", "50"}
    at = {(r["alpha"], r["k"]): r["metrics"] for r in new["runs"]}
    assert at[(chosen["alpha"], 10)]["ndcg"] == pytest.approx(chosen["new_release"]["10"]["ndcg"])
    # New releases are found: far above what hiding them (no listening score for them at all) would give.
    assert at[(chosen["alpha"], 50)]["recall"] > 0.05 and at[(chosen["alpha"], 10)]["new_share"] > 0


def test_the_served_neighbour_table_cut_from_the_evaluations_search_is_a_fresh_search(evaluated_build):
    rec = evaluated_build
    served = rec.scorer.cold
    fresh = ContentNeighbours().fit(rec.scorer.content, rec.tracks["n_listeners"].to_numpy())
    assert np.array_equal(served.rows_, fresh.rows_) and len(fresh.rows_) > 0
    assert np.array_equal(served.neighbours_, fresh.neighbours_)
    assert np.array_equal(served.weights_, fresh.weights_)


def test_the_command_line_writes_the_same_evaluation(demo_raw, evaluated_build, tmp_path):
    out = tmp_path / "evaluation.json"
    assert evaluate_main(["--raw", str(demo_raw), "--out", str(out), "--max-listeners", "300"]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["runs"] == load_evaluation(evaluated_build.directory)["runs"]


def test_explicit_settings_win_over_the_evaluation():
    evaluation = {"chosen": {"name": "x", "alpha": 0.3, "k": 10, "rule": "r", "metrics": {"ndcg": 0.2, "coverage": 0.1},
                             "collaborative": {"similarity": "rp3beta", "weighting": "log", "beta": 0.4}}}
    params, alpha, provenance = settle_defaults(DEFAULT_CONFIG, {"alpha": 0.7}, evaluation)
    assert params == evaluation["chosen"]["collaborative"] and alpha == 0.7
    assert provenance["alpha"]["chosen_by"] == "command line"
    params, alpha, provenance = settle_defaults({**DEFAULT_CONFIG, "weighting": "raw"}, {"weighting": "raw"},
                                                evaluation)
    assert params["weighting"] == "raw" and params["similarity"] == DEFAULT_CONFIG["similarity"]
    assert alpha == DEFAULT_CONFIG["alpha"] and provenance["collaborative"]["chosen_by"] == "command line"


def test_too_few_listeners_skip_the_evaluation_and_say_why(tmp_path):
    rows = [track(n, tags="rock") for n in range(6)]
    listening = [(tid(n), uid(u), 3) for u in range(4) for n in range(6)]
    raw = write_raw(tmp_path / "raw", rows, listening)
    directory = refresh(raw, tmp_path / "out", evaluate=True)
    manifest = Recommender.load(tmp_path / "out").manifest
    assert "only 4 listeners" in manifest["evaluation"]["skipped"]
    assert manifest["defaults"]["chosen_by"].startswith("built-in default (evaluation skipped")
    assert not (directory / "evaluation.json").exists()


def test_compare_methods_samples_listeners_with_its_seed(small_world):
    split, content = small_world
    candidates = {"cosine, log": CANDIDATES["cosine, log"]}
    a = compare_methods(split, content, candidates, choose_defaults, alphas=(0.0, 1.0), ks=(5,), max_users=40, seed=3)
    b = compare_methods(split, content, candidates, choose_defaults, alphas=(0.0, 1.0), ks=(5,), max_users=40, seed=3)
    assert a.protocol["evaluated_listeners"] == 40 and a.runs == b.runs
