"""A soak test of a running dashboard: many concurrent sessions doing what people do on every page.

    from tests.benchmarks.soak import run_soak
    figures = run_soak("http://127.0.0.1:8000", seconds=180)

Each session is a thread with its own HTTP connection that loops over the
pages in a random (seeded) order and does there what the browser does:

- *Discover*: load the page (router), the URL callback for a seed, type in the
  track search, move the α slider;
- *Explain*: the router rendering ``/explain?seed=…&track=…``;
- *α sensitivity*: the page (its layout draws the sweep), its URL callback and,
  on every fourth visit, another list length (the sweep again);
- *For you*: a listener from the URL, the listener search, a session playlist
  of three tracks;
- *Data*: the page with its figures;
- now and then a fresh page load (the HTML shell) and ``/healthz``.

The callbacks' request bodies are built from ``/_dash-dependencies`` and the
ids come from the app itself (track and listener searches), so nothing but
the base URL is needed. A request fails when it raises, times out or answers
anything but 200 (204 for a callback that has nothing to update).

The result dict has requests/s, p50/p95/max latency in ms, errors (with up to
ten samples), requests per kind, and the memory of the gunicorn workers
(RSS and USS, MB) after a warm-up and at the end. The workers are found as the
children of the process listening on the URL's port, or of ``master_pid``.
"""
from __future__ import annotations

import http.client
import json
import logging
import random
import re
import string
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import numpy as np
import psutil

log = logging.getLogger(__name__)

UPDATE = "/_dash-update-component"
OK_CALLBACK = (200, 204)


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

class Client:
    """One keep-alive connection to the server (reconnects after a failure)."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self._conn.request(method, path, body=data, headers=headers)
            response = self._conn.getresponse()
            return response.status, response.read()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class App:
    """What a session needs to know about the app: callback specs, a page token and some ids."""

    dependencies: list
    end_id: str
    tracks: list[str]
    users: list[str]

    def callback(self, output_part: str) -> dict:
        for dependency in self.dependencies:
            if output_part in dependency["output"]:
                return dependency
        raise LookupError(f"no callback with output {output_part!r}")


def _outputs(output: str):
    def one(spec):
        component, prop = spec.rsplit(".", 1)
        return {"id": component, "property": prop}
    return [one(s) for s in output[2:-2].split("...")] if output.startswith("..") else one(output)


def body(dependency: dict, values: dict, changed: str) -> dict:
    """The JSON the renderer posts for ``dependency`` with ``values[(id, property)]`` (missing ones None)."""
    def items(kind):
        return [{"id": d["id"], "property": d["property"], "value": values.get((d["id"], d["property"]))}
                for d in dependency.get(kind, [])]
    return {"output": dependency["output"], "outputs": _outputs(dependency["output"]), "inputs": items("inputs"),
            "state": items("state"), "changedPropIds": [changed]}


def discover_app(base_url: str, n_ids: int = 60) -> App:
    """Callback specs from ``/_dash-dependencies``, the page's ``end_id`` and ids found through the searches."""
    client = Client(base_url)
    try:
        status, page = client.request("GET", "/")
        config = re.search(rb'<script id="_dash-config" type="application/json">(.*?)</script>', page, re.S)
        end_id = json.loads(config.group(1))["end_id"] if status == 200 and config else ""
        status, raw = client.request("GET", "/_dash-dependencies")
        if status != 200:
            raise RuntimeError(f"/_dash-dependencies answered {status}")
        app = App(json.loads(raw), end_id, [], [])
        search = app.callback("discover-track.labels")
        for letters in ("a", "e", "o", "i", "n", "r", "s", "t"):
            status, raw = client.request("POST", UPDATE, body(search, {("discover-track", "search_value"): letters},
                                                                "discover-track.search_value"))
            if status == 200:
                app.tracks += [o["value"] for o in _options(raw) if o["value"] not in app.tracks]
        users = app.callback("user-pick.labels")
        for prefix in string.hexdigits.lower()[:16] + "u":
            status, raw = client.request("POST", UPDATE, body(users, {("user-pick", "search_value"): prefix},
                                                               "user-pick.search_value"))
            if status == 200:
                app.users += [u for u in _options(raw)[:3] if isinstance(u, str)]
        if len(app.tracks) < 2:
            raise RuntimeError("the track search found fewer than two tracks")
        app.tracks, app.users = app.tracks[:n_ids], app.users[:n_ids]
        return app
    finally:
        client.close()


