"""Explain (``/explain?seed=…&track=…&alpha=…``): why one track is recommended for a seed.

Everything shown comes from :meth:`engine.Recommender.explain` and
:meth:`engine.Recommender.rank_by_alpha`; the page is built once per URL.
"""
from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from engine import DEFAULT_ALPHAS, ArtifactError, UnknownTrackError

from dashboard import components, figures, ids, urls
from dashboard.access import get_recommender
from dashboard.components.tracks import track_label
from dashboard.views import most_popular

dash.register_page(__name__, path="/explain", name="Explain", title="Explain · Hybrid music recommender", order=1,
                   description="Why a track is recommended: feature blocks, audio, tags and shared listeners.")
log = logging.getLogger(__name__)


def layout(seed=None, track=None, alpha=None, **_unused):
    try:
        rec = get_recommender()
    except ArtifactError as exc:
        return components.no_artifacts(exc)
    header = components.page_header("Why this recommendation?",
                                    "What the seed and the recommended track have in common, block by block.")
    if not seed or not track:
        return html.Div([header, _how_to(rec)])
    alpha_value, alpha_note = urls.parse_alpha(alpha, rec.default_alpha)
    unknown = []
    for role, value in (("seed", seed), ("track", track)):
        try:
            rec.track(value)
        except UnknownTrackError:
            log.warning("explain: unknown %s id %r in the URL", role, value)
            unknown.append(f"There is no track with id “{value}” (the {role}) in this catalogue.")
    if unknown:
        return html.Div([header, *[components.notice(u, dismissable=False) for u in unknown], _how_to(rec)])
    if seed == track:
        return html.Div([header, components.notice("The seed and the track are the same track: a seed is never "
                                                   "recommended for itself.", dismissable=False), _how_to(rec)])
    explanation = rec.explain(seed, track)
    ranks = rec.rank_by_alpha(seed, track, DEFAULT_ALPHAS)
    notes = [components.notice(alpha_note)] if alpha_note else []
    return html.Div([header, *notes, *_body(rec, explanation, ranks, alpha_value)])


def _body(rec, e, ranks, alpha: float) -> list:
    seed, track = e.seed, e.track
    current_rank = ranks[DEFAULT_ALPHAS.index(alpha)] if alpha in DEFAULT_ALPHAS else \
        rec.rank_by_alpha(seed.track_id, track.track_id, [alpha])[0]
    back = dcc.Link([html.I(className="bi bi-arrow-left me-1"), f"All recommendations for {seed.name}"],
                    href=urls.link("/", track=seed.track_id, alpha=alpha), className="small")
    cards = dbc.Row([
        dbc.Col(components.track_card(seed, "Seed", e.shared_tags, href=urls.link("/", track=seed.track_id)), md=6,
                className="mb-3"),
        dbc.Col(components.track_card(track, "Recommended", e.shared_tags, href=urls.link("/", track=track.track_id)),
                md=6,
                className="mb-3"),
    ], id=ids.EXPLAIN_HEADER)
    facts = dbc.Row([
        dbc.Col(components.stat_card("content similarity", f"{e.content_similarity:.3f}",
                                     "tags, sound, artist… (−1 to 1)"), sm=6, lg=3, className="mb-3"),
        dbc.Col(components.stat_card("collaborative similarity", f"{e.collab_similarity:.3f}",
                                     "estimated from similar tracks" if e.estimated_from else
                                     "from who listens to both"), sm=6, lg=3, className="mb-3"),
        dbc.Col(components.stat_card("shared listeners", f"{e.shared_listeners:,}",
                                     f"of {seed.n_listeners:,} and {track.n_listeners:,}"), sm=6, lg=3,
                className="mb-3"),
        dbc.Col(components.stat_card(f"rank at α = {alpha:g}", f"#{current_rank}" if current_rank else "—",
                                     f"among {len(rec.tracks) - 1:,} candidates"), sm=6, lg=3, className="mb-3"),
    ], id=ids.EXPLAIN_FACTS)
    estimate = _estimate_note(e, seed, track, alpha)
    absent = rec.manifest.get("content", {}).get("absent_blocks", [])
    blocks_note = (html.P(f"Not in this data set: {', '.join(figures.BLOCK_LABELS.get(b, b) for b in absent)}.",
                          className="small text-muted mb-0") if absent else None)
    blocks = components.section(
        "Content similarity by feature block",
        components.graph(figures.content_blocks(e.content_by_block), ids.EXPLAIN_BLOCKS),
        blocks_note, subtitle="Each block's weighted cosine; the bars add up to the content similarity.")
    radar = components.section("Audio features",
                               components.audio_comparison(e, "audio" in rec.content_blocks),
                               subtitle="Each feature on its own 0–1 scale (loudness −60…5 dB, tempo 0…300 BPM).")
    tags = components.section(
        "Shared tags",
        html.Div([components.tag_badges(e.shared_tags, highlight=e.shared_tags, limit=None),
                  html.P(f"{len(e.shared_tags)} of the seed's {len(seed.tags)} tags are also on this track.",
                         className="small text-muted mt-2 mb-0")] if e.shared_tags else
                 html.P("These tracks share no tag.", className="text-muted mb-0"), id=ids.EXPLAIN_TAGS))
    rank_chart = components.section(
        "Rank at each α",
        components.graph(figures.rank_by_alpha(DEFAULT_ALPHAS, ranks, alpha, k=10), ids.EXPLAIN_RANKS),
        subtitle="Where this track lands among the seed's recommendations as the blend moves from listening "
                 "behaviour (0) to content (1); the green band is the top 10.")
    return [html.Div(back, className="mb-2"), cards, facts, estimate,
            dbc.Row([dbc.Col(blocks, lg=6), dbc.Col(radar, lg=6)]),
            dbc.Row([dbc.Col(tags, lg=5), dbc.Col(rank_chart, lg=7)])]


def _estimate_note(e, seed, track, alpha: float):
    """For a never-played seed or track: the tracks its listening similarity is estimated from."""
    if not e.estimated_from:
        return None
    new = track if track.n_listeners == 0 else seed
    links = [dcc.Link(t.name, href=urls.link("/explain", seed=seed.track_id, track=t.track_id, alpha=alpha)
                      if t.track_id != seed.track_id else urls.link("/", track=t.track_id, alpha=alpha))
             for t in e.estimated_from[:5]]
    listed = [part for i, link in enumerate(links) for part in ((", " if i else ""), link)]
    return components.section(
        "Why a never-played track has a listening score",
        html.P([html.Strong(new.name), " has no listeners yet, so its collaborative similarity is estimated from "
                "the tracks with listeners most like it in content: ", *listed,
                f"{' and others' if len(e.estimated_from) > 5 else ''}."], className="mb-0"),
        id=ids.EXPLAIN_ESTIMATE)


def _how_to(rec):
    """The empty state, with one real example to click."""
    example = None
    popular = most_popular(rec.tracks, 1)
    if popular:
        top = rec.recommend(popular[0], k=1, alpha=rec.default_alpha)
        if top:
            example = dcc.Link(f"Why {top[0].name} for {track_label(rec.track(popular[0]))}?",
                               href=urls.link("/explain", seed=popular[0], track=top[0].track_id),
                               className="chip")
    return components.empty_state(
        "Pick a recommendation to explain",
        [html.P(["On ", dcc.Link("Discover", href="/"), ", choose a track and press “Why this?” next to any "
                 "result."]), html.Div(["Or open an example: ", example], className="chips") if example else None],
        icon="bi-question-circle", level=2, id=ids.EXPLAIN_EMPTY)
