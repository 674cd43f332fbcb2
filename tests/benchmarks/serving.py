"""Serving under load: a real gunicorn process on loopback, driven through Dash's callback endpoint.

The dashboard is started exactly as ``make run`` starts it (``gunicorn -c
gunicorn.conf.py dashboard.app:server``) on a free port with the benchmark's
artifact set. Clients are threads holding one keep-alive HTTP connection each
and posting to ``/_dash-update-component`` what the browser posts:

- *recommend*: the Discover page's main callback, fired by picking a seed
  track (hybrid, alpha 0.5, k 10): the engine query plus the result cards;
- *explain*: the page router rendering ``/explain?seed=...&track=...``
  (the explanation, rank by alpha and the figures).

Each level runs for a fixed time; the report gives requests/s, p50/p95 and
errors. Memory: PSS (proportional set size: shared pages divided among the
processes mapping them) of master and workers with 1 and with 4 workers;
artifacts shared through the page cache show up as a small per-worker
increase. The client runs on the same 2 cores as the server, so requests/s is
a floor.
"""
from __future__ import annotations

import http.client
import json
import logging
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import numpy as np
import psutil

from tests.dashboard_fixtures import start_server, stop_server

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APP = PROJECT_ROOT / "dashboard" / "app.py"
CONFIG = PROJECT_ROOT / "gunicorn.conf.py"
UPDATE = "/_dash-update-component"


class Server:
    """A gunicorn process serving the dashboard on loopback (a context manager), ready once every worker is up.

    Started and stopped as the dashboard tests do it (:func:`tests.dashboard_fixtures.start_server`).
    """

    def __init__(self, artifact_dir: Path, workers: int):
        self.artifact_dir, self.workers = artifact_dir, workers

    def __enter__(self) -> "Server":
        self._log_dir = tempfile.TemporaryDirectory(prefix="bench-gunicorn-")
        self.server = start_server(self.artifact_dir, Path(self._log_dir.name) / "gunicorn.log",
                                   workers=self.workers, timeout=180.0,
                                   env={"LOG_LEVEL": "WARNING", "GUNICORN_TIMEOUT": "120"})
        self.process, self.port = self.server.process, urlsplit(self.server.url).port
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.server.log()[-3000:])
            try:
                if request(self.port, "GET", "/healthz")[0] == 200 and len(self.worker_pids()) >= self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError("gunicorn did not become ready within 180 s")

    def __exit__(self, *exc):
        stop_server(self.server)
        self._log_dir.cleanup()

    def worker_pids(self) -> list[int]:
        try:
            return [c.pid for c in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def memory(self, when: str) -> dict:
        """RSS, PSS (split into anonymous memory and mapped files) and USS (MB) of the master and its workers.

        PSS of mapped files is mostly the memory-mapped artifacts: page cache, shared by every process
        that maps a page, and growing with the pages queries have touched, not with the workers.
        """
        procs = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children()]
        infos = [p.memory_full_info() for p in procs]
        rollups = [_smaps_rollup(p.pid) for p in procs]
        workers = infos[1:]
        return {"workers": len(workers), "when": when, "rss_mb": sum(i.rss for i in infos) / 2**20,
                "pss_mb": sum(i.pss for i in infos) / 2**20,
                "pss_anon_mb": sum(r.get("Pss_Anon", 0) for r in rollups) / 1024,
                "pss_file_mb": sum(r.get("Pss_File", 0) for r in rollups) / 1024,
                "uss_per_worker_mb": (sum(i.uss for i in workers) / max(len(workers), 1)) / 2**20}


def _smaps_rollup(pid: int) -> dict[str, int]:
    """``/proc/<pid>/smaps_rollup`` as ``{field: kB}`` (Linux; empty elsewhere)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            lines = handle.read().splitlines()[1:]
    except OSError:
        return {}
    return {name.rstrip(":"): int(value) for name, value, *_ in (line.split() for line in lines)}


def request(port: int, method: str, path: str, body: bytes | None = None, connection=None):
    """``(status, body bytes)`` of one HTTP request (on ``connection`` when given)."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if connection is None:
        conn.close()
    return response.status, data


def _callback(dependencies: list, output_part: str) -> dict:
    for dependency in dependencies:
        if output_part in dependency["output"]:
            return dependency
    raise LookupError(f"no callback with output {output_part!r} in /_dash-dependencies")


def _outputs(output: str) -> list[dict]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [{"id": p.rsplit(".", 1)[0].split("@")[0], "property": p.rsplit(".", 1)[1].split("@")[0]}
            for p in parts]