def _options(raw: bytes) -> list:
    """The ``options`` a dropdown-search callback answered (its key may carry Dash's ``@`` suffix)."""
    props = next(iter(json.loads(raw)["response"].values()))
    return next((v for k, v in props.items() if k.split("@")[0] == "options"), [])


# --------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------

@dataclass
class Record:
    """Everything the sessions did: one (start time, kind, latency s, ok, session) per request, and failure
    samples (the session is the name of the thread that made the request)."""

    started: float = field(default_factory=time.monotonic)
    rows: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, start: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.rows.append((start - self.started, kind, time.monotonic() - start, ok,
                              threading.current_thread().name))
            if not ok:
                self.failures.append(f"{start - self.started:.2f}s {kind}: {detail}"[:300])


class Session:
    """One person's browser: a loop over the pages with its own connection and random choices."""

    def __init__(self, base_url: str, app: App, record: Record, stop: threading.Event, seed: int,
                 sweeps: bool = True):
        self.client, self.app, self.record, self.stop = Client(base_url), app, record, stop
        self.rng, self.sweeps, self.visits = random.Random(seed), sweeps, 0

    # one request -------------------------------------------------------
    def _call(self, kind: str, method: str, path: str, payload: dict | None = None,
              ok_status=(200,)) -> bytes | None:
        start = time.monotonic()
        try:
            status, data = self.client.request(method, path, payload)
        except (OSError, http.client.HTTPException) as exc:
            self.record.add(kind, start, False, f"{type(exc).__name__}: {exc}")
            return None
        ok = status in ok_status
        self.record.add(kind, start, ok, f"HTTP {status}: {data[:200]!r}")
        return data if ok else None

    def callback(self, kind: str, output_part: str, values: dict, changed: str, query: str = "") -> bytes | None:
        payload = body(self.app.callback(output_part), values, changed)
        return self._call(kind, "POST", UPDATE + query, payload, OK_CALLBACK)

    def page(self, path: str, search: str = "") -> bytes | None:
        return self.callback(f"page {path}", "_pages_content.children",
                             {("_pages_location", "pathname"): path, ("_pages_location", "search"): search},
                             "_pages_location.pathname")

    # pages ---------------------------------------------------------------
    def discover(self):
        seed = self.rng.choice(self.app.tracks)
        search = "?" + urlencode({"track": seed, "alpha": self.rng.choice([0.2, 0.5, 0.8]), "k": 10})
        self.page("/", search)
        view = {("discover-url", "search"): search, ("discover-track", "value"): None,
                ("discover-method", "value"): "hybrid", ("discover-alpha", "value"): 0.5, ("discover-k", "value"): 10}
        self.callback("discover url", "discover-results.children", view, "discover-url.search")
        self.callback("discover search", "discover-track.labels",
                      {("discover-track", "search_value"): self.rng.choice(["the", "lo", "a", "ma", "Bl"])},
                      "discover-track.search_value")
        moved = {**view, ("discover-track", "value"): seed, ("discover-alpha", "value"): self.rng.random()}
        self.callback("discover alpha", "discover-results.children", moved, "discover-alpha.value")

    def explain(self):
        seed, track = self.rng.sample(self.app.tracks, 2)
        self.page("/explain", "?" + urlencode({"seed": seed, "track": track, "alpha": 0.5}))

    def alpha(self):
        seed = self.rng.choice(self.app.tracks)
        search = "?" + urlencode({"track": seed, "k": 10})
        self.page("/alpha", search)  # the layout draws the sweep
        view = {("alpha-url", "search"): search, ("alpha-track", "value"): seed, ("alpha-k", "value"): 10,
                ("alpha-shown", "data"): {"track": seed, "k": 10}}
        self.callback("alpha url", "alpha-results.children", view, "alpha-url.search")  # shown already: 204
        self.visits += 1
        if self.sweeps and self.visits % 4 == 1:  # another list length: the sweep again
            other = {**view, ("alpha-k", "value"): self.rng.choice([5, 20])}
            self.callback("alpha sweep", "alpha-results.children", other, "alpha-k.value")

    def user(self):
        user = self.rng.choice(self.app.users) if self.app.users else "nobody"
        search = "?" + urlencode({"id": user, "alpha": 0.5})
        self.page("/user", search)
        self.callback("user url", "user-recs.children",
                      {("user-url", "search"): search, ("user-tabs", "value"): "listener", ("user-pick", "value"): None,
                       ("user-alpha", "value"): 0.5, ("user-random", "n_clicks"): None}, "user-url.search")
        self.callback("user search", "user-pick.labels", {("user-pick", "search_value"): user[:2]},
                      "user-pick.search_value")
        playlist = self.rng.sample(self.app.tracks, 3)
        self.callback("session recs", "session-recs.children",
                      {("app-session-tracks", "data"): playlist, ("session-alpha", "value"): 0.5},
                      "app-session-tracks.data")

    def data(self):
        self.page("/data")

    def run(self):
        pages = [self.discover, self.explain, self.alpha, self.user, self.data]
        try:
            while not self.stop.is_set():
                if self.rng.random() < 0.2:
                    self._call("GET /", "GET", "/")
                if self.rng.random() < 0.1:
                    self._call("GET /healthz", "GET", "/healthz")
                self.rng.shuffle(pages)
                for visit in pages:
                    if self.stop.is_set():
                        break
                    visit()
        finally:
            self.client.close()


