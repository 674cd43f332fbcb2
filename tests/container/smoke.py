"""Smoke checks against a running dashboard, from the outside, over HTTP only.

    python3 tests/container/smoke.py http://127.0.0.1:8000 [--wait 120] [--expect-version V]

What a person (or a load balancer) would touch first:

1. ``GET /healthz`` answers 200 with ``status: ok`` and an artifact version (waits
   up to ``--wait`` seconds for the server to come up);
2. ``GET /`` serves the Dash page shell, and the Bootstrap CSS the shell links to is served;
3. the page-content callback renders the Discover and Data pages;
4. the Discover page's recommendation callback (``POST /_dash-update-component``, the
   request the browser sends) returns, for a seed taken from its own suggestions, a
   ranked list of exactly ``k`` other tracks.

Callbacks are looked up in ``/_dash-dependencies`` by their output ids (from
``dashboard/ids.py``), so the checks follow the app's real callback signatures.
Standard library only: it runs with any python3, against a container or a deployed host.
Exit status 0 when every check passes; the first failure is printed and exits 1.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
import urllib.error
import urllib.request

log = logging.getLogger("smoke")

#: Component ids the checks drive (dashboard/ids.py: DISCOVER_URL, DISCOVER_RESULTS, DATA_STATS).
DISCOVER_URL = "discover-url"
DISCOVER_RESULTS = "discover-results"
DATA_STATS = "data-stats"
PAGES_CONTENT = "_pages_content"  # Dash Pages' own container
TRACK_LINK = re.compile(r"[?&]track=([A-Za-z0-9_-]+)")


class SmokeFailure(AssertionError):
    """A check failed; the message says which and what came back."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


