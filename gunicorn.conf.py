"""gunicorn settings for ``gunicorn -c gunicorn.conf.py dashboard.app:server``, read from the environment.

PORT (default 8000) and WEB_CONCURRENCY (workers, default 2) as on most
platforms; GUNICORN_TIMEOUT (seconds, default 60). The app is preloaded in the
master so every worker shares the memory-mapped artifacts (and the loaded
track table) copy-on-write.

A new artifact set (a build re-pointed ``current``): a thread of the master
notices it within a second and sends the master SIGHUP; the master loads and
verifies the set once (``on_reload``), forks fresh workers from it and retires
the old ones gracefully (``graceful_timeout``). Workers never load on their
own, so after a swap every one serves the new set within about the check
interval plus one load, and never a mix after that (``dashboard.access``).
"""
import gc
import os
import shutil
import signal
import tempfile
from pathlib import Path

# prometheus-client's multiprocess mode: every worker writes its metrics here and
# /metrics aggregates them. Set before the app (and prometheus_client) is imported.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="dashboard-metrics-"))
# Each worker records here which artifact version it serves (/healthz lists them).
os.environ.setdefault("DASHBOARD_STATE_DIR", tempfile.mkdtemp(prefix="dashboard-state-"))

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
    """Start from empty metrics and state directories (stale files would add old counts and workers)."""
    for variable in ("PROMETHEUS_MULTIPROC_DIR", "DASHBOARD_STATE_DIR"):
        directory = Path(os.environ[variable])
        if directory.exists():
            for entry in directory.iterdir():
                entry.unlink() if entry.is_file() else shutil.rmtree(entry, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)


def when_ready(server):
    """Watch ``current`` from the master: a new set is loaded there, then served by fresh workers."""
    from dashboard import access

    access.watch(access.cache().check_interval, lambda: os.kill(server.pid, signal.SIGHUP))


def on_reload(server):
    """SIGHUP (a new set, or an operator): load and verify it once, in the master, before forking workers."""
    from dashboard import access

    gc.unfreeze()  # the old set's objects were frozen before the last fork: let them go
    access.cache().reload_now()
    gc.collect()


def post_fork(server, worker):
    """A worker serves the set its master loaded, and says which."""
    from dashboard import access, config

    access.serve_forked(config.settings().state_dir)


def pre_fork(server, worker):
    """Move the preloaded objects out of the garbage collector's reach before forking: a collection in a
    worker would otherwise write to every one of them and copy their pages into each worker."""
    gc.freeze()


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the aggregate, and its record of the version it served."""
    from prometheus_client import multiprocess

    from dashboard import access, config

    multiprocess.mark_process_dead(worker.pid)
    access.forget_worker(config.settings().state_dir, worker.pid)
