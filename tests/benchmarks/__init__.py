"""Full-scale benchmarks (``make bench`` = ``python -m tests.benchmarks.run``); not collected by pytest.

One module per part of the report:

- :mod:`.data` — generates the full-scale demo CSVs once, cached under ``data/bench/``;
- :mod:`.build_timing` — times ``build.refresh`` in a subprocess (wall time, peak RSS, per stage);
- :mod:`.queries` — query latency of the public API over uniform and popularity-drawn seeds;
- :mod:`.reference` — the original Streamlit method on the same artifacts and seeds, and an
  exactness check of our top-k against a brute-force evaluation of the documented scoring;
- :mod:`.machine` — machine, versions, load average and measured memory read bandwidth;
- :mod:`.serving` — a load test against a real gunicorn process;
- :mod:`.report` — the markdown report.
"""
