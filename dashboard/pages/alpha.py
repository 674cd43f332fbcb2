"""α sensitivity (``/alpha?track=…&k=…``): how a seed's top-k list changes as α goes from 0 to 1.

The sweep over the 21 α values is an ordinary callback: the engine ranks the
catalogue at every α in a few milliseconds even at full scale, so there is
nothing to wait for and nothing to cache. The page's layout draws the sweep its URL asks for. The
offline metrics against α come from the build's evaluation, when it produced
one.
"""
from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from engine import DEFAULT_ALPHAS, ArtifactError, RecommenderError

from dashboard import components, figures, ids, sync, urls
from dashboard.access import get_loaded, get_recommender
from dashboard.components.tracks import track_label
from dashboard.views import evaluation_rows, protocol_curves, rank_trajectories

dash.register_page(__name__, path="/alpha", name="α sensitivity", title="α sensitivity · Hybrid music recommender",
                   order=2, description="How one seed's recommendations change as α moves from 0 to 1.")
log = logging.getLogger(__name__)

REFERENCE_ALPHA = 0.5


def _parse(rec, args: dict) -> tuple[dict, list]:
    """Validated view state from URL arguments, and what had to be replaced (None where nothing was)."""
    k, k_note = urls.parse_k(args.get("k"))
    track, track_note = sync.parse_track(rec, args.get("track"), "alpha")
    return {"track": track, "k": k}, [k_note, track_note]


def layout(track=None, k=None, **_unused):
    try:
        loaded = get_loaded()
    except ArtifactError as exc:
        return components.no_artifacts(exc)
    rec = loaded.recommender
    state, notices = sync.from_args(rec, {"track": track, "k": k}, _parse)
    seed = rec.track(state["track"]) if state["track"] else None
    controls = dbc.Row([
        dbc.Col([html.Label("Seed track", htmlFor=ids.ALPHA_TRACK, className="form-label small fw-semibold mb-1"),
                 components.track_picker(ids.ALPHA_TRACK, seed)], md=7),
        dbc.Col([html.Label("List length k", className="form-label small fw-semibold mb-0"),
                 components.k_control(ids.ALPHA_K, state["k"], label="List length k")], md=5),
    ], className="align-items-end")
    return html.Div([
        dcc.Location(id=ids.ALPHA_URL, refresh=False),
        sync.shown(ids.ALPHA_SHOWN, state),
        components.page_header("α sensitivity", f"How one seed's top-k list changes as α moves from 0 (who listens) "
                                               f"to 1 (what it sounds like), over {len(DEFAULT_ALPHAS)} steps."),
        html.Div(notices, id=ids.ALPHA_NOTICE),
        components.section(None, controls),
        html.Div(sweep(state), id=ids.ALPHA_RESULTS),
        _metrics_section(loaded.evaluation),
    ])


@callback(
    Output(ids.ALPHA_URL, "search"),
    Output(ids.ALPHA_TRACK, "value"),
    Output(ids.ALPHA_TRACK, "options"),
    Output(ids.ALPHA_K, "value"),
    Output(ids.ALPHA_NOTICE, "children"),
    Output(ids.ALPHA_RESULTS, "children"),
    Output(ids.ALPHA_SHOWN, "data"),
    Input(ids.ALPHA_URL, "search"),
    Input(ids.ALPHA_TRACK, "value"),
    Input(ids.ALPHA_K, "value"),
    State(ids.ALPHA_SHOWN, "data"),
)
def sync_view(search, track, k, shown):
    """URL -> controls and sweep (back/forward, a link), or controls -> URL and sweep; nothing when the page
    already shows that view (the layout drew it)."""
    try:
        rec = get_recommender()
    except ArtifactError:
        raise PreventUpdate
    if sync.url_changed(ids.ALPHA_URL):
        state, notices = sync.from_url(rec, search, _parse)
        if state == shown:
            raise PreventUpdate
        return (no_update, state["track"], sync.track_options(rec, state["track"]), state["k"], notices,
                sweep(state), state)
    if k is None:
        raise PreventUpdate
    state = {"track": track, "k": int(k)}
    if state == shown:
        raise PreventUpdate
    return urls.search_string(**state), no_update, no_update, no_update, [], sweep(state), state


search_tracks = components.register_track_search(ids.ALPHA_TRACK)


def sweep(state) -> html.Div:
    """The seed's top-k at every α, drawn; a notice for a state no control of the page can produce."""
    if not isinstance(state, dict) or not isinstance(state.get("track"), str):
        return _empty()
    k = state.get("k")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 50:
        log.warning("alpha: sweep with an invalid k %r ignored", k)
        return components.notice(f"k must be a whole number from 1 to 50, not {k!r}.", dismissable=False)
    track = state["track"]
    try:
        rec = get_recommender()
        result = rec.alpha_sweep(track, k=k, alphas=DEFAULT_ALPHAS)
        trajectories = rank_trajectories(result)
        shown = {t: rec.track(t) for t in trajectories}
        names = {t: shown[t].name for t in trajectories}
        new = {t for t, info in shown.items() if info.n_listeners == 0}
        seed = rec.track(track)
    except (ArtifactError, RecommenderError) as exc:
        log.warning("alpha: sweep for %r failed: %s", state, exc)
        return components.notice(str(exc), color="danger", dismissable=False)
    return _results(seed, k, result, trajectories, names, new)


