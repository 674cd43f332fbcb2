"""Data (``/data``): the catalogue and listening statistics and the build manifest of the loaded artifact set.

Everything here was computed at build time (``engine.stats``) and is read from
the manifest; the page only lays it out.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from engine import ArtifactError

from dashboard import components, figures, ids
from dashboard.access import get_loaded
from dashboard.views import evaluation_rows, evaluation_table, model_comparison, new_release_summary

dash.register_page(__name__, path="/data", name="Data", title="Data · Hybrid music recommender", order=4,
                   description="Catalogue and listening statistics and how the artifacts were built.")

#: Build stages in pipeline order (the manifest stores them sorted by name).
STAGE_ORDER = ("hash_inputs", "ingest_catalogue", "ingest_listening", "interactions", "content", "collaborative",
               "collab_cache", "statistics", "evaluation", "write")


def layout(**_unused):
    try:
        loaded = get_loaded()
    except ArtifactError as exc:
        return components.no_artifacts(exc)
    manifest = loaded.recommender.manifest
    stats = manifest.get("statistics", {})
    return html.Div([
        components.page_header("Data", "What the recommender was built from, and how."),
        _stat_cards(stats),
        dbc.Row([
            dbc.Col(components.section(
                "Popularity long tail",
                components.graph(figures.long_tail(stats["listeners_per_track"]["rank"],
                                                   stats["listeners_per_track"]["listeners"]), ids.DATA_LONG_TAIL),
                subtitle="Listeners per track against the track's popularity rank (log–log): a few tracks have "
                         "most of the listeners."), lg=6),
            dbc.Col(components.section(
                "Listener activity",
                dcc.Tabs([
                    dcc.Tab(components.graph(figures.log_histogram(stats["tracks_per_listener"]["edges"],
                                                                   stats["tracks_per_listener"]["counts"],
                                                                   "distinct tracks per listener"),
                                             ids.DATA_TRACKS_PER_LISTENER), label="Tracks per listener"),
                    dcc.Tab(components.graph(figures.log_histogram(stats["playcount"]["edges"],
                                                                   stats["playcount"]["counts"],
                                                                   "play count of a (listener, track) pair",
                                                                   colour=figures.COLLAB),
                                             ids.DATA_PLAY_COUNTS), label="Play counts"),
                ], id=ids.DATA_ACTIVITY),
                subtitle="Both heavy-tailed, on log–log axes."), lg=6),
        ]),
        dbc.Row([
            dbc.Col(components.section("Audio features", _audio(stats.get("audio") or {}, manifest)), lg=7),
            dbc.Col(components.section(
                "Top tags", components.graph(figures.top_tags(stats.get("top_tags", [])[:20]), ids.DATA_TAGS)
                if stats.get("top_tags") else
                html.P("No track has tags.", className="text-muted mb-0"),
                subtitle="Number of tracks carrying each of the 20 most used tags."), lg=5),
        ]),
        _manifest_section(loaded),
        _evaluation_section(loaded.evaluation),
    ])


def _stat_cards(stats: dict):
    tracks = stats.get("tracks", 0)
    cold = stats.get("cold_tracks", 0)
    cards = [
        ("tracks", f"{tracks:,}", f"by {stats.get('artists', 0):,} artists"),
        ("listeners", f"{stats.get('listeners', 0):,}", None),
        ("listening rows", f"{stats.get('rows', 0):,}", f"{stats.get('plays', 0):,} plays"),
        ("density", f"{100 * stats.get('density', 0):.3f} %", "of all listener × track pairs"),
        ("cold tracks", f"{cold:,}", f"{100 * cold / max(tracks, 1):.1f} % with no listener"),
    ]
    return dbc.Row([dbc.Col(components.stat_card(label, value, hint), className="mb-3")
                    for label, value, hint in cards], id=ids.DATA_STATS, className="row-cols-2 row-cols-lg-5")


def _audio(audio: dict, manifest: dict):
    if not audio:
        absent = "audio" in manifest.get("content", {}).get("absent_blocks", [])
        return html.P("This data set has no audio features" + (" (the content similarity is built without them)."
                                                               if absent else "."),
                      className="text-muted mb-0", id=ids.DATA_AUDIO)
    # One small graph per feature (not one figure of nine subplots): each is drawn on its own, when it is in view.
    return html.Div([
        html.P("Distribution of each feature over the catalogue.", className="text-muted small mb-1"),
        dbc.Row([dbc.Col(_audio_histogram(feature, histogram), xs=6, md=4, className="mb-2")
                 for feature, histogram in audio.items()], className="g-2"),
    ], id=ids.DATA_AUDIO)


def _audio_histogram(feature: str, histogram: dict) -> list:
    return [html.Div(figures.AUDIO_LABELS.get(feature, feature), className="small fw-semibold text-center"),
            components.graph(figures.audio_histogram(feature, histogram["edges"], histogram["counts"]),
                             f"{ids.DATA_AUDIO}-{feature}")]


def _manifest_section(loaded):
    m = loaded.recommender.manifest
    rows = [("version", m.get("version")), ("built", m.get("created_at")),
            ("build time", f"{m['build_seconds']:.1f} s" if "build_seconds" in m else None),
            ("scheduler", m.get("scheduler")), ("manifest", loaded.manifest_hash[:19] + "…"),
            ("collaborative model", ", ".join(f"{k} = {v}" for k, v in
                                              m.get("collaborative", {}).get("params", {}).items())),
            ("default α", m.get("defaults", {}).get("alpha")),
            ("content blocks", ", ".join(f"{figures.BLOCK_LABELS.get(b['name'], b['name'])} ({b['weight']:.2f})"
                                         for b in m.get("content", {}).get("blocks", []))),
            ("absent blocks", ", ".join(m.get("content", {}).get("absent_blocks", [])) or "none")]
    facts = _key_values([(k, v) for k, v in rows if v is not None])
    inputs = dbc.Table([html.Thead(html.Tr([html.Th("input"), html.Th("file"), html.Th("size"), html.Th("checksum")])),
                        html.Tbody([html.Tr([html.Td(name), html.Td(html.Code(info.get("path", ""))),
                                             html.Td(f"{info.get('bytes', 0) / 1e6:,.1f} MB"),
                                             html.Td(html.Code(str(info.get("checksum", ""))[:19] + "…"))])
                                    for name, info in m.get("inputs", {}).items()])],
                       size="sm", className="small mb-3", responsive=True)
    stages = m.get("stage_timings", {})
    ordered = {s: stages[s] for s in STAGE_ORDER if s in stages} | {s: v for s, v in stages.items()
                                                                    if s not in STAGE_ORDER}
    cleaning = m.get("cleaning", {})
    return components.section(
        "How these artifacts were built",
        dbc.Row([
            dbc.Col([facts, html.H3("Inputs", className="h6 mt-3"), inputs,
                     html.H3("Cleaning", className="h6"),
                     dbc.Row([dbc.Col([html.Div(name, className="small fw-semibold"),
                                       _key_values(sorted(report.items()), small=True)], md=6)
                              for name, report in cleaning.items()])], lg=7),
            dbc.Col([html.H3("Stage timings", className="h6"),
                     components.graph(figures.stage_timings(ordered), ids.DATA_TIMINGS) if ordered else
                     html.P("Not recorded.", className="text-muted")],
                    lg=5),
        ]), id=ids.DATA_MANIFEST)


def _key_values(pairs, small: bool = False):
    return html.Dl([item for key, value in pairs for item in (
        html.Dt(str(key).replace("_", " "), className=f"{'col-8' if small else 'col-4'} fw-normal text-muted"),
        html.Dd(_value_text(value), className=f"{'col-4' if small else 'col-8'} mb-1"))],
        className="row mb-0" + (" small" if small else ""))


def _value_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _evaluation_section(evaluation):
    rows = evaluation_rows(evaluation)
    if not rows:
        return components.section("Offline evaluation", html.P(
            "This artifact set has no offline evaluation (the build did not write evaluation.json).",
            className="text-muted mb-0", id=ids.DATA_EVALUATION))
    chosen = (evaluation or {}).get("chosen") or {}
    ks = sorted({r["k"] for r in rows if r["k"] is not None}) or [None]
    tables = [dcc.Tab(_evaluation_table(rows, k, chosen.get("alpha")), label=f"k = {k:g}" if k else "all")
              for k in ks]
    protocol = (evaluation or {}).get("protocol") or {}
    listeners = protocol.get("evaluated_listeners")
    subtitle = "Measured at build time on held-out listening" + (
        f" of {listeners:,} listeners" if isinstance(listeners, int) else "") + \
        "; the bold row is the hybrid at the α the build chose."
    body = [dcc.Tabs(tables) if len(tables) > 1 else tables[0].children,
            *_new_release_table(new_release_summary(evaluation)),
            *_models_table(evaluation, chosen.get("k", ks[0]))]
    return components.section("Offline evaluation", html.Div(body), subtitle=subtitle, id=ids.DATA_EVALUATION)


def _new_release_table(summary):
    """What the new-release protocol measured: the chosen α against listening only and content only."""
    if not summary:
        return []
    protocol = summary["protocol"]
    metrics = [("ndcg@10", "NDCG@10"), ("recall@50", "recall@50"), ("new_share@10", "never played in top 10")]
    rows = [(f"hybrid at the chosen α = {summary['chosen_alpha']:g}", summary["at_default"], True),
            ("listening only (α = 0)", summary["listening_only"], False),
            ("content only (α = 1)", summary["content_only"], False)]
    head = html.Thead(html.Tr([html.Th("new releases"), *[html.Th(label) for _, label in metrics]]))
    body = html.Tbody([html.Tr([html.Td(name), *[html.Td(f"{values[m]:.4f}" if m in values else "")
                                                 for m, _ in metrics]], className="fw-bold" if bold else None)
                       for name, values, bold in rows])
    held, listeners = protocol.get("held_out_tracks"), protocol.get("evaluated_listeners")
    described = (f"{held:,} tracks lost all their listening before the build; {listeners:,} listeners who had "
                 f"played them were asked for 50 tracks each." if isinstance(held, int) and isinstance(listeners, int)
                 else "A share of the tracks lost all their listening before the build.")
    return [html.H3("New releases: tracks nobody had played", className="h6 mt-4 mb-1"),
            html.P(described + " Their listening score comes from their nearest tracks in content.",
                   className="small text-muted mb-1"),
            dbc.Table([head, body], size="sm", striped=True, hover=True, responsive=True,
                      className="small mb-0", id=ids.DATA_NEW_RELEASES)]


def _models_table(evaluation, k):
    """The collaborative models the build compared (listening only), the chosen one in bold."""
    records = model_comparison(evaluation, k) if k is not None else []
    if not records:
        return []
    metrics = [m for m in ("ndcg", "precision", "recall", "coverage", "novelty") if m in records[0]]
    head = html.Thead(html.Tr([html.Th("collaborative model"), *[html.Th(f"{m}@{k:g}") for m in metrics]]))
    body = html.Tbody([html.Tr([html.Td(r["model"]), *[html.Td(f"{r[m]:.4f}" if m in r else "") for m in metrics]],
                               className="fw-bold" if r["chosen"] else None) for r in records])
    return [html.H3(f"Collaborative models compared, listening only (α = 0), best NDCG@{k:g} first",
                    className="h6 mt-4 mb-1"),
            dbc.Table([head, body], size="sm", striped=True, hover=True, responsive=True,
                      className="small mb-0", id=ids.DATA_MODELS)]


def _evaluation_table(rows, k, chosen_alpha):
    metrics, records = evaluation_table(rows, k)
    head = html.Thead(html.Tr([html.Th("method"), html.Th("α"), *[html.Th(m.replace("_", " ")) for m in metrics]]))
    body = html.Tbody([html.Tr([html.Td(r["method"]), html.Td("" if r["alpha"] is None else f"{r['alpha']:g}"),
                                *[html.Td(f"{r[m]:.4f}" if m in r else "") for m in metrics]],
                               className="fw-bold" if r["method"] == "hybrid" and r["alpha"] == chosen_alpha else None)
                       for r in records])
    return dbc.Table([head, body], size="sm", striped=True, hover=True, responsive=True, className="small mb-0 mt-2")
