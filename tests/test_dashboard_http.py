"""The dashboard served by a real gunicorn process, over HTTP: health, pages, callbacks, bad ids, no artifacts."""
from __future__ import annotations

import gzip
import importlib.metadata
import json
import re
import time
import urllib.error
import urllib.request

import brotli
import pytest

from dashboard import plotlyjs
from tests.dashboard_fixtures import copy_artifact_set, http_get, start_server, stop_server

PAGES = {"/": "discover-track", "/explain": "explain-empty", "/alpha": "alpha-track", "/user": "user-pick",
         "/data": "data-stats", "/no/such/page": "There is no page here"}
BOOTSTRAP_PATH = f"/vendor/bootstrap/{importlib.metadata.version('Bootstrap-Flask')}"
ROUTING = ".._pages_content.children..._pages_store.data.."
DISCOVER = ("..discover-url.search...discover-track.value...discover-track.options...discover-method.value..."
            "discover-alpha.value...discover-alpha.disabled...discover-k.value...discover-notice.children..."
            "discover-results.children...discover-shown.data..")
USER = ("..user-url.search...user-tabs.value...user-pick.value...user-pick.options...user-alpha.value..."
        "user-notice.children...user-history.children...user-recs.children...user-listener-panel.style..."
        "user-session-panel.style..")


def page_layout(server, path: str, search: str = "") -> str:
    """The layout the Dash Pages router returns for ``path?search``, as JSON text."""
    status, body = server.callback(ROUTING, [{"id": "_pages_location", "property": "pathname", "value": path},
                                             {"id": "_pages_location", "property": "search", "value": search}])
    assert status == 200, body
    return json.dumps(body["response"]["_pages_content"]["children"], ensure_ascii=False)


def discover(server, search: str) -> dict:
    """What Discover shows for a URL query string (its sync callback, as after back/forward to a view not on
    screen)."""
    inputs = [{"id": "discover-url", "property": "search", "value": search},
              {"id": "discover-track", "property": "value", "value": None},
              {"id": "discover-method", "property": "value", "value": "hybrid"},
              {"id": "discover-alpha", "property": "value", "value": 0.5},
              {"id": "discover-k", "property": "value", "value": 10}]
    shown = [{"id": "discover-shown", "property": "data", "value": None}]
    status, body = server.callback(DISCOVER, inputs, shown, changed=["discover-url.search"])
    assert status == 200, body
    return body["response"]


def test_healthz_reports_the_loaded_artifact_set(dashboard_server, dashboard_recommender):
    status, body, headers = http_get(f"{dashboard_server.url}/healthz")
    health = json.loads(body)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert health["status"] == "ok"
    assert health["version"] == dashboard_recommender.version
    assert health["manifest_hash"].startswith("sha256:")
    assert health["tracks"] == len(dashboard_recommender.tracks)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_path_serves_the_app(dashboard_server, path):
    status, body, _ = http_get(f"{dashboard_server.url}{path}")
    assert status == 200
    assert 'id="react-entry-point"' in body
    assert f"{BOOTSTRAP_PATH}/bootstrap.min.css" in body


@pytest.mark.parametrize("path, marker", PAGES.items())
def test_every_page_renders_its_layout(dashboard_server, path, marker):
    assert marker in page_layout(dashboard_server, path)


def test_bootstrap_is_served_from_the_installed_package_under_its_version(dashboard_server):
    status, body, headers = http_get(f"{dashboard_server.url}{BOOTSTRAP_PATH}/bootstrap.min.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert "Bootstrap" in body[:300]
    status, _, _ = http_get(f"{dashboard_server.url}{BOOTSTRAP_PATH}/font/bootstrap-icons.min.css")
    assert status == 200


def test_dcc_graph_gets_the_basic_plotly_bundle_cached_for_a_year(dashboard_server):
    request = urllib.request.Request(f"{dashboard_server.url}/{plotlyjs.DASH_PLOTLY_PATH}")
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=10)
    assert redirect.value.code == 302 and redirect.value.headers["Location"].endswith(plotlyjs.bundle_path())
    assert "no-cache" in redirect.value.headers.get("Cache-Control", "")
    status, body, headers = raw_get(dashboard_server.url + plotlyjs.bundle_path(), "br")
    assert status == 200 and headers.get("Content-Encoding") == "br"
    assert f"plotly.js (basic - minified) v{plotlyjs.bundle_version()}" in brotli.decompress(body)[:200].decode()
    assert "max-age=31536000" in headers.get("Cache-Control", "")
    assert len(body) < 500_000  # the full build is 1.1 MB with brotli


