"""Plotly figure builders: data in, figure out, no engine calls and no arithmetic on scores.

Figures are plain Plotly figure dicts (``{"data": [...], "layout": {...}}``),
which ``dcc.Graph`` takes as they are. Building them through
``plotly.graph_objects`` validates every property, which costs far more than
the recommendation itself; the tests validate these dicts once instead.

Colours are shared by every page: content is blue, listening behaviour
(collaborative) is orange, the seed track is grey, never-played tracks are raspberry.
"""
from __future__ import annotations

CONTENT = "#3366cc"
COLLAB = "#f08c00"
SEED = "#868e96"
TRACK = CONTENT
ACCENT = "#2f9e44"
NEUTRAL = "#9aa5b1"
NEW = "#c2255c"  # never-played (new) tracks, as their badge
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
GRAPH_CONFIG = {"displayModeBar": False}
ALPHA_TITLE = "α  (0 = listening behaviour only, 1 = content only)"

BLOCK_LABELS = {"tags": "Tags", "audio": "Audio features", "artist": "Same artist", "era": "Era (year)",
                "genre": "Genre", "key": "Key", "mode": "Mode (major/minor)", "time_signature": "Time signature"}
AUDIO_LABELS = {"danceability": "Danceability", "energy": "Energy", "loudness": "Loudness",
                "speechiness": "Speechiness", "acousticness": "Acousticness",
                "instrumentalness": "Instrumentalness", "liveness": "Liveness", "valence": "Valence",
                "tempo": "Tempo"}
#: Line colours of the evaluated methods (content and listeners keep their colours everywhere).
METHOD_COLOURS = {"content": CONTENT, "collaborative": COLLAB, "hybrid": "#7048e8", "popularity": SEED}

_GRID = "#e9ecef"
_AXIS = {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": "#ced4da", "automargin": True, "ticks": ""}


def _figure(data: list, height: int = 320, xaxis: dict | None = None, yaxis: dict | None = None,
            **layout) -> dict:
    """A figure dict with the shared look (white, light grid, system font); ``layout`` adds or overrides."""
    base = {"height": height, "font": {"family": FONT, "size": 13, "color": "#343a40"},
            "paper_bgcolor": "white", "plot_bgcolor": "white", "hovermode": "closest",
            "hoverlabel": {"font": {"family": FONT}}, "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
            "xaxis": {**_AXIS, **(xaxis or {})}, "yaxis": {**_AXIS, **(yaxis or {})}, "showlegend": False}
    return {"data": data, "layout": {**base, **layout}}


def _title(text: str) -> dict:
    return {"text": text, "standoff": 12}


def _vline(x: float, text: str, position: str = "center") -> tuple[dict, dict]:
    """A dotted vertical line across the plot and its label above it."""
    shape = {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
             "line": {"color": SEED, "dash": "dot", "width": 1.5}}
    anchor = {"center": "center", "right": "left"}[position]
    label = {"x": x, "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom", "xanchor": anchor,
             "text": text, "showarrow": False, "font": {"size": 12, "color": "#495057"}}
    return shape, label


def _chosen_alpha_marks(chosen_alpha: float | None) -> tuple[list, list]:
    """``(shapes, annotations)``: a line at the alpha the build chose, if any."""
    if chosen_alpha is None:
        return [], []
    shape, label = _vline(chosen_alpha, f"chosen α = {chosen_alpha:g}", position="right")
    return [shape], [label]


def empty(message: str, height: int = 240) -> dict:
    """A blank figure that says why it is blank."""
    return _figure([], height, xaxis={"visible": False}, yaxis={"visible": False},
                   annotations=[{"text": message, "showarrow": False, "xref": "paper", "yref": "paper",
                                 "x": 0.5, "y": 0.5, "font": {"size": 14, "color": "#6c757d"}}])


# ------------------------------------------------------------------ explain
def content_blocks(by_block: dict[str, float]) -> dict:
    """Horizontal bars: each feature block's share of the content similarity."""
    names = list(by_block)[::-1]
    values = [by_block[n] for n in names]
    bars = {"type": "bar", "orientation": "h", "x": values, "y": [BLOCK_LABELS.get(n, n) for n in names],
            "marker": {"color": CONTENT}, "text": [f"{v:.3g}" for v in values], "textposition": "outside",
            "cliponaxis": False, "hovertemplate": "%{y}: %{x:.4f}<extra></extra>"}
    return _figure([bars], max(180, 46 * len(names) + 80),
                   xaxis={"title": _title("contribution to the content similarity"), "zeroline": True},
                   margin={"l": 10, "r": 50, "t": 10, "b": 10})


def audio_profiles(seed_name: str, seed_profile: dict[str, float],
                   track_name: str, track_profile: dict[str, float]) -> dict:
    """Both tracks' audio features (each rescaled to [0, 1]) side by side: a pair of bars per feature.

    (Bars, not a radar chart: they are read off one common axis, and plotly.js's
    basic bundle, the one the dashboard serves, has no polar traces.)
    """
    features = [f for f in seed_profile if f in track_profile]
    labels = [AUDIO_LABELS.get(f, f) for f in features]
    traces = [{"type": "bar", "orientation": "h", "x": [profile[f] for f in features], "y": labels, "name": name,
               "marker": {"color": colour},
               "hovertemplate": "%{y}: %{x:.2f}<extra>" + _escape(name) + "</extra>"}
              for name, profile, colour in ((seed_name, seed_profile, SEED), (track_name, track_profile, TRACK))]
    return _figure(traces, max(220, 34 * len(features) + 90), barmode="group", bargap=0.25, bargroupgap=0.05,
                   xaxis={"range": [0, 1], "title": _title("on the feature's 0–1 scale")},
                   yaxis={"type": "category", "autorange": "reversed"},  # first feature, and the seed, on top
                   showlegend=True,
                   legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "traceorder": "normal"},
                   margin={"l": 10, "r": 10, "t": 40, "b": 10})


