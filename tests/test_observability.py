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


def test_metrics_endpoint_counts_pages_callbacks_and_engine_queries(dashboard_server, dashboard_recommender):
    track = dashboard_recommender.search("a", limit=1)[0].track_id
    assert http_get(f"{dashboard_server.url}/explain?seed={track}&track={track}")[0] == 200
    status, body, headers = http_get(f"{dashboard_server.url}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'dashboard_http_requests_total{endpoint="/explain",method="GET",status="200"}' in body
    assert "dashboard_http_request_duration_seconds_bucket" in body
    assert "dashboard_artifact_version_info{" in body and dashboard_recommender.version in body
    assert "dashboard_build_info{" in body


def test_a_recommendation_callback_is_timed_per_callback_and_per_engine_query(dashboard_server,
                                                                                dashboard_recommender):
    from tests.test_dashboard_http import DISCOVER, discover

    track = dashboard_recommender.search("a", limit=1)[0].track_id
    response = discover(dashboard_server, f"?track={track}&alpha=0.3&k=10")
    assert "discover-results" in response
    # Each worker writes its own metric files; /metrics aggregates them whichever worker answers.
    status, body, _ = http_get(f"{dashboard_server.url}/metrics")
    assert status == 200
    assert f'dashboard_callback_duration_seconds_count{{callback="{DISCOVER}"}}' in body
    assert 'engine_query_duration_seconds_count{query="recommend_for_tracks"}' in body or \
        'engine_query_duration_seconds_count{query="recommend"}' in body


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