def test_another_plotly_version_is_not_served_under_the_bundles_path(dashboard_server):
    status, _, _ = http_get(dashboard_server.url + plotlyjs.bundle_path().replace(plotlyjs.bundle_version(), "1.0.0"))
    assert status == 404


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def raw_get(url: str, accept_encoding: str | None) -> tuple[int, bytes, dict]:
    """``(status, body as sent, headers)`` of a GET, asking for ``accept_encoding`` (nothing decoded)."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": accept_encoding} if accept_encoding else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read(), dict(response.headers)


def static_urls(server) -> list[str]:
    """The CSS and JavaScript URLs the page shell links to."""
    _, body, _ = http_get(f"{server.url}/")
    return re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js)[^"]*)"', body)


def test_static_files_go_out_brotli_compressed_and_cached_for_a_year(dashboard_server):
    urls = static_urls(dashboard_server)
    assert any(u.startswith("/_dash-component-suites/") for u in urls) and any("/assets/" in u for u in urls)
    for url in urls:
        status, body, headers = raw_get(dashboard_server.url + url, "gzip, deflate, br, zstd")
        assert status == 200 and headers.get("Content-Encoding") == "br", url
        _, plain, _ = raw_get(dashboard_server.url + url, None)
        assert brotli.decompress(body) == plain, url
        assert "max-age=31536000" in headers.get("Cache-Control", ""), url


def test_a_browser_without_brotli_gets_gzip(dashboard_server):
    url = next(u for u in static_urls(dashboard_server) if "dash_renderer" in u)
    _, body, headers = raw_get(dashboard_server.url + url, "gzip")
    _, plain, _ = raw_get(dashboard_server.url + url, None)
    assert headers.get("Content-Encoding") == "gzip" and gzip.decompress(body) == plain
    assert len(body) < len(plain) / 2


def test_pages_and_callback_answers_are_compressed_fresh(dashboard_server, dashboard_recommender):
    status, body, headers = raw_get(f"{dashboard_server.url}/", "br")
    assert status == 200 and headers.get("Content-Encoding") == "br" and b"<html" in brotli.decompress(body)
    assert "max-age=31536000" not in headers.get("Cache-Control", "")
    answers = []
    for track in dashboard_recommender.tracks["track_id"][:2]:
        payload = {"output": ROUTING, "outputs": [{"id": "_pages_content", "property": "children"},
                                                  {"id": "_pages_store", "property": "data"}],
                   "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/explain"},
                              {"id": "_pages_location", "property": "search",
                               "value": f"?seed={dashboard_recommender.tracks['track_id'][5]}&track={track}"}],
                   "changedPropIds": ["_pages_location.pathname"]}
        request = urllib.request.Request(f"{dashboard_server.url}/_dash-update-component", method="POST",
                                         data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json", "Accept-Encoding": "br"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers["Content-Encoding"] == "br"
            answers.append(json.loads(brotli.decompress(response.read())))
    assert answers[0] != answers[1]  # each answer compressed for itself, never one cached for the endpoint


def test_discover_recommends_k_tracks_for_a_track_in_the_url(dashboard_server, dashboard_recommender):
    seed = dashboard_recommender.tracks["track_id"].iloc[0]
    shown = discover(dashboard_server, f"?track={seed}&alpha=0.3&k=7")
    assert shown["discover-track"]["value"] == seed
    assert shown["discover-alpha"]["value"] == 0.3
    assert shown["discover-notice"]["children"] == []
    results = json.dumps(shown["discover-results"]["children"])
    assert results.count('"rec-item"') == 7
    first = dashboard_recommender.recommend(seed, k=1, alpha=0.3)[0]
    assert f"/explain?seed={seed}&track={first.track_id}&alpha=0.3" in results


def test_a_bad_track_id_in_the_url_is_a_friendly_notice_and_a_log_line(dashboard_server):
    shown = discover(dashboard_server, "?track=NO-SUCH-TRACK&alpha=7&k=abc")
    notices = json.dumps(shown["discover-notice"]["children"], ensure_ascii=False)
    assert "There is no track with id “NO-SUCH-TRACK”" in notices
    assert "not “7”" in notices and "not “abc”" in notices
    assert "Pick a track to start" in json.dumps(shown["discover-results"]["children"])
    assert "discover: unknown track id 'NO-SUCH-TRACK'" in dashboard_server.wait_for_log("NO-SUCH-TRACK")


def test_a_bad_explain_link_names_the_unknown_ids(dashboard_server, dashboard_recommender):
    seed = dashboard_recommender.tracks["track_id"].iloc[0]
    shown = page_layout(dashboard_server, "/explain", f"?seed={seed}&track=GONE")
    assert "There is no track with id “GONE” (the track)" in shown
    assert "explain: unknown track id 'GONE'" in dashboard_server.wait_for_log("'GONE'")


def test_explain_shows_the_blocks_the_audio_features_and_the_ranks(dashboard_server, dashboard_recommender):
    seed = dashboard_recommender.tracks["track_id"].iloc[0]
    track = dashboard_recommender.recommend(seed, k=1)[0].track_id
    shown = page_layout(dashboard_server, "/explain", f"?seed={seed}&track={track}")
    for part in ("explain-blocks", "explain-radar", "explain-ranks", "explain-facts", "Danceability"):
        assert part in shown


def test_explain_says_where_a_never_played_tracks_listening_score_comes_from(dashboard_server,
                                                                             dashboard_recommender):
    tracks = dashboard_recommender.tracks
    seed = tracks.loc[tracks["n_listeners"] > 0, "track_id"].iloc[0]
    new = tracks.loc[tracks["n_listeners"] == 0, "track_id"].iloc[0]
    shown = page_layout(dashboard_server, "/explain", f"?seed={seed}&track={new}")
    assert "explain-estimate" in shown and "has no listeners yet" in shown
    assert "estimated from similar tracks" in shown
    warm = dashboard_recommender.recommend(seed, k=20)
    measured = next(r.track_id for r in warm if r.n_listeners > 0)
    assert "explain-estimate" not in page_layout(dashboard_server, "/explain", f"?seed={seed}&track={measured}")


def test_an_unknown_listener_is_a_friendly_notice(dashboard_server):
    inputs = [{"id": "user-url", "property": "search", "value": "?id=nobody-at-all"},
              {"id": "user-tabs", "property": "value", "value": "listener"},
              {"id": "user-pick", "property": "value", "value": None},
              {"id": "user-alpha", "property": "value", "value": 0.5},
              {"id": "user-random", "property": "n_clicks", "value": None}]
    status, body = dashboard_server.callback(USER, inputs, changed=["user-url.search"])
    assert status == 200, body
    notices = json.dumps(body["response"]["user-notice"]["children"], ensure_ascii=False)
    assert "Listener “nobody-at-all” has no listening history" in notices
    assert "unknown or history-less listener 'nobody-at-all'" in dashboard_server.wait_for_log("nobody-at-all")


EVALUATION = {"chosen": {"name": "rp3beta, bm25", "alpha": 0.4, "k": 10, "rule": "best ndcg@10"},
              "protocol": {"evaluated_listeners": 900},
              "runs": [{"method": "popularity", "alpha": None, "k": 10, "metrics": {"ndcg": 0.05, "users": 900}},
                       {"method": "collaborative", "alpha": None, "k": 10, "metrics": {"ndcg": 0.1, "coverage": 0.2}},
                       *[{"method": "hybrid", "alpha": a, "k": 10, "metrics": {"ndcg": 0.1 + a / 10, "users": 900}}
                         for a in (0.0, 0.4, 1.0)]],
              "variants": [{"name": "cosine, raw counts", "alpha": 0.0, "k": 10,
                            "metrics": {"ndcg": 0.0777, "coverage": 0.3}}],
              "new_release": {"protocol": {"held_out_tracks": 123, "evaluated_listeners": 456},
                              "runs": [{"method": "hybrid", "alpha": a, "k": k,
                                        "metrics": {"ndcg": 0.0101 + a / 100, "recall": 0.2 + a / 10,
                                                    "new_share": 0.05}}
                                       for a in (0.0, 0.4, 1.0) for k in (10, 50)]}}


def test_a_server_without_artifacts_says_so_and_picks_them_up_when_built(empty_artifact_root, tmp_path,
                                                                        dashboard_artifacts):
    server = start_server(empty_artifact_root, tmp_path / "gunicorn.log", workers=1)
    try:
        status, body, _ = http_get(f"{server.url}/healthz")
        assert status == 503 and json.loads(body)["status"] == "unavailable"
        assert http_get(f"{server.url}/")[0] == 200
        assert "No recommender data is loaded yet" in page_layout(server, "/")
        assert "starting without artifacts" in server.log()

        # what a build with an offline evaluation does, while the server runs
        version = copy_artifact_set(dashboard_artifacts, empty_artifact_root, evaluation=EVALUATION)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and http_get(f"{server.url}/healthz")[0] != 200:
            time.sleep(0.2)
        status, body, _ = http_get(f"{server.url}/healthz")
        assert status == 200 and json.loads(body)["version"] == version
        assert json.loads(body)["evaluation"] is True

        alpha_page = page_layout(server, "/alpha")
        assert "The build chose α = 0.4" in alpha_page and "ndcg@10" in alpha_page
        assert "alpha-protocols" in alpha_page and "new releases: recall@50" in alpha_page
        data_page = page_layout(server, "/data")
        assert "of 900 listeners" in data_page and "0.1400" in data_page
        assert "Collaborative models compared" in data_page and "cosine, raw counts" in data_page
        assert "0.0777" in data_page and "rp3beta, bm25" in data_page
        # the new-release protocol: the chosen alpha's row (ndcg 0.0141, recall@50 0.24) and the extremes
        assert "data-new-releases" in data_page and "123 tracks lost all their listening" in data_page
        assert "0.0141" in data_page and "0.2400" in data_page and "content only (α = 1)" in data_page
    finally:
        stop_server(server)
