"""For you (``/user?id=…&alpha=…``, ``/user?mode=session``): recommendations for a listener or a playlist.

*A listener*: pick one by id prefix (or a random active one) to see their most
played tracks and what the hybrid recommends from their whole history.
*Your session*: build a playlist in the browser (kept in the app-wide session
store); the recommendations follow every added or removed track.
"""
from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from engine import ArtifactError, RecommenderError, UnknownTrackError, UnknownUserError

from dashboard import components, ids, sync, urls
from dashboard.access import get_recommender
from dashboard.components.tracks import track_label
from dashboard.views import listener_track_count

dash.register_page(__name__, path="/user", name="For you", title="For you · Hybrid music recommender", order=3,
                   description="Recommendations for a listener's history or for a playlist you build.")
log = logging.getLogger(__name__)

HISTORY_SHOWN = 15
MAX_SESSION = 50
SHOWN = {"display": "block"}
HIDDEN = {"display": "none"}
MODES = {"listener": "A listener", "session": "Your session"}


def _parse(rec, args: dict) -> tuple[dict, list]:
    """Validated view state from URL arguments, and what had to be replaced (None where nothing was)."""
    alpha, note = urls.parse_alpha(args.get("alpha"), rec.default_alpha)
    notices = [note]
    mode = args.get("mode") or "listener"
    if mode not in MODES:
        notices.append(f"There is no “{mode}” view here; showing a listener.")
        mode = "listener"
    user = args.get("id") or None
    if user is not None:
        try:
            rec.user_history(user, limit=1)
        except UnknownUserError:
            log.warning("user: unknown or history-less listener %r in the URL", user)
            notices.append(f"Listener “{user}” has no listening history in this data set. Search by the first "
                           f"characters of an id, or pick a random active listener.")
            user = None
    return {"user": user, "alpha": alpha, "mode": mode}, notices


def layout(id=None, alpha=None, mode=None, **_unused):  # noqa: A002 - "id" is the URL parameter
    try:
        rec = get_recommender()
    except ArtifactError as exc:
        return components.no_artifacts(exc)
    state, _ = _parse(rec, {"id": id, "alpha": alpha, "mode": mode})
    switch = dbc.RadioItems(id=ids.USER_TABS, value=state["mode"],
                            options=[{"label": label, "value": key} for key, label in MODES.items()],
                            className="btn-group mb-3", inputClassName="btn-check",
                            labelClassName="btn btn-outline-primary", labelCheckedClassName="active")
    return html.Div([
        dcc.Location(id=ids.USER_URL, refresh=False),
        components.page_header("For you", "Recommendations from a listener's whole history, or from a playlist "
                                          "you put together right here."),
        switch,
        html.Div(id=ids.USER_NOTICE),
        html.Div(_listener_panel(state), id=ids.USER_LISTENER_PANEL,
                 style=SHOWN if state["mode"] == "listener" else HIDDEN),
        html.Div(_session_panel(rec), id=ids.USER_SESSION_PANEL,
                 style=SHOWN if state["mode"] == "session" else HIDDEN),
    ])


def _listener_panel(state):
    picker = dcc.Dropdown(id=ids.USER_PICK, options=[state["user"]] if state["user"] else [], value=state["user"],
                          placeholder="Type the first characters of a listener id…", search_order="original",
                          labels={"no_options_found": "Type the first characters of a listener id"})
    controls = components.section(None, dbc.Row([
        dbc.Col([html.Label("Listener", htmlFor=ids.USER_PICK, className="form-label small fw-semibold mb-1"),
                 html.Div(picker, className="picker-box")], md=6),
        dbc.Col(html.Div([
            dbc.Button([html.I(className="bi bi-shuffle me-1"), "Random active listener"], id=ids.USER_RANDOM,
                       color="primary", outline=True),
            dbc.Button([html.I(className="bi bi-collection-play me-1"), "Open as a session"], id=ids.USER_TO_SESSION,
                       color="secondary", outline=True,
                       title="Start a session from this listener's most played tracks"),
        ], className="d-flex flex-wrap gap-2"), md=6),
    ], className="align-items-end g-3"))
    recs = components.section(
        "Recommended for this listener",
        html.Div([html.Label("Blend α", className="form-label small fw-semibold mb-0"),
                  components.alpha_control(ids.USER_ALPHA, state["alpha"])], className="mb-2"),
        dcc.Loading(html.Div(id=ids.USER_RECS), type="dot", delay_show=300))
    return [controls, dbc.Row([
        dbc.Col(components.section("Most played", html.Div(id=ids.USER_HISTORY)), lg=5),
        dbc.Col(recs, lg=7),
    ])]


