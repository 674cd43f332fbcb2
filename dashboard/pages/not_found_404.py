"""The page for any path that is not a page (Dash Pages picks ``not_found_404`` up by its name)."""
from __future__ import annotations

import logging

import dash
from dash import dcc, html

from dashboard import components, ids

dash.register_page(__name__, path="/404", name="Not found", title="Not found · Hybrid music recommender")
log = logging.getLogger(__name__)


def layout(**_unused):
    return components.empty_state(
        "There is no page here",
        [html.P("The address may be mistyped, or the page has moved."),
         html.Div([dcc.Link("Discover tracks", href="/", className="chip"),
                   dcc.Link("For you", href="/user", className="chip"),
                   dcc.Link("About the data", href="/data", className="chip")], className="chips")],
        icon="bi-signpost-split", level=1, id=ids.NOT_FOUND)