def rank_by_alpha(alphas, ranks, current_alpha: float | None = None, k: int | None = None) -> dict:
    """The track's rank among the seed's recommendations at each alpha (rank 1 at the top)."""
    line = {"type": "scatter", "mode": "lines+markers", "x": list(alphas), "y": list(ranks),
            "line": {"color": CONTENT, "width": 3}, "marker": {"size": 7}, "connectgaps": False,
            "hovertemplate": "α = %{x:.2f}: rank %{y}<extra></extra>"}
    known = [r for r in ranks if r is not None]
    shapes, annotations = [], []
    if k is not None and known:
        shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": 0.5, "y1": k + 0.5,
                       "fillcolor": ACCENT, "opacity": 0.08, "line": {"width": 0}, "layer": "below"})
    if current_alpha is not None:
        shape, label = _vline(current_alpha, f"α = {current_alpha:g}")
        shapes.append(shape)
        annotations.append(label)
    if known and max(known) > 60:
        yaxis = {"title": _title("rank"), "type": "log", "autorange": "reversed"}
    else:
        yaxis = {"title": _title("rank"), "range": [max(known + [k or 1]) + 0.5, 0.5]}
    return _figure([line], 300, xaxis={"title": _title(ALPHA_TITLE), "range": [-0.02, 1.02]}, yaxis=yaxis,
                   shapes=shapes, annotations=annotations)