def _session_panel(rec):
    controls = components.section(None, dbc.Row([
        dbc.Col([html.Label("Add a track", htmlFor=ids.SESSION_PICK, className="form-label small fw-semibold mb-1"),
                 components.track_picker(ids.SESSION_PICK, placeholder="Search a track to add…")], md=9),
        dbc.Col(dbc.Button([html.I(className="bi bi-trash3 me-1"), "Clear the session"], id=ids.SESSION_CLEAR,
                           color="secondary", outline=True, className="w-100"), md=3),
    ], className="align-items-end g-3"))
    recs = components.section(
        "Recommended for your session",
        html.Div([html.Label("Blend α", className="form-label small fw-semibold mb-0"),
                  components.alpha_control(ids.SESSION_ALPHA, rec.default_alpha)], className="mb-2"),
        html.Div(id=ids.SESSION_RECS))
    return [controls, dbc.Row([
        dbc.Col(components.section("Your session", html.Div(id=ids.SESSION_LIST),
                                   subtitle="Kept in this browser tab; the recommendations follow every change."),
                lg=5),
        dbc.Col(recs, lg=7),
    ])]


# ------------------------------------------------------------------ listener
@callback(
    Output(ids.USER_URL, "search"),
    Output(ids.USER_TABS, "value"),
    Output(ids.USER_PICK, "value"),
    Output(ids.USER_PICK, "options"),
    Output(ids.USER_ALPHA, "value"),
    Output(ids.USER_NOTICE, "children"),
    Output(ids.USER_HISTORY, "children"),
    Output(ids.USER_RECS, "children"),
    Output(ids.USER_LISTENER_PANEL, "style"),
    Output(ids.USER_SESSION_PANEL, "style"),
    Input(ids.USER_URL, "search"),
    Input(ids.USER_TABS, "value"),
    Input(ids.USER_PICK, "value"),
    Input(ids.USER_ALPHA, "value"),
    Input(ids.USER_RANDOM, "n_clicks"),
)
def sync_view(search, mode, user, alpha, _random):
    """URL -> controls and lists, or controls (and the random button) -> URL and lists."""
    try:
        rec = get_recommender()
    except ArtifactError:
        raise PreventUpdate
    trigger = ctx.triggered_id
    if sync.url_changed(ids.USER_URL):
        state, notices = sync.from_url(rec, search, _parse)
        history, recs = _listener_lists(rec, state)
        return (no_update, state["mode"], state["user"], [state["user"]] if state["user"] else [], state["alpha"],
                notices, history, recs, *_panels(state["mode"]))
    if alpha is None:
        raise PreventUpdate
    options = no_update
    if trigger == ids.USER_RANDOM:
        user = rec.random_active_user()
        options = [user]
        log.info("user: random active listener %s", user)
    state = {"user": user, "alpha": round(float(alpha), 2), "mode": mode}
    history, recs = _listener_lists(rec, state)
    search = urls.search_string(id=state["user"], alpha=state["alpha"],
                                mode=state["mode"] if state["mode"] != "listener" else None)
    return (search, no_update, user if trigger == ids.USER_RANDOM else no_update, options, no_update, [],
            history, recs, *_panels(state["mode"]))


def _panels(mode):
    return (SHOWN, HIDDEN) if mode == "listener" else (HIDDEN, SHOWN)


def _listener_lists(rec, state):
    if not state["user"]:
        hint = components.empty_state("Pick a listener", "Search by the first characters of an id, or press "
                                                         "“Random active listener”.", icon="bi-person",
                                      id=ids.USER_EMPTY)
        return hint, components.empty_state("Their recommendations appear here", icon="bi-stars")
    try:
        history = rec.user_history(state["user"], limit=HISTORY_SHOWN)
        recs = rec.recommend_for_user(state["user"], k=10, alpha=state["alpha"])
    except RecommenderError as exc:
        log.warning("user: cannot recommend for %r: %s", state["user"], exc)
        return components.notice(str(exc), dismissable=False), None
    total = listener_track_count(rec, state["user"])
    caption = html.P(f"Top {len(history)} of the {total:,} tracks listener {state['user']} played.",
                     className="small text-muted")
    return (html.Div([caption, components.history_list(history, id=ids.USER_HISTORY_LIST)]),
            components.recommendation_list(recs, alpha=state["alpha"], id=ids.USER_RECS_LIST))


