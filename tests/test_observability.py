"""Observability: JSON logs and Prometheus metrics from a real gunicorn, and JSON logs from the build."""
from __future__ import annotations

import io
import json
import logging


from engine.logs import configure_logging
from tests.dashboard_fixtures import http_get


def _json_lines(text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return records


#: The dashboard's pages: each is counted under its own path.
PAGES = ("/", "/explain", "/alpha", "/user", "/data")


def metric(body: str, sample: str) -> float:
    """The value of one sample (``name{labels}``) in a Prometheus text exposition; 0 when absent."""
    for line in body.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


def metrics(server) -> str:
    status, body, headers = http_get(f"{server.url}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    return body


def test_metrics_endpoint_counts_pages_callbacks_and_engine_queries(dashboard_server, dashboard_recommender):
    track = dashboard_recommender.search("a", limit=1)[0].track_id
    assert http_get(f"{dashboard_server.url}/explain?seed={track}&track={track}")[0] == 200
    body = metrics(dashboard_server)
    assert 'dashboard_http_requests_total{endpoint="/explain",method="GET",status="200"}' in body
    assert "dashboard_http_request_duration_seconds_bucket" in body
    assert "dashboard_artifact_version_info{" in body and dashboard_recommender.version in body
    assert "dashboard_build_info{" in body


def test_every_page_is_counted_under_its_own_path_and_anything_else_as_other(dashboard_server):
    def requests(body, endpoint):
        return metric(body, f'dashboard_http_requests_total{{endpoint="{endpoint}",method="GET",status="200"}}')

    before = metrics(dashboard_server)
    for path in (*PAGES, "/no-such-page", "/data/"):
        assert http_get(f"{dashboard_server.url}{path}")[0] == 200  # Dash's shell answers every path
    after = metrics(dashboard_server)
    assert {path: requests(after, path) - requests(before, path) for path in PAGES} == {path: 1 for path in PAGES}
    assert requests(after, "other") - requests(before, "other") == 2


def test_a_recommendation_callback_is_timed_once_per_callback_and_per_engine_query(dashboard_server,
                                                                                   dashboard_recommender):
    from tests.test_dashboard_http import DISCOVER, discover

    callback = f'dashboard_callback_duration_seconds_count{{callback="{DISCOVER}"}}'
    queries = {name: f'engine_query_duration_seconds_count{{query="{name}"}}'
               for name in ("recommend", "recommend_for_tracks")}
    track = dashboard_recommender.search("a", limit=1)[0].track_id
    before = metrics(dashboard_server)
    response = discover(dashboard_server, f"?track={track}&alpha=0.3&k=10")
    assert "discover-results" in response
    # Each worker writes its own metric files; /metrics aggregates them whichever worker answers.
    after = metrics(dashboard_server)
    assert metric(after, callback) - metric(before, callback) == 1
    # Discover asks the engine for one seed's list: one "recommend" query (the call it makes inside is not
    # counted again).
    assert {name: metric(after, s) - metric(before, s) for name, s in queries.items()} == \
        {"recommend": 1, "recommend_for_tracks": 0}


def test_each_request_is_one_json_log_line_with_path_latency_and_artifact_version(dashboard_server,
                                                                                   dashboard_recommender):
    http_get(f"{dashboard_server.url}/data?probe=json-log")
    dashboard_server.wait_for_log('"path": "/data"')
    records = [r for r in _json_lines(dashboard_server.log()) if r.get("path") == "/data"]
    assert records, "a JSON request record for /data"
    record = records[-1]
    assert record["message"] == "request" and record["status"] == 200
    assert record["latency_ms"] >= 0 and record["artifact_version"] == dashboard_recommender.version
    assert {"time", "level", "logger"} <= set(record)


def test_configure_logging_writes_one_json_object_per_record_with_extra_fields():
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    try:
        logging.getLogger("build.refresh").info("stage %s", "content", extra={"seconds": 1.5, "rows": 10})
        record = json.loads(stream.getvalue().strip().splitlines()[-1])
        assert record["message"] == "stage content" and record["seconds"] == 1.5 and record["rows"] == 10
        assert record["logger"] == "build.refresh" and record["level"] == "INFO"
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if handler.get_name() == "project-structured":
                root.removeHandler(handler)


def test_plain_log_lines_read_as_time_level_logger_message():
    stream = io.StringIO()
    configure_logging("INFO", json=False, stream=stream)
    logging.getLogger("build.refresh").info("stage %s: %.2f s", "content", 0.5)
    line = stream.getvalue().strip()
    assert line.endswith("build.refresh: stage content: 0.50 s") and " INFO " in line and not line.startswith("{")
