"""Fixtures shared by the test modules: the dashboard's artifact set and server, the build tests' raw data."""
pytest_plugins = ["tests.dashboard_fixtures", "tests.build_fixtures"]