# --------------------------------------------------------------------------
# Memory of the workers
# --------------------------------------------------------------------------

def master_of(base_url: str) -> int | None:
    """Pid of the process listening on the URL's port (the gunicorn master), if it can be found."""
    port = urlsplit(base_url).port
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return conn.pid
    except psutil.AccessDenied:
        return None
    return None


def worker_memory(master_pid: int | None) -> dict | None:
    """``{pid: {"rss_mb", "uss_mb", "anon_mb", "file_mb"}}`` of the master's worker processes (their job
    processes left out). ``anon_mb`` is the resident anonymous memory, where a leak would show;
    ``file_mb`` the resident mapped files, mostly artifact pages the queries have touched (page cache,
    shared by every worker that maps them)."""
    if master_pid is None:
        return None
    try:
        workers = psutil.Process(master_pid).children()
    except psutil.NoSuchProcess:
        return None
    memory = {}
    for worker in workers:
        try:
            info = worker.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        status = _status_kb(worker.pid)
        memory[worker.pid] = {"rss_mb": round(info.rss / 2**20, 1), "uss_mb": round(info.uss / 2**20, 1),
                              "anon_mb": round(status.get("RssAnon", 0) / 1024, 1),
                              "file_mb": round(status.get("RssFile", 0) / 1024, 1)}
    return memory


