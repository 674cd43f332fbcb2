"""Discover (``/?track=…&alpha=…&k=…&method=…``): tracks like a seed track, ranked.

The URL is the state: every control change is written to the query string (a
new history entry), and a changed query string (back/forward, a shared link)
sets the controls, so views can be bookmarked and the back button works.
"""
from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from engine import ArtifactError, RecommenderError

from dashboard import components, ids, sync, urls
from dashboard.access import get_recommender
from dashboard.components.tracks import track_label
from dashboard.views import most_popular

dash.register_page(__name__, path="/", name="Discover", title="Discover · Hybrid music recommender", order=0,
                   description="Find tracks like a track you pick, by sound and tags and by who listens.")
log = logging.getLogger(__name__)


def _parse(rec, args: dict) -> tuple[dict, list]:
    """Validated view state from URL arguments, and what had to be replaced (None where nothing was)."""
    alpha, alpha_note = urls.parse_alpha(args.get("alpha"), rec.default_alpha)
    k, k_note = urls.parse_k(args.get("k"))
    method, method_note = urls.parse_method(args.get("method"))
    track, track_note = sync.parse_track(rec, args.get("track"), "discover")
    return ({"track": track, "alpha": alpha, "k": k, "method": method},
            [alpha_note, k_note, method_note, track_note])


def layout(track=None, alpha=None, k=None, method=None, **_unused):
    try:
        rec = get_recommender()
    except ArtifactError as exc:
        return components.no_artifacts(exc)
    state, notices = sync.from_args(rec, {"track": track, "alpha": alpha, "k": k, "method": method}, _parse)
    seed = rec.track(state["track"]) if state["track"] else None
    controls = components.section(
        "Start from a track",
        html.Label("Seed track", htmlFor=ids.DISCOVER_TRACK, className="visually-hidden"),
        components.track_picker(ids.DISCOVER_TRACK, seed),
        html.Label("Method", className="form-label mt-3 mb-1 small fw-semibold"),
        html.Div(components.method_control(ids.DISCOVER_METHOD, state["method"])),
        html.Label("Blend α", className="form-label mt-3 mb-0 small fw-semibold"),
        components.alpha_control(ids.DISCOVER_ALPHA, state["alpha"], disabled=state["method"] != "hybrid"),
        html.Label("Number of results", className="form-label mt-2 mb-0 small fw-semibold"),
        components.k_control(ids.DISCOVER_K, state["k"]),
    )
    return html.Div([
        dcc.Location(id=ids.DISCOVER_URL, refresh=False),
        sync.shown(ids.DISCOVER_SHOWN, state),
        components.page_header("Discover", "Pick a track and get tracks like it — by their tags and sound, "
                                           "by the people who listen to them, or a blend of both."),
        html.Div(notices, id=ids.DISCOVER_NOTICE),
        dbc.Row([
            dbc.Col(controls, lg=4),
            dbc.Col(dcc.Loading(html.Div(_results(rec, state), id=ids.DISCOVER_RESULTS), type="dot",
                                delay_show=300), lg=8),
        ]),
    ])


@callback(
    Output(ids.DISCOVER_URL, "search"),
    Output(ids.DISCOVER_TRACK, "value"),
    Output(ids.DISCOVER_TRACK, "options"),
    Output(ids.DISCOVER_METHOD, "value"),
    Output(ids.DISCOVER_ALPHA, "value"),
    Output(ids.DISCOVER_ALPHA, "disabled"),
    Output(ids.DISCOVER_K, "value"),
    Output(ids.DISCOVER_NOTICE, "children"),
    Output(ids.DISCOVER_RESULTS, "children"),
    Output(ids.DISCOVER_SHOWN, "data"),
    Input(ids.DISCOVER_URL, "search"),
    Input(ids.DISCOVER_TRACK, "value"),
    Input(ids.DISCOVER_METHOD, "value"),
    Input(ids.DISCOVER_ALPHA, "value"),
    Input(ids.DISCOVER_K, "value"),
    State(ids.DISCOVER_SHOWN, "data"),
)
def sync_view(search, track, method, alpha, k, shown):
    """URL -> controls and results (back/forward, a link), or controls -> URL and results; nothing when the
    page already shows that view (the layout drew it)."""
    try:
        rec = get_recommender()
    except ArtifactError as exc:
        return (no_update,) * 8 + (components.no_artifacts(exc), None)
    if sync.url_changed(ids.DISCOVER_URL):
        state, notices = sync.from_url(rec, search, _parse)
        if state == shown:
            raise PreventUpdate
        return (no_update, state["track"], sync.track_options(rec, state["track"]), state["method"], state["alpha"],
                state["method"] != "hybrid", state["k"], notices, _results(rec, state), state)
    if alpha is None or k is None:  # a number box being edited
        raise PreventUpdate
    state = {"track": track, "alpha": round(float(alpha), 2), "k": int(k), "method": method}
    if state == shown:
        raise PreventUpdate
    return (_search_of(state), no_update, no_update, no_update, no_update, method != "hybrid", no_update, [],
            _results(rec, state), state)


search_tracks = components.register_track_search(ids.DISCOVER_TRACK)


def _search_of(state: dict) -> str:
    return urls.search_string(track=state["track"], alpha=state["alpha"], k=state["k"],
                              method=state["method"] if state["method"] != "hybrid" else None)


def _results(rec, state: dict):
    if not state["track"]:
        return _suggestions(rec, state)
    alpha = urls.effective_alpha(state["method"], state["alpha"])
    try:
        seed = rec.track(state["track"])
        recs = rec.recommend(state["track"], k=state["k"], alpha=alpha)
    except RecommenderError as exc:
        log.warning("discover: cannot recommend for %r: %s", state["track"], exc)
        return components.notice(str(exc), color="danger", dismissable=False)
    header = html.Div([
        html.Div([html.Span("Tracks like ", className="text-muted"), html.Strong(track_label(seed))],
                 className="fs-5"),
        html.Div([
            dcc.Link([html.I(className="bi bi-sliders me-1"), "How does α change this list?"],
                     href=urls.link("/alpha", track=seed.track_id, k=state["k"]), className="me-3"),
        ], className="small"),
    ], className="d-flex justify-content-between align-items-baseline flex-wrap mb-2")
    warnings = []
    if seed.n_listeners == 0 and alpha < 1:
        warnings.append(components.notice(
            "Nobody in the listening data has played this track yet, so listening behaviour cannot help: "
            "its part of the score is zero and the ranking leans on content (ties go to popular tracks).",
            color="info", dismissable=False))
    if not recs:
        return html.Div([header, components.empty_state("No other tracks to recommend",
                                                        "The catalogue has no other track.")])
    return components.section(
        None, header, *warnings,
        components.recommendation_list(recs, alpha=alpha, seed_id=seed.track_id, id=ids.DISCOVER_LIST),
        className="mb-4 shadow-sm section results")


def _suggestions(rec, state: dict):
    picks = [rec.track(t) for t in most_popular(rec.tracks, 8)]
    chips = [dcc.Link(track_label(t), href=urls.link("/", track=t.track_id, alpha=state["alpha"], k=state["k"]),
                      className="chip") for t in picks]
    return components.empty_state(
        "Pick a track to start",
        [html.P("Type part of a track or artist name in the search box, or try one of the most listened-to "
                "tracks:"), html.Div(chips, className="chips")],
        icon="bi-search", id=ids.DISCOVER_EMPTY)