# -------------------------------------------------------------------- alpha
def bump_chart(alphas, trajectories: dict[str, list], names: dict[str, str], k: int) -> dict:
    """Rank trajectories of every track that is in the top ``k`` at some alpha.

    Lines are coloured by the mean alpha at which the track is in the list:
    orange (only at low alpha: listening behaviour), grey (throughout), blue
    (only at high alpha: content); a gap is a track outside the top ``k``.
    Both ends are labelled with rank and name.

    Drawn for the browser's sake with as little as shows the same: the end
    labels are the tick labels of a left and a right rank axis (annotations
    cost plotly.js about as much as all the lines), and only a rank held at a
    single alpha, which no line segment shows, gets a marker.
    """
    alphas = list(alphas)
    traces, isolated = [], {"x": [], "y": [], "colour": [], "name": []}
    ends = ({}, {})  # rank -> label at alpha 0 and at alpha 1
    for track_id, ranks in trajectories.items():
        present = [a for a, r in zip(alphas, ranks) if r is not None]
        name = names.get(track_id, track_id)
        colour = lean_colour(sum(present) / len(present))
        traces.append({"type": "scatter", "mode": "lines", "x": alphas, "y": list(ranks), "name": name,
                       "connectgaps": False, "line": {"width": 2.5, "color": colour, "shape": "spline",
                                                      "smoothing": 0.6},
                       "hovertemplate": f"<b>{_escape(name)}</b><br>α = %{{x:.2f}}: rank %{{y}}<extra></extra>"})
        for i, rank in enumerate(ranks):
            alone = rank is not None and all(j < 0 or j >= len(ranks) or ranks[j] is None for j in (i - 1, i + 1))
            if alone:
                for key, value in (("x", alphas[i]), ("y", rank), ("colour", colour), ("name", _escape(name))):
                    isolated[key].append(value)
        label = _escape(_short(name))
        if ranks[0] is not None:
            ends[0][ranks[0]] = f"{label}  {ranks[0]}"
        if ranks[-1] is not None:
            ends[1][ranks[-1]] = f"{ranks[-1]}  {label}"
    if isolated["x"]:
        traces.append({"type": "scatter", "mode": "markers", "x": isolated["x"], "y": isolated["y"],
                       "text": isolated["name"], "marker": {"size": 7, "color": isolated["colour"]},
                       "hovertemplate": "<b>%{text}</b><br>α = %{x:.2f}: rank %{y}<extra></extra>"})
    # the right-hand axis shows only with a trace on it: an invisible point
    traces.append({"type": "scatter", "mode": "markers", "x": [alphas[0]], "y": [1], "yaxis": "y2",
                   "marker": {"opacity": 0}, "hoverinfo": "skip", "showlegend": False})
    rank_axis = {"range": [k + 0.6, 0.4], "showgrid": False, "zeroline": False, "tickmode": "array",
                 "tickfont": {"size": 11}}
    left, right = (sorted(end.items()) for end in ends)
    return _figure(traces, bump_height(k),
                   xaxis={"title": _title(ALPHA_TITLE), "dtick": 0.1, "range": [-0.02, 1.02]},
                   yaxis={**rank_axis, "tickvals": [r for r, _ in left], "ticktext": [t for _, t in left]},
                   yaxis2={**_AXIS, **rank_axis, "overlaying": "y", "side": "right",
                           "tickvals": [r for r, _ in right], "ticktext": [t for _, t in right]},
                   margin={"l": 10, "r": 10, "t": 20, "b": 10})


def bump_height(k: int) -> int:
    """Height (px) of :func:`bump_chart` for a top-``k`` list."""
    return max(360, 28 * k + 120)


def overlap(alphas, shares, reference: float = 0.5, new_shares=None) -> dict:
    """Share of each alpha's list that is also in the list at ``reference`` (bars) and, when given,
    the share of each list nobody has played yet (a line)."""
    traces = [{"type": "bar", "x": list(alphas), "y": list(shares), "width": 0.035,
               "name": f"shared with α = {reference:g}", "marker": {"color": [lean_colour(a) for a in alphas]},
               "hovertemplate": "α = %{x:.2f}: %{y:.0%} shared<extra></extra>"}]
    if new_shares:
        traces.append({"type": "scatter", "mode": "lines+markers", "x": list(alphas), "y": list(new_shares),
                       "name": "never played (new)", "line": {"color": NEW, "width": 3},
                       "hovertemplate": "α = %{x:.2f}: %{y:.0%} never played<extra></extra>"})
    return _figure(traces, 260, xaxis={"title": _title("α"), "dtick": 0.1, "range": [-0.03, 1.03]},
                   yaxis={"title": _title("share of the list"), "range": [0, 1.05], "tickformat": ".0%"},
                   showlegend=bool(new_shares), legend={"orientation": "h", "y": 1.25, "x": 0},
                   margin={"l": 10, "r": 10, "t": 40, "b": 10})


