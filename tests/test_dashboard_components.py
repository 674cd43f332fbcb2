"""Dashboard building blocks without a browser: URL parsing, figures, lists and notices."""
from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest
from dash import html
from plotly.offline import get_plotlyjs_version

from dashboard import components, figures, plotlyjs, urls
from engine import DEFAULT_ALPHAS
from engine.recommender import Explanation, Recommendation, Track


def _text(component) -> str:
    """All text and props of a component tree, for 'is it shown' assertions."""
    return json.dumps(component.to_plotly_json(), default=lambda c: c.to_plotly_json())


def _track(track_id="T1", name="Song", audio=None, tags=("rock", "indie"), preview=None) -> Track:
    return Track(track_id=track_id, name=name, artist="Band", year=2001, tags=tags, genre=None,
                 preview_url=preview, n_listeners=3, n_plays=9, audio=audio or {})


def _rec(rank, track_id, preview=None, n_listeners=4) -> Recommendation:
    return Recommendation(track_id=track_id, name=f"Song {rank}", artist="Band", score=0.7, content_score=0.8,
                          collab_score=0.6, rank=rank, year=1999, tags=("rock", "pop"), preview_url=preview,
                          n_listeners=n_listeners)


# ------------------------------------------------------------------- URLs
@pytest.mark.parametrize("raw, expected", [(None, (0.5, None)), ("", (0.5, None)), ("0.3", (0.3, None)),
                                           ("1", (1.0, None)), ("0.123", (0.12, None))])
def test_alpha_from_the_url(raw, expected):
    assert urls.parse_alpha(raw, default=0.5) == expected


@pytest.mark.parametrize("raw", ["abc", "1.5", "-0.1", "nan"])
def test_a_bad_alpha_falls_back_to_the_default_with_a_notice(raw):
    value, notice = urls.parse_alpha(raw, default=0.4)
    assert value == 0.4
    assert raw in notice and "0 to 1" in notice


@pytest.mark.parametrize("raw, expected", [(None, 10), ("20", 20), ("2", 5), ("500", 50), ("x", 10)])
def test_k_from_the_url_is_clamped_to_5_to_50(raw, expected):
    assert urls.parse_k(raw)[0] == expected


def test_an_unknown_method_becomes_the_hybrid_with_a_notice():
    assert urls.parse_method("content") == ("content", None)
    method, notice = urls.parse_method("magic")
    assert method == "hybrid" and "magic" in notice


def test_method_sets_the_effective_alpha():
    assert urls.effective_alpha("content", 0.3) == 1.0
    assert urls.effective_alpha("collaborative", 0.3) == 0.0
    assert urls.effective_alpha("hybrid", 0.3) == 0.3


def test_links_carry_the_state_and_leave_out_empty_values():
    assert urls.link("/explain", seed="A", track="B", alpha=0.25) == "/explain?seed=A&track=B&alpha=0.25"
    assert urls.link("/", track=None) == "/"
    assert urls.query_args("?track=A&k=10") == {"track": "A", "k": "10"}


# ---------------------------------------------------------------- figures
def every_figure() -> list[dict]:
    """One of each figure :mod:`dashboard.figures` builds."""
    trajectories = {"a": [1, 1, 2], "b": [2, None, 1], "c": [None, 2, None]}
    return [
        figures.content_blocks({"tags": 0.3, "audio": 0.1, "artist": 0.0}),
        figures.audio_profiles("Seed", {"energy": 0.2, "tempo": 0.5}, "Track", {"energy": 0.9, "tempo": 0.4}),
        figures.rank_by_alpha(DEFAULT_ALPHAS, [3] * 10 + [None] + [200] * 10, current_alpha=0.5, k=10),
        figures.bump_chart((0.0, 0.5, 1.0), trajectories, {"a": "A <b>", "b": "B"}, k=2),
        figures.overlap((0.0, 0.5, 1.0), [0.5, 1.0, 0.0]),
        figures.overlap((0.0, 0.5, 1.0), [0.5, 1.0, 0.0], new_shares=[0.0, 0.1, 0.3]),
        figures.protocols_vs_alpha({"alpha": [0.0, 1.0], "listeners with a history: NDCG@10": [0.2, 0.1],
                                    "new releases: NDCG@10": [0.01, 0.03]}, chosen_alpha=0.2),
        figures.metric_vs_alpha([{"method": "hybrid", "alpha": 0.0, "metric": "ndcg@10", "value": 0.1, "k": 10},
                                 {"method": "hybrid", "alpha": 1.0, "metric": "ndcg@10", "value": 0.2, "k": 10},
                                 {"method": "popularity", "alpha": None, "metric": "ndcg@10", "value": 0.05,
                                  "k": 10}], "ndcg@10"),
        figures.long_tail([1, 10, 100], [50, 5, 1]),
        figures.log_histogram([1, 2, 4, 8], [10, 0, 3], "tracks per listener"),
        figures.audio_histogram("tempo", [0, 150, 300], [1, 2]),
        figures.top_tags([["rock", 10], ["pop", 5]]),
        figures.stage_timings({"ingest": {"seconds": 1.5}, "write": {"seconds": 0.1}}),
        figures.empty("nothing yet"),
    ]