def _payload(dependency: dict, values: dict, changed: str) -> bytes:
    """The JSON body Dash's renderer posts for ``dependency`` with ``values[(id, property)]``."""
    def items(kind):
        return [{"id": d["id"], "property": d["property"], "value": values.get((d["id"], d["property"]))}
                for d in dependency.get(kind, [])]

    outputs = _outputs(dependency["output"])
    return json.dumps({"output": dependency["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
                       "inputs": items("inputs"), "state": items("state"),
                       "changedPropIds": [changed]}).encode()


def payloads(port: int, track_ids, pairs) -> dict[str, list[bytes]]:
    """Request bodies of the two callbacks, one per seed (or seed/track pair)."""
    status, body = request(port, "GET", "/_dash-dependencies")
    if status != 200:
        raise RuntimeError(f"/_dash-dependencies answered {status}")
    dependencies = json.loads(body)
    discover = _callback(dependencies, "discover-results.children")
    router = _callback(dependencies, "_pages_content.children")
    recommend = [_payload(discover, {("discover-url", "search"): "", ("discover-track", "value"): t,
                                     ("discover-method", "value"): "hybrid", ("discover-alpha", "value"): 0.5,
                                     ("discover-k", "value"): 10}, "discover-track.value")
                 for t in track_ids]
    explain = [_payload(router, {("_pages_location", "pathname"): "/explain",
                                 ("_pages_location", "search"): f"?seed={quote(s)}&track={quote(t)}&alpha=0.5"},
                        "_pages_location.pathname")
               for s, t in pairs]
    return {"recommend": recommend, "explain": explain}


def drive(port: int, bodies: list[bytes], clients: int, seconds: float) -> dict:
    """``clients`` threads posting ``bodies`` round-robin for ``seconds``: throughput, latency, errors."""
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(c: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = c
        while time.monotonic() < deadline:
            body = bodies[i % len(bodies)]
            i += clients
            start = time.perf_counter()
            try:
                status, data = request(port, "POST", UPDATE, body, connection=conn)
                ok = status == 200 and b'"response"' in data
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            latencies[c].append(time.perf_counter() - start)
            errors[c] += not ok
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    ms = np.concatenate([np.asarray(x) for x in latencies]) * 1e3 if any(latencies) else np.zeros(1)
    return {"clients": clients, "requests": int(ms.size), "errors": int(sum(errors)),
            "rps": ms.size / elapsed, "p50_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95))}


def run_serving(artifact_dir: Path, seconds: float = 10.0, track_ids=None, pairs=None,
                levels=(1, 10, 50), workers: int = 4) -> dict:
    """Load-test the dashboard with ``workers`` workers, then compare memory with 1 worker."""
    missing = [str(p.relative_to(PROJECT_ROOT)) for p in (APP, CONFIG) if not p.is_file()]
    if missing:
        return {"skipped": f"{', '.join(missing)} not in the tree"}
    rows, memory = [], []
    for n_workers in (workers, 1):
        with Server(artifact_dir, n_workers) as server:
            bodies = payloads(server.port, list(track_ids), list(pairs))
            # Warm every worker up (first requests import pages and fault the mapped pages in),
            # then compare the worker counts after the same warm-up.
            drive(server.port, bodies["recommend"], max(2 * n_workers, 2), 3.0)
            drive(server.port, bodies["explain"], max(2 * n_workers, 2), 3.0)
            memory.append(server.memory("after warm-up"))
            if n_workers == workers:
                for endpoint in ("recommend", "explain"):
                    for clients in levels:
                        result = drive(server.port, bodies[endpoint], clients, seconds)
                        log.info("serving %s, %d clients: %.1f req/s, p95 %.1f ms, %d errors", endpoint,
                                 clients, result["rps"], result["p95_ms"], result["errors"])
                        rows.append({"endpoint": endpoint, "workers": n_workers, **result})
                memory.append(server.memory("after the load test"))
    warm = sorted((m for m in memory if m["when"] == "after warm-up"), key=lambda m: m["workers"])
    if len(warm) == 2 and warm[1]["workers"] > warm[0]["workers"]:
        added = warm[1]["workers"] - warm[0]["workers"]
        warm[1]["per_extra_worker_mb"] = f"{(warm[1]['pss_mb'] - warm[0]['pss_mb']) / added:.0f}"
        warm[1]["per_extra_worker_anon_mb"] = f"{(warm[1]['pss_anon_mb'] - warm[0]['pss_anon_mb']) / added:.0f}"
    memory.sort(key=lambda m: (m["workers"], m["when"] != "after warm-up"))
    return {"rows": rows, "memory": memory}
