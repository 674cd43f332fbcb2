"""The one way the dashboard reaches the engine: a per-process cache of the loaded artifact set.

Each gunicorn worker (and the preloading master) holds one
:class:`engine.Recommender` over memory-mapped arrays, so all processes share
one copy of the artifacts through the OS page cache. The cache looks at the
artifact root's ``current`` link at most once per ``check_interval`` seconds
and loads the new set when a build has re-pointed it; a set that fails to load
is logged and the previous one keeps serving.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from engine import ArtifactError, Recommender
from engine.artifacts import MANIFEST, resolve_artifact_dir

from . import config, observability
from .views import load_evaluation

__all__ = ["Loaded", "RecommenderCache", "get_recommender", "get_loaded", "cache"]

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
    """

    def __init__(self, root: str | Path, check_interval: float = 1.0, verify: bool = True):
        self.root = Path(root)
        self.check_interval = check_interval
        self.verify = verify
        self._loaded: Loaded | None = None
        self._failed_key: tuple | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()

    def get(self) -> Loaded:
        """The current artifact set; raises :class:`engine.ArtifactError` when none can be loaded."""
        loaded = self._loaded
        if loaded is not None and time.monotonic() < self._next_check:
            return loaded
        with self._lock:
            return self._refresh()

    def _refresh(self) -> Loaded:
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
        if loaded is not None and (key == loaded.key or key == self._failed_key):
            return loaded
        try:
            self._loaded = self._load(key)
        except ArtifactError as exc:
            self._failed_key = key
            if loaded is None:
                raise
            log.error("cannot load the new artifact set %s (%s); still serving %s", key[0], exc,
                      loaded.recommender.version)
            return loaded
        self._failed_key = None
        return self._loaded

    def _current_key(self) -> tuple:
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


def get_loaded() -> Loaded:
    """The loaded artifact set with its manifest hash and evaluation; raises ArtifactError."""
    return cache().get()


def get_recommender() -> Recommender:
    """The process-wide :class:`engine.Recommender`; raises :class:`engine.ArtifactError` without artifacts."""
    return cache().get().recommender
