"""A figure on the page: a ``dcc.Graph`` in a box that is as tall as the figure from the first paint."""
from __future__ import annotations

from dash import dcc, html

from .. import figures


def graph(figure: dict, id: str | None = None) -> html.Div:  # noqa: A002 (Dash's own name)
    """``dcc.Graph`` of ``figure`` (with the shared config and ``id``) in a box of the figure's height.

    The graph component and plotly.js load after the page's text, and until
    they do the graph takes no room: without the box everything below it would
    jump down when the figure appears (a layout shift).
    """
    props = {"id": id} if id is not None else {}
    height = f"{figure['layout']['height']}px"
    return html.Div(dcc.Graph(figure=figure, config=figures.GRAPH_CONFIG, style={"height": height}, **props),
                    style={"minHeight": height})
