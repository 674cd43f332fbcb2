"""The analytics dashboard: a multi-page Dash app over the engine (``gunicorn dashboard.app:server``).

``app.py`` is the shell, ``pages/`` holds one page each, ``components/`` the
shared widgets, ``figures.py`` the Plotly figures and ``ids.py`` the component
ids. The recommender is reached only through :func:`dashboard.access.get_recommender`.
"""
