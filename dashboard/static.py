"""What the browser downloads: every text response compressed, fingerprinted static files cached for a year.

plotly.js and Dash's bundles are megabytes of JavaScript; compressed they are
about a quarter of that. Brotli goes to browsers that accept it, gzip to the
rest (flask-compress chooses from ``Accept-Encoding``). Compressing the
static files again on every request would cost tens of milliseconds each, so
their compressed bytes are kept in memory per worker, keyed by the
fingerprinted URL (a new file has a new URL). Callback answers are compressed
fresh every time and never cached.

Dash fingerprints its component bundles itself (and caches them for a year);
``/assets`` files carry their modification time as ``?m=…`` and get the same
year here. A file whose URL carries no fingerprint is left to revalidate.
"""
from __future__ import annotations

import threading

from flask import Flask, Request, request

ONE_YEAR = 365 * 24 * 3600
#: URL prefixes of files that never change under the same URL (vendored files have their version in the path).
FINGERPRINTED = ("/_dash-component-suites/", "/vendor/bootstrap/", "/vendor/plotly/")
#: Brotli where the browser takes it (all current browsers over HTTP and HTTPS alike), else gzip.
ALGORITHMS = ["br", "gzip"]


def is_fingerprinted(req: Request) -> bool:
    """Whether ``req`` asks for a static file whose URL changes whenever its content does."""
    if req.method not in ("GET", "HEAD"):
        return False
    if req.path.startswith(FINGERPRINTED):
        return True
    return req.path.startswith("/assets/") and "m" in req.args


def _cache_key(req: Request) -> str:
    """The compressed-bytes cache key: the full URL of a fingerprinted file, else empty (not cached)."""
    return req.full_path if is_fingerprinted(req) else ""


class StaticCompressionCache:
    """flask-compress's cache backend, holding only fingerprinted files (keys ``"<algorithm>;<url>"``).

    The static files of one release are a fixed set of a few megabytes, so
    nothing is ever evicted. Keys of other responses end in ``;`` and are neither
    stored nor found.
    """

    def __init__(self):
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        return self._data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";"):
            with self._lock:
                self._data[key] = value


def install(server: Flask) -> None:
    """Set flask-compress's options on ``server`` (before ``Compress(server)``) and the long cache lifetime."""
    server.config.update(COMPRESS_ALGORITHM=ALGORITHMS, COMPRESS_ALGORITHM_STREAMING=ALGORITHMS[:1],
                         COMPRESS_CACHE_KEY=_cache_key,
                         COMPRESS_CACHE_BACKEND=StaticCompressionCache)

    @server.after_request
    def cache_fingerprinted(response):
        if response.status_code == 200 and request.path.startswith("/assets/") and is_fingerprinted(request):
            response.cache_control.max_age = ONE_YEAR
            response.cache_control.public = True
            response.cache_control.no_cache = None
        return response