def protocols_vs_alpha(curves: dict, chosen_alpha: float | None = None) -> dict:
    """Both evaluation protocols against alpha (:func:`dashboard.views.protocol_curves`): listeners with a
    history on the left axis, new releases on the right (their values are an order of magnitude smaller)."""
    alphas = curves.get("alpha") or []
    colours = iter([ACCENT, NEW, "#e8590c", "#868e96"])
    traces = []
    for label, values in curves.items():
        if label == "alpha":
            continue
        right = label.startswith("new releases")
        share = "share" in label
        traces.append({"type": "scatter", "mode": "lines+markers", "name": label, "x": alphas, "y": values,
                       "yaxis": "y2" if right else "y", "line": {"color": next(colours, SEED), "width": 3,
                                                                 "dash": "dot" if share else "solid"},
                       "hovertemplate": f"{_escape(label)}, α = %{{x:.2f}}: %{{y:.4f}}<extra></extra>"})
    shapes, annotations = _chosen_alpha_marks(chosen_alpha)
    return _figure(traces, 370, xaxis={"title": _title(ALPHA_TITLE), "dtick": 0.1},
                   yaxis={"title": _title("listeners with a history"), "rangemode": "tozero"},
                   yaxis2={**_AXIS, "title": _title("new releases"), "overlaying": "y", "side": "right",
                           "rangemode": "tozero", "showgrid": False},
                   shapes=shapes, annotations=annotations, showlegend=True,
                   legend={"orientation": "h", "y": 1.25, "x": 0}, margin={"l": 10, "r": 10, "t": 80, "b": 10})


def metric_vs_alpha(rows: list[dict], metric: str, chosen_alpha: float | None = None) -> dict:
    """One offline metric against alpha: a line per method, a dashed level for methods without alpha."""
    rows = [r for r in rows if r["metric"] == metric]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    alphas = sorted({r["alpha"] for r in rows if r["alpha"] is not None}) or [0.0, 1.0]
    others = iter([ACCENT, "#e03131", "#1098ad", "#ae3ec9"])
    traces = []
    for method in methods:
        points = sorted((r["alpha"], r["value"]) for r in rows if r["method"] == method and r["alpha"] is not None)
        flat = [r["value"] for r in rows if r["method"] == method and r["alpha"] is None]
        colour = METHOD_COLOURS.get(method) or next(others, SEED)
        if points:
            traces.append({"type": "scatter", "mode": "lines+markers", "name": method,
                           "x": [a for a, _ in points], "y": [v for _, v in points],
                           "line": {"color": colour, "width": 3},
                           "hovertemplate": f"{_escape(method)}, α = %{{x:.2f}}: %{{y:.4f}}<extra></extra>"})
        elif flat:
            traces.append({"type": "scatter", "mode": "lines", "name": method, "x": [alphas[0], alphas[-1]],
                           "y": [flat[0], flat[0]], "line": {"color": colour, "dash": "dash", "width": 2},
                           "hovertemplate": f"{_escape(method)}: %{{y:.4f}}<extra></extra>"})
    shapes, annotations = _chosen_alpha_marks(chosen_alpha)
    return _figure(traces, 370, xaxis={"title": _title(ALPHA_TITLE), "dtick": 0.1},
                   yaxis={"title": _title(metric), "rangemode": "tozero"}, shapes=shapes, annotations=annotations,
                   showlegend=True, legend={"orientation": "h", "y": 1.2, "x": 0},
                   margin={"l": 10, "r": 10, "t": 70, "b": 10})


