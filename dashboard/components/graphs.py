"""A figure on the page, drawn when it comes into view, in a box as tall as the figure from the first paint.

Drawing a figure is the costliest thing a page does in the browser: plotly.js
(1.2 MB) has to load and parse, and each figure blocks the page for tens of
milliseconds (a phone takes four times as long). A page like Data holds six
figures, most of them below the fold. So a graph starts as an empty box of the
figure's height that carries the graph in its ``data-graph`` attribute and
holds only a marker; ``assets/lazy-graphs.js`` puts the ``dcc.Graph`` in the
marker's place once the box enters the viewport (at
once where the browser cannot tell). The box keeps everything below it in
place when the figure appears.
"""
from __future__ import annotations

import json

from dash import html
from plotly.io.json import to_json_plotly

from .. import figures, ids

#: The box's class and its marker's, which ``assets/lazy-graphs.js`` looks for.
LAZY_CLASS, PENDING_CLASS = "lazy-graph", "lazy-graph-pending"


def graph(figure: dict, graph_id: str) -> html.Div:
    """A box of ``figure``'s height in which the browser draws ``figure`` (as a ``dcc.Graph`` with
    id ``graph_id`` and the shared config) when the box comes into view."""
    height = f"{figure['layout']['height']}px"
    props = {"id": graph_id, "figure": figure, "config": figures.GRAPH_CONFIG, "style": {"height": height}}
    box_id = {"type": ids.LAZY_GRAPH, "index": graph_id}
    return html.Div(html.Span(className=PENDING_CLASS), id=box_id, className=LAZY_CLASS,
                    style={"minHeight": height}, **{"data-graph": to_json_plotly(props)})


def graph_props(box: html.Div) -> dict:
    """The ``dcc.Graph`` properties a :func:`graph` box holds (``figure``, ``id``, ``config``, ``style``)."""
    return json.loads(getattr(box, "data-graph"))
