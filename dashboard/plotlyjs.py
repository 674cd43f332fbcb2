"""plotly.js for ``dcc.Graph``: plotly.js's basic bundle (scatter, bar and pie traces), a quarter of the full build.

``dcc.Graph`` loads plotly.js the first time a page draws a graph (pages without
one never load it), from a fixed URL under ``/_dash-component-suites/plotly/``
that serves the full build the plotly package ships: 4.8 MB of JavaScript with
every trace type, which the browser has to parse before it draws anything.
Every figure of :mod:`dashboard.figures` is made of the trace types in
:data:`TRACE_TYPES`, which plotly.js's basic bundle holds in 1.2 MB. That URL
redirects to the basic bundle, vendored in ``dashboard/vendor/`` (npm package
``plotly.js-basic-dist-min``, MIT licence, at the plotly.js version of the
installed plotly package; ``make vendor-plotly`` installs it again) and served
under a URL with its version in it, cached for a year.
"""
from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, abort, redirect, send_from_directory

from .static import ONE_YEAR

#: The vendored npm package (its package.json, LICENSE and the bundle itself).
BUNDLE_DIR = Path(__file__).resolve().parent / "vendor" / "plotly.js-basic-dist-min"
BUNDLE_FILE = "plotly-basic.min.js"
#: The trace types the basic bundle draws; a figure with any other type would stay blank.
TRACE_TYPES = frozenset({"scatter", "bar", "pie"})
#: Where dcc.Graph fetches plotly.js from when the app serves its files itself (Dash's default).
DASH_PLOTLY_PATH = "_dash-component-suites/plotly/package_data/plotly.min.js"


def bundle_version() -> str:
    """The plotly.js version of the vendored bundle."""
    return json.loads((BUNDLE_DIR / "package.json").read_text(encoding="utf-8"))["version"]


def bundle_path() -> str:
    """The bundle's URL path: the version in it changes whenever the file does."""
    return f"/vendor/plotly/{bundle_version()}/{BUNDLE_FILE}"


def install(server: Flask, routes_prefix: str = "/", requests_prefix: str = "/") -> None:
    """Serve the bundle and send dcc.Graph's request for plotly.js to it.

    ``routes_prefix`` and ``requests_prefix`` are the app's
    ``routes_pathname_prefix`` (where Flask sees the request) and
    ``requests_pathname_prefix`` (what the browser puts before
    :data:`DASH_PLOTLY_PATH`; they differ behind a proxy that strips a prefix).
    Flask matches this fixed path before Dash's route for every component file.
    """
    version = bundle_version()

    @server.route(f"{routes_prefix}{DASH_PLOTLY_PATH}")
    def plotly_js():
        # Not cached: which bundle this points to changes with a deployment, the bundle's own URL never does.
        response = redirect(f"{requests_prefix}vendor/plotly/{version}/{BUNDLE_FILE}", code=302)
        response.cache_control.no_cache = True
        return response

    @server.route(f"{routes_prefix}vendor/plotly/<version_asked>/{BUNDLE_FILE}")
    def plotly_bundle(version_asked: str):
        if version_asked != version:
            abort(404)
        return send_from_directory(BUNDLE_DIR, BUNDLE_FILE, max_age=ONE_YEAR)
