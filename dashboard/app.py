"""The Dash shell: app, navbar from the page registry, app-wide stores, static CSS, ``/healthz`` and ``/metrics``.

Serve it with ``gunicorn -c gunicorn.conf.py dashboard.app:server``. Page logic
lives in ``dashboard/pages/``; this module holds none.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, dcc, html
from flask import jsonify, send_from_directory
from flask_compress import Compress

from engine import ArtifactError
from engine.logs import configure_logging

from . import access, config, ids, observability, plotlyjs, static
from .components import navbar

HERE = Path(__file__).resolve().parent
SETTINGS = config.settings()
log = logging.getLogger("dashboard")


def _bootstrap_dir() -> Path:
    """Bootstrap 5's CSS as shipped by the Bootstrap-Flask package (the dbc theme URLs point at a CDN)."""
    spec = importlib.util.find_spec("flask_bootstrap")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "bootstrap5" / "css"


#: The vendored CSS changes only with the package, so its version in the path fingerprints every file under it.
BOOTSTRAP_PATH = f"/vendor/bootstrap/{importlib.metadata.version('Bootstrap-Flask')}"


def _callback_failed(error: Exception):
    """Last line of defence for any callback: log it and leave the page as it was (never a 500).

    Callbacks handle the errors a person can cause (unknown ids, bad URL
    values) themselves; what reaches here is a hand-made request or a bug.
    """
    triggered = dash.callback_context.triggered_id if dash.callback_context else None
    log.error("callback failed (triggered by %r): %s: %s", triggered, type(error).__name__, error,
              exc_info=error)
    return None  # no update


configure_logging(SETTINGS.log_level, json=SETTINGS.log_json)

app = Dash(
    "dashboard",  # the package: pages import as dashboard.pages.<name>
    use_pages=True,
    pages_folder=str(HERE / "pages"),
    assets_folder=str(HERE / "assets"),
    external_stylesheets=[f"{BOOTSTRAP_PATH}/bootstrap.min.css", f"{BOOTSTRAP_PATH}/font/bootstrap-icons.min.css"],
    on_error=_callback_failed,
    suppress_callback_exceptions=True,  # page components exist only while their page is shown
    title="Hybrid music recommender",
    update_title=None,
    index_string=dash.dash._default_index.replace("<html>", '<html lang="en">'),
)
server = app.server
observability.install(server, app.callback_map)
static.install(server)
plotlyjs.install(server, app.config.routes_pathname_prefix, app.config.requests_pathname_prefix)
Compress(server)  # after static.install: its settings are read here


@server.route("/vendor/bootstrap/<path:filename>")
def bootstrap_static(filename: str):
    """Bootstrap's files; under the package's version (the links the pages use) they are cached for a year."""
    version_prefix = BOOTSTRAP_PATH.removeprefix("/vendor/bootstrap/") + "/"
    if filename.startswith(version_prefix):
        return send_from_directory(_bootstrap_dir(), filename.removeprefix(version_prefix), max_age=static.ONE_YEAR)
    return send_from_directory(_bootstrap_dir(), filename, max_age=24 * 3600)


@server.route("/robots.txt")
def robots_txt():
    """Every page may be crawled (without this the page shell would answer, which is no robots.txt)."""
    return server.response_class("User-agent: *\nAllow: /\n", mimetype="text/plain")


@server.route("/healthz")
def healthz():
    """``{"status": "ok", "version", "manifest_hash", ..., "workers": {pid: version}, "consistent"}``,
    or 503 when no artifact set can be loaded."""
    try:
        loaded = access.get_loaded()
    except ArtifactError as exc:
        log.warning("healthz: no artifacts: %s", exc)
        return jsonify(status="unavailable", error=str(exc)), 503
    rec = loaded.recommender
    # Under gunicorn: the version every live worker serves (they differ only for the moment of a swap).
    workers = access.served_versions(config.settings().state_dir)
    return jsonify(status="ok", version=rec.version, manifest_hash=loaded.manifest_hash,
                   created_at=rec.manifest.get("created_at"), tracks=len(rec.tracks),
                   listeners=len(rec.users), evaluation=loaded.evaluation is not None,
                   workers=workers, consistent=len(set(workers.values()) | {rec.version}) == 1)


app.layout = html.Div([
    dcc.Store(id=ids.SESSION_STORE, storage_type="session", data=[]),
    navbar(dash.page_registry.values()),
    html.Main(dbc.Container(dash.page_container, fluid="xl", className="pb-5")),
])

try:  # load now: with gunicorn's preload the workers inherit the loaded set
    access.get_loaded()
except ArtifactError as exc:
    log.warning("starting without artifacts (%s); pages say so until a build appears", exc)
