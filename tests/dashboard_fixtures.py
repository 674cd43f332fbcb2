"""Shared fixtures of the dashboard tests: one small artifact set and one gunicorn server per test session.

Test modules import the fixtures they use::

    from tests.dashboard_fixtures import dashboard_artifacts, dashboard_server  # noqa: F401

The artifact set is built once from generated demo data at a reduced scale
(about a second) and served by one real gunicorn process (two workers) that
the HTTP and the browser tests share.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Small enough to build in about a second, big enough for every page to have something to show.
SMALL_SCALE = dict(n_tracks=1500, n_artists=250, n_users=3000, n_listens=45_000, n_warm_tracks=1000)


def build_small_artifacts(directory: Path) -> Path:
    """Generate demo data at :data:`SMALL_SCALE` into ``directory/raw`` and build ``directory/artifacts``."""
    from build import demo_data
    from build.refresh import refresh

    raw, out = directory / "raw", directory / "artifacts"
    demo_data.write(demo_data.generate(demo_data.Scale(**SMALL_SCALE), seed=7), raw)
    refresh(raw, out)
    return out


@pytest.fixture(scope="session")
def dashboard_artifacts(tmp_path_factory) -> Path:
    """The artifact root (with ``current``) every dashboard test reads."""
    return build_small_artifacts(tmp_path_factory.mktemp("dashboard-data"))


@pytest.fixture(scope="session")
def dashboard_recommender(dashboard_artifacts):
    from engine import Recommender

    return Recommender.load(dashboard_artifacts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str, dict]:
    """``(status, body, headers)`` of a GET, without raising on 4xx/5xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8"), dict(error.headers)


@dataclass
class Server:
    """A running gunicorn serving the dashboard."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """The server log once it contains ``text`` (the log is written by other processes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if text in log:
                return log
            time.sleep(0.1)
        return self.log()

    def callback(self, output: str, inputs: list[dict], state: list[dict] | None = None,
                 changed: list[str] | None = None) -> tuple[int, dict | str]:
        """POST one callback request the way the Dash renderer does; ``(status, response JSON or text)``."""
        payload = {"output": output, "outputs": _outputs(output), "inputs": inputs, "state": state or [],
                   "changedPropIds": changed or [f"{i['id']}.{i['property']}" for i in inputs]}
        request = urllib.request.Request(f"{self.url}/_dash-update-component", data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read().decode("utf-8")
                return response.status, json.loads(body) if body else {}
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8")


def _outputs(output: str):
    """The ``outputs`` field of a callback request for Dash's ``..a.b...c.d..`` multi-output ids."""
    def one(spec):
        component, prop = spec.rsplit(".", 1)
        return {"id": component, "property": prop}
    if output.startswith(".."):
        return [one(s) for s in output.strip(".").split("...")]
    return one(output)


def start_server(artifacts: Path, log_path: Path, workers: int = 2,
                 timeout: float = 60.0, env: dict[str, str] | None = None) -> Server:
    """Start ``gunicorn -c gunicorn.conf.py dashboard.app:server`` on a free loopback port and wait for it.

    Readiness is polled on ``/healthz`` (any status): the first request after
    start can take more than a second. ``env`` adds to the server's environment.
    """
    port = free_port()
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts), "PORT": str(port),
           "WEB_CONCURRENCY": str(workers), "PYTHONUNBUFFERED": "1", **(env or {})}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
               "dashboard.app:server"]
    log_file = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - the process writes it while it runs
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    log_file.close()
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=5):
                return server
        except urllib.error.HTTPError:
            return server  # answering (503 without artifacts) is ready
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{server.log()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def dashboard_server(dashboard_artifacts, tmp_path_factory):
    """One gunicorn process (2 workers) over the session's artifact set."""
    directory = tmp_path_factory.mktemp("dashboard-server")
    server = start_server(dashboard_artifacts, directory / "gunicorn.log")
    yield server
    stop_server(server)


@pytest.fixture
def empty_artifact_root(tmp_path):
    root = tmp_path / "artifacts"
    root.mkdir()
    return root


def copy_artifact_set(root: Path, into: Path, evaluation: dict | None = None) -> str:
    """Copy ``root``'s current set into the artifact root ``into`` and point ``into/current`` at it atomically.

    With ``evaluation``, the copy gets it as its ``evaluation.json`` (as a build with evaluation writes it).
    """
    source = (root / "current").resolve()
    version = source.name
    shutil.copytree(source, into / version)
    if evaluation is not None:
        (into / version / "evaluation.json").write_text(json.dumps(evaluation), encoding="utf-8")
    link = into / ".current.tmp"
    os.symlink(version, link)
    os.replace(link, into / "current")
    return version
