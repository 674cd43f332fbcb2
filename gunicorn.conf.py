"""gunicorn settings for ``gunicorn -c gunicorn.conf.py dashboard.app:server``, read from the environment.

PORT (default 8000) and WEB_CONCURRENCY (workers, default 2) as on most
platforms; GUNICORN_TIMEOUT (seconds, default 60). The app is preloaded in the
master so every worker shares the memory-mapped artifacts (and the loaded
track table) copy-on-write.
"""
import gc
import os
import shutil
import tempfile
from pathlib import Path

# prometheus-client's multiprocess mode: every worker writes its metrics here and
# /metrics aggregates them. Set before the app (and prometheus_client) is imported.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="dashboard-metrics-"))

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


def on_starting(server):
    """Start from an empty metrics directory (stale files would add old counts)."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if directory.exists():
        for entry in directory.iterdir():
            entry.unlink() if entry.is_file() else shutil.rmtree(entry, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def pre_fork(server, worker):
    """Move the preloaded objects out of the garbage collector's reach before forking: a collection in a
    worker would otherwise write to every one of them and copy their pages into each worker."""
    gc.freeze()


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the aggregate."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