def test_every_figure_is_a_valid_plotly_figure():
    for figure in every_figure():  # the dicts skip plotly's validation when served: validate them here
        assert go.Figure(figure).layout.height == figure["layout"]["height"]


def test_every_figure_is_drawn_by_the_plotly_bundle_the_dashboard_serves():
    used = {trace.get("type", "scatter") for figure in every_figure() for trace in figure["data"]}
    assert used <= plotlyjs.TRACE_TYPES


def test_the_vendored_bundle_holds_exactly_the_trace_types_it_is_said_to():
    source = (plotlyjs.BUNDLE_DIR / plotlyjs.BUNDLE_FILE).read_text(encoding="utf-8")
    assert set(re.findall(r'moduleType:"trace",name:"(\w+)"', source)) == plotlyjs.TRACE_TYPES


def test_the_vendored_bundle_is_the_plotly_js_version_of_the_installed_plotly():
    # the version dcc.Graph would load without the redirect; `make vendor-plotly` vendors it again after an upgrade
    assert plotlyjs.bundle_version() == get_plotlyjs_version()
    assert "MIT License" in (plotlyjs.BUNDLE_DIR / "LICENSE").read_text(encoding="utf-8")


def test_a_graph_is_a_box_of_the_figures_height_that_carries_the_graph_until_it_is_drawn():
    figure = figures.top_tags([["rock", np.int64(10)], ["pop", 5]])
    box = components.graph(figure, "some-graph")
    assert box.style == {"minHeight": f"{figure['layout']['height']}px"}
    assert [child.className for child in [box.children]] == ["lazy-graph-pending"]  # the marker, replaced
    props = components.graph_props(box)
    assert props["id"] == "some-graph" and props["config"] == figures.GRAPH_CONFIG
    assert props["figure"]["data"][0]["x"] == [5, 10]  # numpy numbers too
    assert props["style"] == {"height": f"{figure['layout']['height']}px"}


def test_bump_chart_has_one_line_per_track_and_gaps_outside_the_top_k():
    fig = figures.bump_chart((0.0, 0.5, 1.0), {"a": [1, None, None], "b": [2, 1, 1], "c": [None, 2, None]},
                             {"a": "A", "b": "B", "c": "C"}, k=2)
    lines = [trace for trace in fig["data"] if trace["mode"] == "lines"]
    assert [trace["name"] for trace in lines] == ["A", "B", "C"]
    assert lines[0]["y"] == [1, None, None]
    # both ends labelled with name and rank, on a left and a right rank axis
    assert fig["layout"]["yaxis"]["ticktext"] == ["A  1", "B  2"] and fig["layout"]["yaxis"]["tickvals"] == [1, 2]
    assert fig["layout"]["yaxis2"]["ticktext"] == ["1  B"] and fig["layout"]["yaxis2"]["side"] == "right"
    # a rank held at one alpha only has no line segment: it is a marker
    markers = [trace for trace in fig["data"] if trace["mode"] == "markers" and trace.get("text")]
    assert len(markers) == 1 and list(zip(markers[0]["x"], markers[0]["y"], markers[0]["text"])) == [
        (0.0, 1, "A"), (0.5, 2, "C")]


def test_lean_colour_runs_from_listeners_to_content():
    assert figures.lean_colour(0.0) == figures.COLLAB
    assert figures.lean_colour(0.5) == figures.NEUTRAL
    assert figures.lean_colour(1.0) == figures.CONTENT


# ------------------------------------------------------------- components
def test_recommendation_list_links_each_result_to_its_explanation():
    listing = components.recommendation_list([_rec(1, "T9"), _rec(2, "T8")], alpha=0.5, seed_id="T1")
    text = _text(listing)
    assert "/explain?seed=T1&track=T9&alpha=0.5" in text
    assert "Why this?" in text
    assert text.count('"rec-item"') == 2


def test_never_played_tracks_carry_a_new_badge_in_lists_and_cards():
    listing = _text(components.recommendation_list([_rec(1, "T9", n_listeners=0), _rec(2, "T8", n_listeners=7)],
                                                   alpha=0.5, seed_id="T1"))
    assert listing.count("new-badge") == 1 and "its listening score is estimated" in listing
    assert components.new_badge(3) is None


def test_without_a_seed_results_link_to_discover():
    text = _text(components.recommendation_list([_rec(1, "T9")], alpha=0.2))
    assert "/?track=T9&alpha=0.2" in text and "More like this" in text


def test_the_score_bar_is_split_into_content_and_listener_parts():
    bar = components.tracks.score_bar(0.2, 0.3, 0.5)
    gradient = bar.children[0].style["backgroundImage"]
    # content from 0 to 20 %, listeners from 20 % to 50 %, then the empty track
    assert gradient == ("linear-gradient(to right, var(--content) 0 20.0%, var(--collab) 20.0% 50.0%, "
                        "transparent 50.0%)")
    assert bar.children[1] == "0.50" and "content 0.20 + listeners 0.30" in bar.title


