"""The URL ⇄ controls synchronisation every page with state in its URL shares.

A page's one sync callback takes its ``dcc.Location``'s ``search`` and its
controls as inputs. When the URL changed (page load, back/forward, a shared
link) the controls are set from it: :func:`from_url` parses the query string
with the page's own ``parse`` and turns what had to be replaced into notices.
When a control changed, the page writes its state back with
:func:`urls.search_string`.

The page's ``layout`` already draws the view its URL asks for (the first
paint needs no second round trip), and a :func:`shown` store remembers which
state is on screen: the sync callback does nothing when asked for that state
again (the URL component reporting the address on mount, or controls echoing
what the URL set). The steps every page repeats live here:

>>> if sync.url_changed(ids.PAGE_URL):
...     state, notices = sync.from_url(rec, search, _parse)
...     if state == shown:
...         raise PreventUpdate
...     options = sync.track_options(rec, state["track"])
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from dash import ctx, dcc

from engine import UnknownTrackError

from . import components, urls
from .components.tracks import track_option

log = logging.getLogger(__name__)


def url_changed(location_id: str) -> bool:
    """Whether this call comes from the page's URL (or is the first call): the controls follow the URL."""
    return ctx.triggered_id in (None, location_id)


def shown(component_id: str, state: dict) -> dcc.Store:
    """The store that holds the view state on screen, ``state`` when the layout drew it."""
    return dcc.Store(id=component_id, data=state)


def from_url(rec, search: str | None, parse: Callable[[object, dict], tuple[dict, list]]) -> tuple[dict, list]:
    """``(state, notices)``: the page's ``parse(rec, args)`` of the query string, as :func:`from_args`."""
    return from_args(rec, urls.query_args(search), parse)


def from_args(rec, args: dict, parse: Callable[[object, dict], tuple[dict, list]]) -> tuple[dict, list]:
    """``(state, notices)``: the page's ``parse(rec, args)`` (a layout's URL arguments), its messages as notices.

    ``parse`` returns the validated state and a list of messages (None for a
    value that was fine).
    """
    state, messages = parse(rec, args)
    return state, [components.notice(m) for m in messages if m]


def parse_track(rec, raw: str | None, page: str) -> tuple[str | None, str | None]:
    """A track id from the URL, or None with a notice when this catalogue has no such track."""
    if not raw:
        return None, None
    try:
        rec.track(raw)
    except UnknownTrackError:
        log.warning("%s: unknown track id %r in the URL", page, raw)
        return None, f"There is no track with id “{raw}” in this catalogue. Search for one by name below."
    return raw, None


def track_options(rec, track_id: str | None) -> list[dict]:
    """A track picker's options when the URL selects ``track_id``: just that track (or none)."""
    return [track_option(rec.track(track_id))] if track_id else []
