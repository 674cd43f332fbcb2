"""Friendly notices and empty states: what happened and what to do next, never a traceback."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from .. import ids


def notice(text, color: str = "warning", dismissable: bool = True, **kwargs) -> dbc.Alert:
    """A one-line notice (a bad URL value, an unknown id), dismissable unless it replaces the page's content."""
    return dbc.Alert(text, color=color, dismissable=dismissable, className="notice py-2", **kwargs)


def empty_state(title: str, body=None, icon: str = "bi-music-note-beamed", level: int = 3, **kwargs) -> html.Div:
    """A calm placeholder for a list or chart with nothing to show yet.

    ``level`` is the title's heading level: one below the heading the
    placeholder sits under (1 when it is the whole page).
    """
    heading = getattr(html, f"H{level}")
    return html.Div([html.I(className=f"bi {icon} empty-icon", **{"aria-hidden": "true"}),
                     heading(title, className="h5 mt-2"),
                     html.Div(body, className="text-muted") if body else None],
                    className="empty-state text-center", **kwargs)


def no_artifacts(error) -> html.Div:
    """The page body when no artifact set can be loaded."""
    return empty_state(
        "No recommender data is loaded yet",
        [html.P("The dashboard found no usable artifact set, so there is nothing to recommend from."),
         html.P(["Build one with ", html.Code("make artifacts"), " (or ", html.Code("python -m build.refresh"),
                 "); this page picks it up without a restart."]),
         html.Details([html.Summary("Details"), html.Pre(str(error), className="small text-wrap")],
                      className="small")],
        icon="bi-database-x", level=1, id=ids.NO_ARTIFACTS)