@callback(
    Output(ids.USER_PICK, "options", allow_duplicate=True),
    Output(ids.USER_PICK, "labels"),
    Input(ids.USER_PICK, "search_value"),
    State(ids.USER_PICK, "value"),
    prevent_initial_call=True,
)
def search_users(text, selected):
    """Listener ids starting with what the person typed (filtered on the server)."""
    if not text or not text.strip():
        raise PreventUpdate
    try:
        found = get_recommender().search_users(text.strip(), limit=20)
    except ArtifactError:
        raise PreventUpdate
    if not found:
        log.info("user search %r: no match", text)
    options = found if not selected or selected in found else [selected, *found]
    return options, {"no_options_found": f"No listener id starts with “{text.strip()}”" if not found else
                     "Type the first characters of a listener id"}


# ------------------------------------------------------------------- session
@callback(
    Output(ids.SESSION_STORE, "data"),
    Output(ids.SESSION_PICK, "value"),
    Output(ids.USER_TABS, "value", allow_duplicate=True),
    Input(ids.SESSION_PICK, "value"),
    Input({"type": ids.SESSION_REMOVE, "index": ALL}, "n_clicks"),
    Input(ids.SESSION_CLEAR, "n_clicks"),
    Input(ids.USER_TO_SESSION, "n_clicks"),
    State(ids.SESSION_STORE, "data"),
    State(ids.USER_PICK, "value"),
    prevent_initial_call=True,
)
def edit_session(added, _removed, _clear, _to_session, tracks, user):
    """Add the picked track, remove one, clear, or start from the listener's most played tracks."""
    # Dash also calls this when the page's components are first drawn (all values None): not a user action.
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    tracks = list(tracks or [])
    trigger = ctx.triggered_id
    if trigger == ids.SESSION_PICK:
        if added in tracks or len(tracks) >= MAX_SESSION:
            return no_update, None, no_update
        return [*tracks, added], None, no_update
    if trigger == ids.SESSION_CLEAR:
        return [], no_update, no_update
    if trigger == ids.USER_TO_SESSION:
        if not user:
            raise PreventUpdate
        try:
            history = get_recommender().user_history(user, limit=10)
        except (ArtifactError, RecommenderError) as exc:
            log.warning("user: cannot start a session from %r: %s", user, exc)
            raise PreventUpdate
        return [t.track_id for t, _ in history], no_update, "session"
    return [t for t in tracks if t != trigger["index"]], no_update, no_update  # a remove button


@callback(
    Output(ids.SESSION_LIST, "children"),
    Output(ids.SESSION_RECS, "children"),
    Input(ids.SESSION_STORE, "data"),
    Input(ids.SESSION_ALPHA, "value"),
)
def show_session(tracks, alpha):
    """The playlist with remove buttons, and recommendations for all of it."""
    if alpha is None:
        raise PreventUpdate
    try:
        rec = get_recommender()
    except ArtifactError:
        raise PreventUpdate
    known = []
    for track_id in tracks or []:
        try:
            known.append(rec.track(track_id))
        except UnknownTrackError:  # from an older artifact set
            log.info("session: dropping unknown track %r", track_id)
    if not known:
        return (components.empty_state("Your session is empty", "Search for tracks above and add a few.",
                                       icon="bi-music-note-list", id=ids.SESSION_EMPTY),
                components.empty_state("Recommendations appear as you add tracks", icon="bi-stars"))
    items = [html.Li([
        html.Div([html.Div(t.name, className="track-name"), html.Div(t.artist, className="meta small text-muted")],
                 className="body"),
        html.Button(html.I(className="bi bi-x-lg"), id={"type": ids.SESSION_REMOVE, "index": t.track_id},
                    className="btn btn-sm btn-outline-secondary remove", title=f"Remove {track_label(t)}",
                    **{"aria-label": f"Remove {track_label(t)}"}),
    ], className="session-item") for t in known]
    playlist = html.Div([html.Ol(items, className="session-list", id=ids.SESSION_TRACKS),
                         html.Div(f"{len(known)} track{'s' if len(known) != 1 else ''}"
                                  + (f" (at most {MAX_SESSION})" if len(known) >= MAX_SESSION else ""),
                                  className="small text-muted")])
    try:
        recs = rec.recommend_for_tracks([t.track_id for t in known], k=10, alpha=float(alpha))
    except RecommenderError as exc:
        log.warning("session: cannot recommend: %s", exc)
        return playlist, components.notice(str(exc), dismissable=False)
    return playlist, components.recommendation_list(recs, alpha=float(alpha), id=ids.SESSION_RECS_LIST)


search_session_tracks = components.register_track_search(ids.SESSION_PICK, keep_selection=False)
