"""Tracks, recommendations and listening histories as lists a person can scan."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from ..urls import link
from ..views import score_parts

MAX_TAGS = 5


def track_label(track) -> str:
    """``Name — Artist (year)`` for pickers (the artist is left out when it equals the name)."""
    text = track.name if track.artist == track.name else f"{track.name} — {track.artist}"
    return f"{text} ({track.year})" if track.year else text


def track_option(track) -> dict:
    return {"label": track_label(track), "value": track.track_id}


def tag_badges(tags, highlight=(), limit: int | None = MAX_TAGS, class_name: str = "") -> html.Div:
    """Tags as pills; tags in ``highlight`` stand out (used for tags two tracks share)."""
    highlight = set(highlight)
    shown = list(tags) if limit is None else list(tags)[:limit]
    return html.Div([html.Span(tag, className="tag shared" if tag in highlight else "tag") for tag in shown],
                    className=f"tags {class_name}".strip())


def audio_player(url: str | None):
    """An <audio> preview; ``preload="none"`` so nothing is fetched until the person presses play."""
    if not url:
        return None
    return html.Audio(src=url, controls=True, preload="none", className="preview")


def new_badge(n_listeners: int | None):
    """A "new" badge for a track nobody in the listening data has played (``n_listeners == 0``), else None.

    Screen readers read it as "new: nobody has played it yet".
    """
    if n_listeners != 0:
        return None
    return html.Span(["new", html.Span(": nobody has played it yet", className="visually-hidden")],
                     className="badge new-badge",
                     title="Nobody has played this track yet: its listening score is estimated from similar tracks")


def score_bar(content_part: float, collab_part: float, score: float) -> html.Div:
    """The score as one bar split into its content (blue) and listening-behaviour (orange) parts, and its value.

    The two parts are one CSS gradient rather than an element each: every Dash component costs the browser
    a React component, and a list of 50 redraws on every change of α.
    """
    content, both = 100 * content_part, 100 * (content_part + collab_part)
    gradient = (f"linear-gradient(to right, var(--content) 0 {content:.1f}%, var(--collab) {content:.1f}% "
                f"{both:.1f}%, transparent {both:.1f}%)")
    return html.Div([html.Div(className="score-bar", style={"backgroundImage": gradient}), f"{score:.2f}"],
                    className="score", title=f"score {score:.2f} = content {content_part:.2f} + listeners "
                                             f"{collab_part:.2f}")


def score_legend() -> html.Div:
    return html.Div([html.Span(className="swatch content"), "content",
                     html.Span(className="swatch collab ms-3"), "listening behaviour"],
                    className="score-legend small text-muted")


def _tag_line(tags):
    """A list item's top tags as one line of text (pills are one element each; a list shows many items)."""
    shown = list(tags)[:MAX_TAGS]
    return html.Div(" · ".join(shown), className="tag-line small") if shown else None


def _meta(artist: str | None, year, listeners: int | None) -> html.Div:
    parts = [p for p in (artist, str(year) if year else None,
                         f"{listeners:,} listener{'s' if listeners != 1 else ''}" if listeners is not None else None)
             if p]
    return html.Div(" · ".join(parts), className="meta text-muted small")


def recommendation_list(recs, alpha: float, seed_id: str | None = None, **kwargs) -> html.Div:
    """Ranked recommendations: name, artist, year, top tags, preview and a split score bar.

    The rank is the list's own numbering (``<ol>``, drawn by CSS). Each item is kept to ten components
    because the browser's cost of redrawing the list on every change of α grows with their number.

    With ``seed_id`` each name opens the explanation of that recommendation;
    without (recommendations for a listener or a session) it opens Discover
    seeded with the track.
    """
    items = []
    for rec in recs:
        content_part, collab_part = score_parts(rec.content_score, rec.collab_score, alpha)
        href = (link("/explain", seed=seed_id, track=rec.track_id, alpha=alpha) if seed_id
                else link("/", track=rec.track_id, alpha=alpha))
        action = "Why this?" if seed_id else "More like this"
        items.append(html.Li([
            html.Div([
                dcc.Link(rec.name, href=href, className="track-name"),
                new_badge(rec.n_listeners),
                _meta(rec.artist if rec.artist != rec.name else None, rec.year, rec.n_listeners),
                _tag_line(rec.tags),
                audio_player(rec.preview_url),
            ], className="body"),
            html.Div([score_bar(content_part, collab_part, rec.score),
                      dcc.Link(action, href=href, className="small explain-link")], className="side"),
        ], className="rec-item", **{"data-track": rec.track_id}))
    return html.Div([score_legend(), html.Ol(items, className="rec-list")], **kwargs)


def track_card(track, role: str, shared_tags=(), href: str | None = None) -> dbc.Card:
    """One track in full: name, artist, year, genre, listeners, all tags and its preview."""
    title = dcc.Link(track.name, href=href) if href else track.name
    return dbc.Card(dbc.CardBody([
        html.Div(role, className="text-uppercase small text-muted fw-semibold"),
        html.H2([title, new_badge(track.n_listeners)], className="h4 mb-1"),
        _meta(track.artist if track.artist != track.name else None, track.year, track.n_listeners),
        html.Div(f"genre: {track.genre}", className="small text-muted") if track.genre else None,
        tag_badges(track.tags, highlight=shared_tags, limit=None, class_name="mt-2"),
        audio_player(track.preview_url),
    ]), className="h-100 shadow-sm track-card")


def history_list(history, **kwargs) -> html.Div:
    """A listener's most played tracks with their play counts as bars (relative to the top one)."""
    top = max((count for _, count in history), default=1)
    items = [html.Li([
        html.Div([dcc.Link(track.name, href=link("/", track=track.track_id), className="track-name"),
                  _meta(track.artist if track.artist != track.name else None, track.year, None)],
                 className="body"),
        html.Div([html.Div(html.Div(className="plays-fill", style={"width": f"{100 * count / top:.1f}%"}),
                           className="plays-bar"),
                  html.Span(f"{count:,} play{'s' if count != 1 else ''}", className="small text-muted plays")],
                 className="side"),
    ], className="history-item") for track, count in history]
    return html.Div(html.Ol(items, className="history-list"), **kwargs)
