"""dashboard.views: the small reshapings the dashboard shows without further arithmetic."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from dashboard import views
from dashboard.views import (audio_profile, evaluation_rows, evaluation_table,
                             listener_track_count, load_evaluation, model_comparison, most_popular,
                             rank_trajectories, score_parts)
from engine.artifacts import file_checksum
from engine.recommender import AlphaSweep


def test_audio_profile_puts_every_feature_on_its_range_from_0_to_1():
    profile = audio_profile({"loudness": -60.0, "tempo": 150.0, "energy": 0.3, "valence": 1.4,
                             "danceability": math.nan, "not_a_feature": 7.0})
    assert profile == {"energy": 0.3, "loudness": 0.0, "valence": 1.0, "tempo": 0.5}


def test_audio_profile_keeps_schema_order():
    assert list(audio_profile({"tempo": 100.0, "energy": 0.5})) == ["energy", "tempo"]


def test_score_parts_add_up_to_the_blended_score():
    content, collab = score_parts(0.8, 0.4, alpha=0.25)
    assert content == pytest.approx(0.2)
    assert collab == pytest.approx(0.3)
    assert content + collab == pytest.approx(0.25 * 0.8 + 0.75 * 0.4)


def test_rank_trajectories_follow_each_track_across_the_lists():
    sweep = AlphaSweep("seed", (0.0, 0.5, 1.0), (("a", "b"), ("b", "c"), ("c", "a")))
    assert rank_trajectories(sweep) == {"a": [1, None, 2], "b": [2, 1, None], "c": [None, 2, 1]}


def test_evaluation_rows_give_one_row_per_run_and_numeric_metric():
    evaluation = {"runs": [
        {"method": "hybrid", "alpha": 0.3, "k": 10, "metrics": {"ndcg@10": 0.2, "coverage": 0.1}},
        {"method": "popularity", "k": 10, "metrics": {"ndcg": 0.08, "note": "text is skipped"}},
        {"method": "content", "k": 10, "ndcg": 0.05},  # metrics outside "metrics": not what the build writes
    ]}
    assert evaluation_rows(evaluation) == [
        {"method": "hybrid", "alpha": 0.3, "k": 10.0, "metric": "ndcg@10", "value": 0.2},
        {"method": "hybrid", "alpha": 0.3, "k": 10.0, "metric": "coverage@10", "value": 0.1},
        {"method": "popularity", "alpha": None, "k": 10.0, "metric": "ndcg@10", "value": 0.08},
    ]


def test_evaluation_rows_read_what_the_build_writes():
    evaluation = {"protocol": {}, "chosen": {"alpha": 0.3}, "variants": [], "runs": [
        {"method": "popularity", "alpha": None, "k": 10, "metrics": {"ndcg": 0.08, "users": 1500}},
        {"method": "hybrid", "alpha": 0.3, "k": 20, "metrics": {"ndcg": 0.21, "coverage": 0.12, "users": 1500}}]}
    assert [(r["method"], r["alpha"], r["metric"], r["value"]) for r in evaluation_rows(evaluation)] == [
        ("popularity", None, "ndcg@10", 0.08), ("hybrid", 0.3, "ndcg@20", 0.21), ("hybrid", 0.3, "coverage@20", 0.12)]


def test_no_evaluation_gives_no_rows():
    assert evaluation_rows(None) == []
    assert evaluation_rows({"unrelated": 1}) == []


def test_evaluation_table_has_one_record_per_run():
    rows = evaluation_rows({"runs": [{"method": "hybrid", "alpha": 0.5, "metrics": {"p@10": 0.1, "r@10": 0.2}},
                                     {"method": "content", "metrics": {"p@10": 0.05}}]})
    metrics, records = evaluation_table(rows)
    assert metrics == ["p@10", "r@10"]
    assert records == [{"method": "hybrid", "alpha": 0.5, "p@10": 0.1, "r@10": 0.2},
                       {"method": "content", "alpha": None, "p@10": 0.05}]


def test_load_evaluation_reads_the_file_in_the_artifact_set(tmp_path):
    assert load_evaluation(tmp_path) is None
    (tmp_path / "evaluation.json").write_text(json.dumps({"runs": []}))
    assert load_evaluation(tmp_path) == {"runs": []}


def test_an_unreadable_evaluation_is_logged_and_ignored(tmp_path, caplog):
    (tmp_path / "evaluation.json").write_text("{not json")
    assert load_evaluation(tmp_path) is None
    assert "ignoring unreadable evaluation" in caplog.text


def test_an_evaluation_that_does_not_match_the_manifest_is_logged_and_ignored(tmp_path, caplog):
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps({"runs": []}))
    manifest = {"extra_files": {"evaluation.json": {"bytes": path.stat().st_size,
                                                    "checksum": file_checksum(path, "sha1")}}}
    assert load_evaluation(tmp_path, manifest) == {"runs": []}
    path.write_text(json.dumps({"runs": [{"method": "hybrid", "alpha": 0.5, "metrics": {"ndcg": 0.99}}]}))
    assert load_evaluation(tmp_path, manifest) is None
    assert "does not match its checksum in the manifest" in caplog.text


def test_most_popular_orders_by_listeners_then_catalogue_order():
    tracks = pd.DataFrame({"track_id": ["a", "b", "c", "d"], "n_listeners": [5, 9, 5, 1]})
    assert most_popular(tracks, 3) == ["b", "a", "c"]


def test_listener_track_count_matches_the_history(dashboard_recommender):
    user = dashboard_recommender.random_active_user(seed=3)
    history = dashboard_recommender.user_history(user, limit=100_000)
    assert listener_track_count(dashboard_recommender, user) == len(history)


def test_evaluation_table_for_one_cut_off_drops_the_suffix():
    rows = evaluation_rows({"runs": [{"method": "hybrid", "alpha": 0.5, "k": 10, "metrics": {"ndcg": 0.2}},
                                     {"method": "hybrid", "alpha": 0.5, "k": 20, "metrics": {"ndcg": 0.3}}]})
    assert evaluation_table(rows, k=20) == (["ndcg"], [{"method": "hybrid", "alpha": 0.5, "ndcg": 0.3}])


def test_model_comparison_lists_each_collaborative_model_alone_best_first():
    evaluation = {"chosen": {"name": "rp3beta", "alpha": 0.2},
                  "runs": [{"method": "collaborative", "alpha": None, "k": 10, "metrics": {"ndcg": 0.24}},
                           {"method": "collaborative", "alpha": None, "k": 20, "metrics": {"ndcg": 0.28}},
                           {"method": "hybrid", "alpha": 0.2, "k": 10, "metrics": {"ndcg": 0.25}}],
                  "variants": [{"name": "cosine, log", "alpha": 0.0, "k": 10, "metrics": {"ndcg": 0.22, "users": 9}},
                               {"name": "cosine, log", "alpha": 0.5, "k": 10, "metrics": {"ndcg": 0.30}},
                               {"name": "cosine, raw", "alpha": 0.0, "k": 10, "metrics": {"ndcg": 0.11}},
                               {"name": "cosine, raw", "alpha": 0.0, "k": 20, "metrics": {"ndcg": 0.14}}]}
    assert model_comparison(evaluation, 10) == [
        {"model": "rp3beta", "chosen": True, "ndcg": 0.24},
        {"model": "cosine, log", "chosen": False, "ndcg": 0.22},  # the hybrid variant (alpha 0.5) is left out
        {"model": "cosine, raw", "chosen": False, "ndcg": 0.11}]
    assert [r["ndcg"] for r in model_comparison(evaluation, 20)] == [0.28, 0.14]
    assert model_comparison({"runs": evaluation["runs"]}, 10) == []  # an evaluation without variants
    assert model_comparison(None, 10) == []


def evaluation_with_new_releases() -> dict:
    def run(alpha, k, **metrics):
        return {"method": "hybrid", "alpha": alpha, "k": k, "metrics": metrics}
    return {"chosen": {"alpha": 0.2},
            "runs": [run(a, 10, ndcg=0.2 - a / 10, new_share=a / 5) for a in (0.0, 0.2, 1.0)],
            "new_release": {"protocol": {"held_out_tracks": 30, "test_listeners": 400},
                            "runs": [run(a, k, ndcg=0.01 + a / 100, recall=0.1 + a / 10, new_share=0.05)
                                     for a in (0.0, 0.2, 1.0) for k in (10, 50)]}}


def test_protocol_curves_put_both_protocols_against_alpha():
    curves = views.protocol_curves(evaluation_with_new_releases())
    assert curves["alpha"] == [0.0, 0.2, 1.0]
    assert curves["listeners with a history: NDCG@10"] == pytest.approx([0.2, 0.18, 0.1])
    assert curves["new releases: NDCG@10"] == pytest.approx([0.01, 0.012, 0.02])
    assert curves["new releases: recall@50"] == pytest.approx([0.1, 0.12, 0.2])
    assert curves["never-played share of lists (history)"] == pytest.approx([0.0, 0.04, 0.2])
    assert views.protocol_curves(None) == {} and views.protocol_curves({"runs": []}) == {}


def test_new_release_summary_reads_the_chosen_alpha_and_the_extremes():
    summary = views.new_release_summary(evaluation_with_new_releases())
    assert summary["chosen_alpha"] == 0.2 and summary["protocol"]["held_out_tracks"] == 30
    assert summary["at_default"]["recall@50"] == pytest.approx(0.12)
    assert summary["content_only"]["ndcg@10"] == pytest.approx(0.02)
    assert summary["listening_only"]["new_share@10"] == pytest.approx(0.05)
    assert views.new_release_summary({"runs": []}) is None
