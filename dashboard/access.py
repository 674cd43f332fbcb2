"""The one way the dashboard reaches the engine: a per-process cache of the loaded artifact set.

Under gunicorn the preloading master owns the set (``gunicorn.conf.py``): a
thread of the master looks at the artifact root's ``current`` link every
``check_interval`` seconds and, when a build has re-pointed it, asks the master
to reload (SIGHUP); the master loads and verifies the new set once
(:meth:`RecommenderCache.reload_now`), then forks fresh workers, which share it
copy-on-write, and retires the old ones gracefully. Workers never load on
their own (:func:`serve_forked`), so they never disagree for longer than one
swap, and each records the version it serves for ``/healthz``
(:func:`served_versions`). A set that fails to load is logged, the previous
one keeps serving, and the load is retried after ``retry_after`` seconds.

Outside gunicorn (a single process) the cache follows ``current`` itself, inline.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from engine import ArtifactError, Recommender
from engine.artifacts import MANIFEST, resolve_artifact_dir

from . import config, observability
from .views import load_evaluation

__all__ = ["Loaded", "RecommenderCache", "get_recommender", "get_loaded", "cache", "serve_forked", "forget_worker",
           "served_versions", "watch"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    """One loaded artifact set and what the dashboard reads next to it."""

    recommender: Recommender
    manifest_hash: str
    evaluation: dict | None
    key: tuple


class RecommenderCache:
    """Loads the artifact set under ``root`` once and reloads it when ``root/current`` changes.

    Parameters
    ----------
    root : path
        Artifact root (with a ``current`` link) or one set's directory.
    check_interval : float, default 1.0
        Seconds between two looks at ``current``; 0 looks on every call.
    verify : bool, default True
        Check every array's checksum when loading (see :meth:`engine.Recommender.load`).
    retry_after : float, default 30.0
        Seconds before a set that failed to load is tried again.
    """

    def __init__(self, root: str | Path, check_interval: float = 1.0, verify: bool = True,
                 retry_after: float = 30.0):
        self.root = Path(root)
        self.check_interval = check_interval
        self.verify = verify
        self.retry_after = retry_after
        self.follow = True  # False in a forked worker: the master loads, the worker serves what it was given
        self._loaded: Loaded | None = None
        self._failed_key: tuple | None = None
        self._failed_at = 0.0
        self._next_check = 0.0
        self._lock = threading.Lock()

    def get(self) -> Loaded:
        """The current artifact set; raises :class:`engine.ArtifactError` when none can be loaded."""
        loaded = self._loaded
        if loaded is not None and (not self.follow or time.monotonic() < self._next_check):
            return loaded
        if not self.follow:
            raise ArtifactError(f"no artifact set was loaded when this worker started; the server loads "
                                f"one from {str(self.root)!r} as soon as a build writes it")
        with self._lock:
            return self._refresh()

    @property
    def loaded(self) -> Loaded | None:
        """The set loaded now, if any (never loads)."""
        return self._loaded

    def changed(self) -> bool:
        """Whether ``current`` names a set other than the loaded one (a failed one only after ``retry_after``)."""
        try:
            key = self._current_key()
        except ArtifactError:
            return False
        if self._loaded is not None and key == self._loaded.key:
            return False
        return key != self._failed_key or time.monotonic() - self._failed_at >= self.retry_after

    def reload_now(self) -> Loaded | None:
        """Load the set ``current`` names if it changed (the master, before forking workers); never raises.

        Returns the loaded set (the previous one when the new one cannot be loaded).
        """
        with self._lock:
            self._next_check = 0.0
            try:
                return self._refresh(retry=True)
            except ArtifactError as exc:
                log.error("no artifact set can be loaded from %s: %s", self.root, exc)
                return self._loaded

    def _refresh(self, retry: bool = False) -> Loaded:
        loaded, now = self._loaded, time.monotonic()
        if loaded is not None and now < self._next_check:
            return loaded  # another thread refreshed while we waited for the lock
        self._next_check = now + self.check_interval
        try:
            key = self._current_key()
        except ArtifactError as exc:
            if loaded is None:
                raise
            log.error("artifact root %s is unreadable (%s); still serving %s", self.root, exc,
                      loaded.recommender.version)
            return loaded
        failed_recently = key == self._failed_key and (not retry or now - self._failed_at < self.retry_after)
        if loaded is not None and (key == loaded.key or failed_recently):
            return loaded
        try:
            self._loaded = self._load(key)
        except ArtifactError as exc:
            self._failed_key, self._failed_at = key, now
            if loaded is None:
                raise
            log.error("cannot load the new artifact set %s (%s); still serving %s", key[0], exc,
                      loaded.recommender.version)
            return loaded
        self._failed_key = None
        return self._loaded

    def _current_key(self) -> tuple:
        """(directory, manifest mtime, manifest size) of the set ``current`` names."""
        directory = resolve_artifact_dir(self.root)
        stat = (directory / MANIFEST).stat()
        return (str(directory), stat.st_mtime_ns, stat.st_size)

    def _load(self, key: tuple) -> Loaded:
        start = time.perf_counter()
        directory = Path(key[0])
        recommender = Recommender.load(directory, verify=self.verify)
        recommender.prepare_search()  # in the preloading master, so the workers share it
        digest = hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest()
        loaded = Loaded(observability.TimedRecommender(recommender), f"sha256:{digest}",
                        load_evaluation(directory, recommender.manifest), key)
        observability.set_artifact_version(recommender.version, loaded.manifest_hash)
        log.info("loaded artifact set %s from %s in %.0f ms (evaluation: %s)", recommender.version, directory,
                 1000 * (time.perf_counter() - start), "yes" if loaded.evaluation else "no")
        return loaded


_cache: RecommenderCache | None = None
_cache_lock = threading.Lock()


def cache() -> RecommenderCache:
    """The process-wide cache over ``ARTIFACTS_DIR`` (created on first use)."""
    global _cache
    if _cache is None:
        with _cache_lock:
            if _cache is None:
                _cache = RecommenderCache(config.settings().artifacts_dir)
    return _cache


def serve_forked(state_dir: Path | None) -> None:
    """In a worker forked by the master: serve the set the master loaded, never load one on its own, and
    record the version served in ``state_dir`` (one file per worker) for ``/healthz``."""
    current = cache()
    current.follow = False
    if state_dir is None:
        return
    loaded = current.loaded
    version = loaded.recommender.version if loaded is not None else None
    record = {"pid": os.getpid(), "version": version,
              "manifest_hash": loaded.manifest_hash if loaded is not None else None}
    path = Path(state_dir) / f"worker-{os.getpid()}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record), encoding="utf-8")
    os.replace(temporary, path)


def forget_worker(state_dir: Path | None, pid: int) -> None:
    """A worker has exited: its record goes (the master's ``child_exit``)."""
    if state_dir is not None:
        (Path(state_dir) / f"worker-{pid}.json").unlink(missing_ok=True)


def served_versions(state_dir: Path | None) -> dict[str, str | None]:
    """``{pid: version}`` of every live worker, as each recorded it; empty outside gunicorn."""
    if state_dir is None or not Path(state_dir).is_dir():
        return {}
    versions = {}
    for path in Path(state_dir).glob("worker-*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a worker that has just exited
        versions[str(record.get("pid"))] = record.get("version")
    return versions


def watch(interval: float, on_change) -> threading.Thread:
    """A daemon thread (in the master) that calls ``on_change()`` when ``current`` names a new set.

    It only looks (a ``stat`` per interval) and signals: the loading happens in the
    master's main thread, so no lock is ever held by this thread when the master forks.
    """
    def loop():
        while True:
            time.sleep(interval)
            try:
                if cache().changed():
                    on_change()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one bad look
                log.exception("artifact watcher: looking at %s failed", cache().root)

    thread = threading.Thread(target=loop, name="artifact-watcher", daemon=True)
    thread.start()
    return thread


def get_loaded() -> Loaded:
    """The loaded artifact set with its manifest hash and evaluation; raises ArtifactError."""
    return cache().get()


def get_recommender() -> Recommender:
    """The process-wide :class:`engine.Recommender`; raises :class:`engine.ArtifactError` without artifacts."""
    return cache().get().recommender