def _status_kb(pid: int) -> dict[str, int]:
    """The ``kB`` fields of ``/proc/<pid>/status`` (Linux; empty elsewhere)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    fields = (line.split() for line in lines)
    return {parts[0].rstrip(":"): int(parts[1]) for parts in fields if len(parts) == 3 and parts[2] == "kB"}


# --------------------------------------------------------------------------
# The soak
# --------------------------------------------------------------------------

class Soak:
    """Sessions running in the background until :meth:`stop` (a context manager).

    Used by :func:`run_soak` and by the fault tests, which break things while it runs.
    """

    def __init__(self, base_url: str, sessions: int = 12, seed: int = 0, sweeps: bool = True,
                 app: App | None = None):
        self.base_url, self.sessions, self.seed, self.sweeps = base_url, sessions, seed, sweeps
        self.app = app or discover_app(base_url)
        self.record = Record()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> "Soak":
        self.record = Record()
        for n in range(self.sessions):
            session = Session(self.base_url, self.app, self.record, self._stop, seed=self.seed * 1000 + n,
                              sweeps=self.sweeps)
            thread = threading.Thread(target=session.run, name=f"soak-session-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 90.0) -> Record:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.1))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("sessions still running after %.0f s: %s", timeout, stuck)
        return self.record

    def __enter__(self) -> "Soak":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def summarise(record: Record, since: float = 0.0, until: float | None = None) -> dict:
    """Requests/s, latency percentiles and errors of the requests started in ``[since, until)`` (seconds)."""
    rows = [r for r in record.rows if r[0] >= since and (until is None or r[0] < until)]
    if not rows:
        return {"requests": 0, "errors": 0, "rps": 0.0}
    starts = np.array([r[0] for r in rows])
    latency_ms = np.array([r[2] for r in rows]) * 1e3
    span = max((until if until is not None else starts.max() + 1e-9) - since, 1e-9)
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r[1]] = kinds.get(r[1], 0) + 1
    errors = sum(1 for r in rows if not r[3])
    return {"requests": len(rows), "errors": errors, "rps": round(len(rows) / span, 1),
            "sessions_answered": len({r[4] for r in rows if r[3]}),
            "p50_ms": round(float(np.percentile(latency_ms, 50)), 1) if latency_ms.size else None,
            "p95_ms": round(float(np.percentile(latency_ms, 95)), 1) if latency_ms.size else None,
            "max_ms": round(float(latency_ms.max()), 1) if latency_ms.size else None,
            "by_kind": dict(sorted(kinds.items()))}


def _answered_by_session(rows: list) -> dict[str, list[str]]:
    """``{session: kinds}``: the kinds of request each session got an answer to, sorted."""
    kinds: dict[str, set] = {}
    for row in rows:
        if row[3]:
            kinds.setdefault(row[4], set()).add(row[1])
    return {session: sorted(answered) for session, answered in sorted(kinds.items())}


def run_soak(base_url: str, seconds: float, sessions: int = 12, master_pid: int | None = None,
             warmup: float = 3.0, seed: int = 0) -> dict:
    """Run ``sessions`` concurrent sessions against ``base_url`` for ``seconds`` (after ``warmup``).

    Returns
    -------
    dict
        ``seconds``, ``sessions``, ``requests``, ``errors``, ``error_samples``,
        ``rps``, ``p50_ms``, ``p95_ms``, ``max_ms``, ``by_kind`` (requests per
        kind) and ``sessions_answered`` (sessions with at least one answer) over
        the measured period, ``answered_by_session`` (the kinds of request each
        session got an answer to, over the whole soak, warm-up included), and
        ``memory_start``/``memory_end``
        (see :func:`worker_memory`, or None) with ``uss_growth_mb``, ``rss_growth_mb``,
        ``anon_growth_mb`` and ``file_growth_mb`` (end minus start, summed over the workers present at both).
    """
    master_pid = master_pid or master_of(base_url)
    soak = Soak(base_url, sessions=sessions, seed=seed)
    with soak:
        time.sleep(warmup)
        memory_start = worker_memory(master_pid)
        measured_from = time.monotonic() - soak.record.started
        time.sleep(seconds)
        measured_to = time.monotonic() - soak.record.started
        memory_end = worker_memory(master_pid)
    record = soak.record
    result = {"seconds": seconds, "sessions": sessions, **summarise(record, measured_from, measured_to),
              "errors_total": sum(1 for r in record.rows if not r[3]), "error_samples": record.failures[:10],
              "answered_by_session": _answered_by_session(record.rows),
              "memory_start": memory_start, "memory_end": memory_end}
    if memory_start and memory_end:
        both = set(memory_start) & set(memory_end)
        result["uss_growth_mb"] = round(sum(memory_end[p]["uss_mb"] - memory_start[p]["uss_mb"] for p in both), 1)
        for field in ("rss", "anon", "file"):
            result[f"{field}_growth_mb"] = round(sum(memory_end[p][f"{field}_mb"] - memory_start[p][f"{field}_mb"]
                                                     for p in both), 1)
    log.info("soak: %s", json.dumps({k: v for k, v in result.items() if k not in ("by_kind", "answered_by_session")}))
    return result