class Dashboard:
    """A running dashboard at ``base_url``."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._dependencies: list[dict] | None = None

    def get(self, path: str) -> tuple[int, str, str]:
        """``(status, content type, body)`` of a GET; HTTP errors are returned, not raised."""
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=self.timeout) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode(errors="replace")

    def wait_healthy(self, seconds: float) -> dict:
        """The /healthz document once it says ok; fails after ``seconds``."""
        deadline, last = time.monotonic() + seconds, "no answer"
        while time.monotonic() < deadline:
            try:
                status, _, body = self.get("/healthz")
                if status == 200:
                    return json.loads(body)
                last = f"HTTP {status}: {body[:300]}"
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                last = str(exc)
            time.sleep(1)
        raise SmokeFailure(f"/healthz not healthy after {seconds:.0f} s: {last}")

    def dependencies(self) -> list[dict]:
        if self._dependencies is None:
            status, _, body = self.get("/_dash-dependencies")
            check(status == 200, f"/_dash-dependencies: HTTP {status}")
            self._dependencies = json.loads(body)
        return self._dependencies

    def callback_for(self, output_id: str) -> dict:
        """The server-side callback whose outputs include component ``output_id``."""
        for dep in self.dependencies():
            outputs = dep["output"].strip(".").split("...")
            if dep.get("clientside_function") is None and any(o.split("@")[0].rsplit(".", 1)[0] == output_id
                                                              for o in outputs):
                return dep
        raise SmokeFailure(f"no callback writes {output_id!r} (ids changed? see dashboard/ids.py)")

    def call(self, dep: dict, values: dict[str, object], changed: str) -> dict:
        """POST one callback as the browser does; ``values`` maps "id.property" to input values."""
        multi = dep["output"].startswith("..")
        outputs = [dict(zip(("id", "property"), o.rsplit(".", 1))) for o in dep["output"].strip(".").split("...")]
        body = {
            "output": dep["output"],
            "outputs": outputs if multi else outputs[0],
            "inputs": [dict(i, value=values.get(f"{i['id']}.{i['property']}")) for i in dep["inputs"]],
            "state": [dict(s, value=values.get(f"{s['id']}.{s['property']}")) for s in dep["state"]],
            "changedPropIds": [changed],
        }
        request = urllib.request.Request(self.base_url + "/_dash-update-component", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())["response"]
        except urllib.error.HTTPError as exc:
            raise SmokeFailure(f"callback {dep['output'][:80]}: HTTP {exc.code}: "
                               f"{exc.read().decode(errors='replace')[:500]}") from None


def props_with(tree, key: str) -> list:
    """Every value of prop ``key`` in a serialised Dash component tree, in document order."""
    found = []
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and key in props:
            found.append(props[key])
        for value in tree.values():
            found += props_with(value, key)
    elif isinstance(tree, list):
        for value in tree:
            found += props_with(value, key)
    return found


def check_health(app: Dashboard, wait: float, expect_version: str | None) -> dict:
    health = app.wait_healthy(wait)
    check(health.get("status") == "ok" and health.get("version"), f"/healthz: {health}")
    if expect_version:
        check(health["version"] == expect_version,
              f"/healthz serves artifact set {health['version']}, expected {expect_version}")
    log.info("healthz ok: artifact set %s, %s tracks", health["version"], health.get("tracks"))
    return health


def check_shell(app: Dashboard) -> None:
    status, content_type, body = app.get("/")
    check(status == 200 and "text/html" in content_type, f"GET /: HTTP {status} {content_type}")
    check("_dash-config" in body and "<title>" in body, "GET /: not the Dash page shell")
    css = re.search(r'href="(/vendor/bootstrap/[^"]+\.css)"', body)
    check(css is not None, "GET /: the page links no local Bootstrap CSS")
    status, _, _ = app.get(css.group(1))
    check(status == 200, f"GET {css.group(1)}: HTTP {status}")
    log.info("page shell and %s served", css.group(1))


def check_pages(app: Dashboard) -> None:
    dep = app.callback_for(PAGES_CONTENT)
    for path, must_contain in (("/", DISCOVER_RESULTS), ("/data", DATA_STATS)):
        response = app.call(dep, {"_pages_location.pathname": path, "_pages_location.search": ""},
                            changed="_pages_location.pathname")
        rendered = json.dumps(response.get(PAGES_CONTENT, {}))
        check(f'"{must_contain}"' in rendered, f"page {path} rendered without #{must_contain}: {rendered[:300]}")
        log.info("page %s renders (#%s present)", path, must_contain)


def check_recommendations(app: Dashboard) -> None:
    dep = app.callback_for(DISCOVER_RESULTS)
    url_search = f"{DISCOVER_URL}.search"
    suggestions = app.call(dep, {url_search: ""}, changed=url_search)
    seeds = TRACK_LINK.findall(json.dumps(suggestions.get(DISCOVER_RESULTS, {})).replace("\\u002f", "/"))
    check(bool(seeds), f"Discover without a seed suggests no track: {json.dumps(suggestions)[:300]}")
    seed = seeds[0]
    response = app.call(dep, {url_search: f"?track={seed}"}, changed=url_search)
    k = response.get("discover-k", {}).get("value", 10)
    tracks = props_with(response.get(DISCOVER_RESULTS), "data-track")
    check(len(tracks) == k, f"expected {k} recommendations for {seed}, got {len(tracks)}: {tracks}")
    check(len(set(tracks)) == k and seed not in tracks, f"recommendations repeat or include the seed: {tracks}")
    log.info("recommendations for %s: %d tracks, first %s", seed, len(tracks), tracks[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for /healthz (default 120)")
    parser.add_argument("--expect-version", help="artifact version /healthz must report")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="smoke: %(message)s")
    app = Dashboard(args.base_url)
    try:
        check_health(app, args.wait, args.expect_version)
        check_shell(app)
        check_pages(app)
        check_recommendations(app)
    except SmokeFailure as exc:
        log.error("FAILED: %s", exc)
        return 1
    log.info("all checks passed against %s", args.base_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