def test_a_list_item_stays_small_because_the_browser_redraws_every_component_on_each_change():
    from engine.recommender import Recommendation

    rec = Recommendation(track_id="T1", name="Song", artist="Band", score=0.5, content_score=0.4,
                         collab_score=0.6, rank=1, year=2001, tags=("rock", "indie"),
                         preview_url="https://example.org/a.mp3", n_listeners=3)
    item = components.recommendation_list([rec], alpha=0.5, seed_id="T0").children[1].children[0]

    def count(node) -> int:
        children = getattr(node, "children", None)
        children = children if isinstance(children, (list, tuple)) else [children]
        return 1 + sum(count(c) for c in children if hasattr(c, "to_plotly_json"))

    assert count(item) <= 10


def test_an_audio_preview_only_where_a_preview_url_exists():
    assert components.audio_player(None) is None
    player = components.audio_player("https://example.org/a.mp3")
    assert isinstance(player, html.Audio) and player.preload == "none"


def test_shared_tags_are_highlighted():
    badges = components.tag_badges(["rock", "indie", "pop"], highlight={"indie"}, limit=None)
    assert [b.className for b in badges.children] == ["tag", "tag shared", "tag"]


def _explanation(seed_audio, track_audio) -> Explanation:
    return Explanation(seed=_track("A", "Seed", seed_audio), track=_track("B", "Other", track_audio),
                       content_similarity=0.5, content_by_block={"tags": 0.5}, shared_tags=("rock",),
                       seed_audio=seed_audio, track_audio=track_audio, shared_listeners=2, collab_similarity=0.1)


def test_the_audio_chart_compares_both_tracks_features():
    shown = components.audio_comparison(_explanation({"energy": 0.1}, {"energy": 0.9}), has_audio_block=True)
    figure = components.graph_props(shown)["figure"]
    assert [t["name"] for t in figure["data"]] == ["Seed", "Other"]
    assert [t["x"] for t in figure["data"]] == [[0.1], [0.9]]


def test_without_an_audio_block_the_audio_chart_is_replaced_by_a_note():
    shown = components.audio_comparison(_explanation({}, {}), has_audio_block=False)
    assert isinstance(shown, html.P) and "no audio features" in shown.children


def test_a_track_without_audio_features_is_named_in_the_note():
    shown = components.audio_comparison(_explanation({"energy": 0.3}, {}), has_audio_block=True)
    assert "No audio features for Other" in shown.children


def test_the_track_search_filters_on_the_server(dashboard_recommender):
    some = dashboard_recommender.tracks["name"].iloc[0]
    options, labels = components.search_options(dashboard_recommender, some[:6], None)
    assert options and len(options) <= 20
    assert all(some[:6].casefold() in o["label"].casefold() for o in options)


def test_an_empty_search_says_nothing_matches(dashboard_recommender):
    options, labels = components.search_options(dashboard_recommender, "zzqqxx no such", None)
    assert options == []
    assert "No track or artist contains “zzqqxx no such”" in labels["no_options_found"]


def test_the_selected_track_stays_among_the_options(dashboard_recommender):
    selected = dashboard_recommender.tracks["track_id"].iloc[0]
    options, _ = components.search_options(dashboard_recommender, "zzqqxx", selected)
    assert [o["value"] for o in options] == [selected]


def test_no_artifacts_page_says_how_to_build_them():
    text = _text(components.no_artifacts("no artifact set at 'x'"))
    assert "make artifacts" in text and "no artifact set at 'x'" in text


def test_a_never_played_track_carries_a_new_badge_that_screen_readers_read():
    never_played = dataclasses.replace(_rec(1, "T9"), n_listeners=0)
    listing = _text(components.recommendation_list([never_played, _rec(2, "T8")], alpha=0.5))
    assert listing.count("new-badge") == 1
    assert listing.count("nobody has played it yet") == 1  # visually hidden, read after "new"
    assert "nobody has played it yet" in _text(components.track_card(dataclasses.replace(_track(), n_listeners=0),
                                                                      "Seed"))
    assert "new-badge" not in _text(components.track_card(_track(), "Seed"))


# ------------------------------------------------------- URL ⇄ controls
def test_a_page_state_from_the_url_with_a_notice_for_each_replaced_value(dashboard_recommender):
    from dashboard import sync

    known = dashboard_recommender.tracks["track_id"].iloc[0]

    def parse(rec, args):
        k, k_note = urls.parse_k(args.get("k"))
        track, track_note = sync.parse_track(rec, args.get("track"), "test")
        return {"track": track, "k": k}, [k_note, track_note]

    state, notices = sync.from_url(dashboard_recommender, f"?track={known}&k=7", parse)
    assert state == {"track": known, "k": 7} and notices == []
    assert sync.track_options(dashboard_recommender, known)[0]["value"] == known
    state, notices = sync.from_url(dashboard_recommender, "?track=NO-SUCH&k=99", parse)
    assert state == {"track": None, "k": 50}
    assert "from 5 to 50" in _text(notices[0])
    assert "There is no track with id" in _text(notices[1]) and "NO-SUCH" in _text(notices[1])
    assert sync.track_options(dashboard_recommender, None) == []