def _results(seed, k, result, trajectories, names, new=frozenset()):
    shares = result.overlap_with(REFERENCE_ALPHA)
    first, last = result.ranking[0], result.ranking[-1]
    common = len(set(first) & set(last))
    summary = html.P([
        html.Strong(f"{len(trajectories)} different tracks"), f" reach the top {k} for ",
        dcc.Link(track_label(seed), href=urls.link("/", track=seed.track_id, k=k)),
        f" somewhere between α = 0 and α = 1; the two ends share {common} of {k}.",
    ], className="mb-2")
    bump = components.section(
        "Rank trajectories", summary,
        components.graph(figures.bump_chart(result.alphas, trajectories, names, k), ids.ALPHA_BUMP),
        subtitle="One line per track, labelled with its rank at both ends; a gap means the track is outside the "
                 "top k at that α. Orange: in the list at low α (listening behaviour); blue: at high α (content); "
                 "grey: throughout.")
    overlap = components.section(
        f"Overlap with the α = {REFERENCE_ALPHA:g} list, and new tracks",
        components.graph(figures.overlap(result.alphas, shares, REFERENCE_ALPHA, result.new_share),
                         ids.ALPHA_OVERLAP),
        subtitle="Bars: share of each list that is also in the balanced list. Line: share of each list that "
                 "nobody has played yet (their listening score is estimated from similar tracks).")
    ends = components.section(
        "The lists side by side",
        dbc.Row([dbc.Col(_mini_list(title, result.ranking[result.alphas.index(a)], names, seed.track_id, a, new))
                 for title, a in (("α = 0 · listeners", 0.0), (f"α = {REFERENCE_ALPHA:g}", REFERENCE_ALPHA),
                                  ("α = 1 · content", 1.0))], id=ids.ALPHA_EXTREMES))
    return html.Div([bump, dbc.Row([dbc.Col(overlap, lg=6), dbc.Col(ends, lg=6)])])


def _mini_list(title, ranking, names, seed_id, alpha, new=frozenset()):
    return html.Div([html.Div(title, className="small fw-semibold text-muted mb-1"),
                     html.Ol([html.Li([dcc.Link(names.get(t, t), href=urls.link("/explain", seed=seed_id, track=t,
                                                                              alpha=alpha)),
                                       components.new_badge(0) if t in new else None])
                              for t in ranking], className="mini-list small")])


def _empty():
    return components.empty_state("Pick a seed track",
                                  "Search for a track above to see how its recommendations move with α.",
                                  icon="bi-sliders", level=2, id=ids.ALPHA_EMPTY)


def _metrics_section(evaluation):
    rows = evaluation_rows(evaluation)
    if not rows:
        body = html.P("This artifact set has no offline evaluation (the build did not write evaluation.json), so "
                      "there are no metrics to plot against α.", className="text-muted mb-0", id=ids.ALPHA_METRICS)
        return components.section("Offline metrics against α", body)
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    default = next((m for m in metrics if m.lower().startswith("ndcg")), metrics[0])
    chosen = evaluation.get("chosen") or {}
    choice = (html.P([f"The build chose α = {chosen['alpha']:g}", f" ({chosen['rule']})" if chosen.get("rule") else "",
                      "."], className="small mb-2") if _chosen_alpha(evaluation) is not None else None)
    curves = protocol_curves(evaluation)
    protocols = components.graph(figures.protocols_vs_alpha(curves, _chosen_alpha(evaluation)),
                                 ids.ALPHA_PROTOCOLS) if curves else None
    return components.section(
        "Offline metrics against α",
        choice,
        protocols,
        html.P("Left axis: listeners with a history (20 % of each listener's tracks held out). Right axis: new "
               "releases (a tenth of the tracks lost all their listening before the build); the build picks "
               "the α best for new releases among those as good as the best for listeners with a history.",
               className="small text-muted") if curves else None,
        html.Label("Metric", htmlFor=ids.ALPHA_METRIC, className="visually-hidden"),
        dcc.Dropdown(id=ids.ALPHA_METRIC, options=metrics, value=default, clearable=False,
                     className="metric-picker mb-2"),
        components.graph(figures.metric_vs_alpha(rows, default, _chosen_alpha(evaluation)), ids.ALPHA_METRICS),
        subtitle="Measured by the build on held-out listening; dashed lines are methods without α.")


def _chosen_alpha(evaluation) -> float | None:
    alpha = ((evaluation or {}).get("chosen") or {}).get("alpha")
    return float(alpha) if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) else None


@callback(Output(ids.ALPHA_METRICS, "figure"), Input(ids.ALPHA_METRIC, "value"), prevent_initial_call=True)
def show_metric(metric):
    try:
        evaluation = get_loaded().evaluation
    except ArtifactError:
        raise PreventUpdate
    rows = evaluation_rows(evaluation)
    if not metric or not rows:
        raise PreventUpdate
    return figures.metric_vs_alpha(rows, metric, _chosen_alpha(evaluation))
