"""Specification of the growth-curve fit of ``make bench-scale`` (tests.benchmarks.scale)."""
from __future__ import annotations

import pytest

from tests.benchmarks.scale import fit_exponent, fits, render, COSTS


def test_the_fit_recovers_the_exponent_and_factor_of_a_power_law():
    rows = [2.5e6, 5e6, 1e7, 2e7, 4e7]
    fit = fit_exponent(rows, [3e-6 * r ** 1.3 for r in rows])
    assert fit["b"] == pytest.approx(1.3, abs=1e-3)
    assert fit["a"] == pytest.approx(3e-6, rel=1e-6)
    assert fit["r2"] == pytest.approx(1.0)


def test_a_cost_that_does_not_grow_has_exponent_zero():
    assert fit_exponent([1e6, 2e6, 4e6], [5.0, 5.0, 5.0])["b"] == pytest.approx(0.0, abs=1e-9)


def test_noise_lowers_the_r2_of_the_fit():
    fit = fit_exponent([1e6, 2e6, 4e6, 8e6], [1.0, 2.6, 3.3, 9.0])
    assert 0.8 < fit["b"] < 1.2 and fit["r2"] < 0.99


def test_fewer_than_two_usable_points_fit_nothing():
    assert fit_exponent([1e6, 2e6], [3.0, 0.0]) == {"b": None, "a": None, "r2": None}


def test_the_report_lists_every_point_every_exponent_and_what_was_not_measured(tmp_path):
    points = [{"multiplier": m, "rows": int(1e7 * m), "counts": {"tracks": int(5e4 * m), "users": int(1e6 * m)},
               "build_seconds": 20 * m, "peak_rss_mb": 2500 * m, "artifact_mb": 540 * m,
               "recommend_p50_ms": 1.0, "recommend_for_user_p50_ms": 2.0 * m ** 0.5, "serving_rss_mb": 300 * m,
               "loadavg_before_build": (1.0, 1.0, 1.0)} for m in (0.5, 1, 2)]
    results = {"machine": {"cpu": "test", "cores": 2, "memory_gb": 8, "commit": "abc"}, "finished": "now",
               "points": points, "failures": [{"multiplier": 4, "error": "out of memory"}],
               "fits": fits(points)}
    text = render(results, tmp_path / "curves.png", tmp_path / "report.md")
    assert "| x2 | 100,000 | 2,000,000 | 20,000,000 | 40.0 |" in text
    assert "| x4 | not measured: out of memory |" in text
    for _, label, _ in COSTS:
        assert f"| {label} |" in text
    assert "| build wall time | 1.0 |" in text and "| recommend_for_user p50 | 0.5 |" in text
    assert "![cost against listening rows, log-log](curves.png)" in text