# --------------------------------------------------------------------- data
def long_tail(ranks, listeners) -> dict:
    """Listeners per track against popularity rank, log-log."""
    line = {"type": "scatter", "mode": "lines", "x": list(ranks), "y": list(listeners),
            "line": {"color": CONTENT, "width": 3}, "fill": "tozeroy", "fillcolor": "rgba(51,102,204,0.12)",
            "hovertemplate": "rank %{x:,}: %{y:,} listeners<extra></extra>"}
    return _figure([line], 320, xaxis={"type": "log", "title": _title("track popularity rank"), "dtick": 1},
                   yaxis={"type": "log", "title": _title("listeners"), "dtick": 1})


def log_histogram(edges, counts, x_title: str, colour: str = CONTENT) -> dict:
    """Counts in logarithmic bins: one bar per bin (labelled by its range), counts on a log axis."""
    labels = [f"{lo:,.0f}" if hi - lo <= 1 else f"{lo:,.0f}–{hi - 1:,.0f}" for lo, hi in zip(edges[:-1], edges[1:])]
    bars = {"type": "bar", "x": labels, "y": [c if c > 0 else None for c in counts], "marker": {"color": colour},
            "hovertemplate": "%{x}: %{y:,}<extra></extra>"}
    return _figure([bars], 320, xaxis={"title": _title(x_title), "type": "category", "tickangle": -45},
                   yaxis={"type": "log", "title": _title("count"), "dtick": 1}, bargap=0.1)


def audio_histogram(feature: str, edges, counts) -> dict:
    """How many tracks have each value of one audio feature: bars at the bin centres, the counts in the hover."""
    label = AUDIO_LABELS.get(feature, feature)
    bars = {"type": "bar", "x": [(lo + hi) / 2 for lo, hi in zip(edges[:-1], edges[1:])], "y": list(counts),
            "name": feature, "marker": {"color": CONTENT},
            "hovertemplate": f"{label} %{{x:.2f}}: %{{y:,}} tracks<extra></extra>"}
    return _figure([bars], 170, yaxis={"showticklabels": False}, bargap=0.05,
                   margin={"l": 10, "r": 10, "t": 5, "b": 10})


def top_tags(pairs) -> dict:
    """The most used tags as horizontal bars, most used on top."""
    pairs = list(pairs)[::-1]
    bars = {"type": "bar", "orientation": "h", "x": [n for _, n in pairs], "y": [t for t, _ in pairs],
            "marker": {"color": CONTENT}, "hovertemplate": "%{y}: %{x:,} tracks<extra></extra>"}
    return _figure([bars], max(260, 20 * len(pairs) + 60), xaxis={"title": _title("tracks")},
                   yaxis={"tickfont": {"size": 12}, "type": "category"})


def stage_timings(stages: dict[str, dict]) -> dict:
    """Wall time of each build stage, in the given (pipeline) order from the top."""
    names = list(stages)[::-1]
    seconds = [stages[n].get("seconds", 0.0) for n in names]
    bars = {"type": "bar", "orientation": "h", "x": seconds, "y": [n.replace("_", " ") for n in names],
            "marker": {"color": ACCENT}, "text": [f"{s:.2f} s" for s in seconds], "textposition": "outside",
            "cliponaxis": False, "hovertemplate": "%{y}: %{x:.3f} s<extra></extra>"}
    return _figure([bars], max(220, 34 * len(names) + 70), xaxis={"title": _title("seconds")},
                   margin={"l": 10, "r": 60, "t": 10, "b": 10})


# ------------------------------------------------------------------ helpers
def lean_colour(t: float) -> str:
    """Orange at 0 (listening behaviour), grey at 0.5, blue at 1 (content)."""
    return _mix(COLLAB, NEUTRAL, 2 * t) if t <= 0.5 else _mix(NEUTRAL, CONTENT, 2 * t - 1)


def _mix(a: str, b: str, t: float) -> str:
    """The colour ``t`` of the way from hex colour ``a`` to ``b``."""
    ca = [int(a[i:i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb))


def _short(text: str, length: int = 24) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def _escape(text: str) -> str:
    """Plotly renders a subset of HTML in labels: show names with ``<``, ``>`` or ``&`` literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
