"""Input widgets shared by the pages; their options are filled by the pages' callbacks."""
from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from engine import ArtifactError, UnknownTrackError

from ..access import get_recommender
from ..urls import ALPHA_STEP, K_MAX, K_MIN, METHODS
from .tracks import track_option

log = logging.getLogger(__name__)


def track_picker(component_id, track=None, placeholder: str = "Search a track by name or artist…") -> html.Div:
    """A search-as-you-type track dropdown; the page filters the options on the server as the person types.

    Only the selected track is shipped with the page, never the catalogue. Its box has the dropdown's
    height before the dropdown's code has loaded, so the page does not move when it appears.
    """
    return html.Div(dcc.Dropdown(id=component_id, options=[track_option(track)] if track else [],
                                 value=track.track_id if track else None, placeholder=placeholder,
                                 search_order="original", clearable=True, maxHeight=320,
                                 labels={"no_options_found": "Type part of a track or artist name"},
                                 className="track-picker"), className="picker-box")


def alpha_control(component_id, value: float, disabled: bool = False, label: str = "Blend α") -> html.Div:
    """The α slider: 0 = listening behaviour only, 1 = content only, in steps of 0.05.

    ``label`` names the slider and its number box for screen readers (``assets/a11y.js`` puts it on them);
    the arrow keys move it by one step.
    """
    return html.Div([
        dcc.Slider(id=component_id, min=0, max=1, step=ALPHA_STEP, value=value, disabled=disabled,
                   marks={0: "0", 0.25: "0.25", 0.5: "0.5", 0.75: "0.75", 1: "1"}, updatemode="mouseup",
                   className="alpha-slider"),
        html.Div([html.Span("← listeners"), html.Span("content →")], className="slider-ends",
                 **{"aria-hidden": "true"}),
    ], className="pt-1 slider-box with-ends", **{"data-a11y-label": label})


def k_control(component_id, value: int, label: str = "Number of results") -> html.Div:
    """How many results to show (5 to 50); ``label`` names it as in :func:`alpha_control`."""
    return html.Div(dcc.Slider(id=component_id, min=K_MIN, max=K_MAX, step=1, value=value,
                               marks={m: str(m) for m in (5, 10, 20, 30, 40, 50)}, updatemode="mouseup"),
                    className="pt-1 slider-box", **{"data-a11y-label": label})


def method_control(component_id, value: str) -> dbc.RadioItems:
    """Hybrid, content only or listening behaviour only, as a segmented button group."""
    return dbc.RadioItems(id=component_id, value=value,
                          options=[{"label": label, "value": key} for key, label in METHODS.items()],
                          className="btn-group flex-wrap", inputClassName="btn-check",
                          labelClassName="btn btn-outline-primary btn-sm", labelCheckedClassName="active")


def search_options(recommender, text: str | None, selected: str | None, limit: int = 20) -> tuple[list, dict]:
    """Dropdown options for what the person typed (the server does the filtering) and the matching labels.

    The selected track stays among the options so the dropdown keeps showing it.
    """
    matches = recommender.search(text, limit=limit) if text and text.strip() else []
    options = [track_option(t) for t in matches]
    if selected and selected not in {o["value"] for o in options}:
        try:
            options.insert(0, track_option(recommender.track(selected)))
        except UnknownTrackError:  # the selection vanished with a new artifact set
            pass
    if text and text.strip() and not matches:
        log.info("track search %r: no match", text)
        labels = {"no_options_found": f"No track or artist contains “{text.strip()}”"}
    else:
        labels = {"no_options_found": "Type part of a track or artist name"}
    return options, labels


def register_track_search(dropdown_id, keep_selection: bool = True):
    """Register the server-side search-as-you-type callback of one :func:`track_picker`.

    Every page's picker behaves the same; only its id differs. With
    ``keep_selection`` the chosen track stays among the options.
    """
    state = [State(dropdown_id, "value")] if keep_selection else []

    @callback(Output(dropdown_id, "options", allow_duplicate=keep_selection), Output(dropdown_id, "labels"),
              Input(dropdown_id, "search_value"), *state, prevent_initial_call=True)
    def search_tracks(text, selected=None):
        """Filter the catalogue on the server as the person types."""
        if not text:
            raise PreventUpdate
        try:
            return search_options(get_recommender(), text, selected)
        except ArtifactError:
            raise PreventUpdate

    return search_tracks
