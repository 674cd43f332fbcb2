"""Fixtures shared by every test module (the dashboard's artifact set and gunicorn server)."""
pytest_plugins = ["tests.dashboard_fixtures"]
