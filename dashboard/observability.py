"""Request logs and Prometheus metrics for the dashboard.

:func:`install` adds to the Flask server:

* one structured log record per request (path, callback, status, latency,
  artifact version), through :mod:`logging` (JSON lines, see
  :func:`engine.logs.configure_logging`);
* ``GET /metrics`` in the Prometheus text format: request counts and latency
  histograms per page and per Dash callback, engine query latency, the loaded
  artifact version and build information.

Under gunicorn every worker is its own process, so the metrics use
prometheus-client's multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set
(``gunicorn.conf.py`` sets it and clears it at start-up); ``/metrics`` then
aggregates all workers.
"""
from __future__ import annotations

import logging
import platform
import time
from contextlib import contextmanager

import dash
from flask import Flask, Response, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, multiprocess)

from . import config

__all__ = ["install", "observe_query", "set_artifact_version", "TimedRecommender"]

log = logging.getLogger("dashboard.requests")

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_QUERY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

REQUESTS = Counter("dashboard_http_requests_total", "HTTP requests served.", ["endpoint", "method", "status"])
REQUEST_LATENCY = Histogram("dashboard_http_request_duration_seconds", "HTTP request latency.", ["endpoint"],
                            buckets=_LATENCY_BUCKETS)
CALLBACK_LATENCY = Histogram("dashboard_callback_duration_seconds", "Dash callback latency (server side).",
                             ["callback"], buckets=_LATENCY_BUCKETS)
QUERY_LATENCY = Histogram("engine_query_duration_seconds", "Engine query latency (recommend, explain, search...).",
                          ["query"], buckets=_QUERY_BUCKETS)
ARTIFACT_VERSION = Gauge("dashboard_artifact_version_info", "Loaded artifact set (value 1).",
                         ["version", "manifest_hash"], multiprocess_mode="liveall")
BUILD_INFO = Gauge("dashboard_build_info", "Build information (value 1).", ["git_sha", "python"],
                   multiprocess_mode="liveall")

_artifact_version = {"version": None}


def set_artifact_version(version: str, manifest_hash: str) -> None:
    """Record the artifact set this process serves (called when a set is loaded)."""
    previous = _artifact_version.get("labels")
    if previous and previous != (version, manifest_hash):
        ARTIFACT_VERSION.remove(*previous)
    ARTIFACT_VERSION.labels(version, manifest_hash).set(1)
    _artifact_version.update(version=version, labels=(version, manifest_hash))


@contextmanager
def observe_query(name: str):
    """Time one engine query into ``engine_query_duration_seconds{query=name}``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        QUERY_LATENCY.labels(name).observe(time.perf_counter() - start)


def _page_paths() -> set[str]:
    """The paths of the Dash pages, read from the page registry when asked: it fills while the app
    imports its pages, after this module is imported."""
    return {page["path"] for page in dash.page_registry.values()}


def _endpoint(path: str) -> str:
    """A bounded label for a request path (page paths, Dash internals, or 'other')."""
    if path in _page_paths():
        return path
    if path.startswith("/_dash-update-component"):
        return "callback"
    if path.startswith(("/_dash", "/_reload", "/_favicon")):
        return "dash-internal"
    if path.startswith(("/assets/", "/vendor/")):
        return "static"
    if path in ("/healthz", "/metrics"):
        return path
    return "other"


def _callback_name(known: dict) -> str | None:
    """The output id of a Dash callback request: one of the app's callbacks, else "unknown".

    Only ids in ``known`` (the app's callback map) become labels, so made-up
    requests cannot grow /metrics without bound.
    """
    if not request.path.startswith("/_dash-update-component"):
        return None
    body = request.get_json(silent=True)
    output = body.get("output") if isinstance(body, dict) else None
    return output if isinstance(output, str) and output in known else "unknown"


def _metrics() -> Response:
    if config.settings().metrics_multiprocess:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def install(server: Flask, callback_map: dict) -> None:
    """Add request logging, latency metrics and ``GET /metrics`` to ``server``.

    ``callback_map`` is the Dash app's ``callback_map`` (read at request time,
    so callbacks registered later count too).
    """
    BUILD_INFO.labels(config.settings().git_sha, platform.python_version()).set(1)

    @server.before_request
    def _start_timer():
        g.request_start = time.perf_counter()

    @server.after_request
    def _record(response):
        start = getattr(g, "request_start", None)
        if start is None:
            return response
        seconds = time.perf_counter() - start
        endpoint = _endpoint(request.path)
        callback = _callback_name(callback_map)
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        REQUEST_LATENCY.labels(endpoint).observe(seconds)
        if callback:
            CALLBACK_LATENCY.labels(callback).observe(seconds)
        if endpoint not in ("static", "dash-internal", "/metrics"):
            log.info("request", extra={"path": request.path, "method": request.method,
                                       "status": response.status_code, "callback": callback,
                                       "latency_ms": round(1000 * seconds, 2),
                                       "artifact_version": _artifact_version["version"]})
        return response

    server.add_url_rule("/metrics", "metrics", _metrics)


class TimedRecommender:
    """A :class:`engine.Recommender` whose query methods are timed into ``engine_query_duration_seconds``.

    Everything else (attributes, other methods) passes through unchanged.
    """

    TIMED = frozenset({"recommend", "recommend_for_tracks", "recommend_for_user", "explain", "search",
                       "alpha_sweep", "rank_by_alpha", "user_history", "search_users"})

    def __init__(self, recommender):
        self._recommender = recommender

    def __getattr__(self, name):
        attribute = getattr(self._recommender, name)
        if name not in self.TIMED:
            return attribute

        def timed(*args, **kwargs):
            with observe_query(name):
                return attribute(*args, **kwargs)

        return timed
