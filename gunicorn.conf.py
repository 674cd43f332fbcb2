"""gunicorn settings for ``gunicorn -c gunicorn.conf.py dashboard.app:server``, read from the environment.

PORT (default 8000) and WEB_CONCURRENCY (workers, default 2) as on most
platforms; GUNICORN_TIMEOUT (seconds, default 60). The app is preloaded in the
master so every worker shares the memory-mapped artifacts (and the loaded
track table) copy-on-write.
"""
import os

bind = f"0.0.0.0:{int(os.environ.get('PORT', '8000'))}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
preload_app = True
# Recommendations take milliseconds; loading a new artifact set after a rebuild takes longest.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# gunicorn 27's control socket fails in containers and parallel tests; nothing here uses it.
control_socket_disable = True
accesslog = "-" if os.environ.get("ACCESS_LOG", "0") == "1" else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
