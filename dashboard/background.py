"""The background-callback manager: Dash's ``DiskcacheManager``, made to survive losing its cache directory.

Dash keeps a background job's progress and result only in the diskcache, and
the job runs in a process of its own. With the directory deleted, replaced or
unwritable the job cannot save its answer, the poll finds nothing and the
renderer gets an empty 204: the sweep would never say what is wrong. So this
manager checks the directory on every use. While it is unusable no job is
started and the poll answers with ``unavailable(problem)`` instead. Once it is
back, the cache is opened again: the old sqlite connection still points at the
deleted file, which no other process sees.

Every gunicorn worker holds its own copy of the manager (forked from the
master), and a job runs in a process forked from a worker, so each process
checks and reopens for itself. The one thing the workers must share, the
secret that signs job handles, is read when the manager is made: in the
master, as the app is preloaded.
"""
from __future__ import annotations

import functools
import logging
import os
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import diskcache
from dash import DiskcacheManager
from diskcache.core import DBNAME

from . import components, config

log = logging.getLogger(__name__)

#: The job handle when no job was started (otherwise a pid): the poll answers from it without the cache.
NOT_STARTED = "not-started"


class CacheUnavailable(Exception):
    """The cache directory cannot be used; the message says why in a sentence."""


#: What a cache that went away raises: our own check, or diskcache/sqlite when the loss came first.
CACHE_ERRORS = (CacheUnavailable, OSError, sqlite3.Error, diskcache.Timeout)


def cache_notice(problem: str):
    """What the α sweep (this app's one background callback) shows instead of a result it cannot compute."""
    return components.notice(f"The α sweep cannot run right now: {problem}. The other pages keep working; "
                             "ask the operator to restore DASH_CACHE_DIR.", color="danger", dismissable=False)


class _Current:
    """Stands for the manager's cache. Dash hands ``handle`` to a job when the callback is registered, at
    start-up; through this the job finds the cache as it is when it writes, in its own process."""

    def __init__(self, manager: BackgroundManager):
        self._manager = manager

    def __getattr__(self, name: str):
        return getattr(self._manager.cache(), name)


class BackgroundManager(DiskcacheManager):
    """A ``DiskcacheManager`` over ``directory`` that answers ``unavailable(problem)`` while it cannot be used.

    ``unavailable`` gives the value of a background callback's outputs; every
    background callback of this app has one output taking a component.
    """

    def __init__(self, directory: Path, unavailable: Callable[[str], Any], **options):
        self.directory = directory
        self._unavailable = unavailable
        super().__init__(diskcache.Cache(str(directory)), **options)
        # Read now, in gunicorn's master (the app is preloaded), so that every worker inherits it: Dash
        # keeps the first secret a process sees, and a worker that first looked while the cache was gone
        # would sign handles with a private one that the other workers reject.
        self._signing_secret

    @property
    def handle(self) -> _Current:
        """The cache as the base class and its jobs use it: checked (and reopened) on every use."""
        return _Current(self)

    @handle.setter
    def handle(self, cache: diskcache.Cache) -> None:
        if getattr(self, "_cache", None) is not None:
            self._cache.close()
        self._cache, self._opened = cache, self._database()

    def cache(self) -> diskcache.Cache:
        """The cache, opened again if its directory was replaced; ``CacheUnavailable`` while it is unusable."""
        problem = config.cache_dir_problem(self.directory)
        if problem:
            raise CacheUnavailable(problem)
        if self._database() != self._opened:  # a new directory: a new connection, and diskcache makes its tables
            self.handle = diskcache.Cache(str(self.directory))
        return self._cache

    def _database(self) -> tuple[int, int] | None:
        """Which file the database is. The old file cannot be deleted and its inode reused while the
        connection opened on it keeps it open, so a changed identity means a new file."""
        try:
            stat = os.stat(self.directory / DBNAME)
        except OSError:
            return None
        return stat.st_dev, stat.st_ino

    @functools.cached_property
    def _signing_secret(self) -> bytes:
        """Dash's secret for signing job handles, as the cache holds it (a new random one if it holds none)."""
        return super().get_or_create_signing_secret(lambda: secrets.token_urlsafe(48).encode())

    def get_or_create_signing_secret(self, generate):
        """The secret read when the manager was made, whatever the cache's state now."""
        return self._signing_secret

    def call_job_fn(self, key, job_fn, args, context):
        problem = self._problem()  # also opens a replaced directory's cache before the job writes to it
        if problem:
            log.error("background job not started: %s", problem)
            return NOT_STARTED
        return super().call_job_fn(key, job_fn, args, context)

    def get_result(self, key, job):
        if job == NOT_STARTED:  # the cache may be back by now, but this job never ran
            return self._unavailable(self._problem() or f"the background job cache directory "
                                     f"{str(self.directory)!r} was unusable a moment ago")
        try:
            return super().get_result(key, job)
        except CACHE_ERRORS as error:  # lost while the job ran: it could not save its result
            log.error("background job %s: no result: %s", job, self._describe(error))
            return self._unavailable(self._describe(error))

    def _problem(self) -> str | None:
        """Why the cache cannot be used now, or None."""
        try:
            self.cache()
        except CACHE_ERRORS as error:
            return self._describe(error)
        return None

    def _describe(self, error: Exception) -> str:
        if isinstance(error, CacheUnavailable):
            return str(error)
        return f"the background job cache in {str(self.directory)!r} failed ({type(error).__name__}: {error})"

    def get_progress(self, key):
        return _or_default(None, super().get_progress, key)

    def get_updated_props(self, key):
        return _or_default({}, super().get_updated_props, key)

    def job_running(self, job):
        return job != NOT_STARTED and super().job_running(job)

    def terminate_job(self, job):
        # Without the cache there is no lock to kill under; a job that cannot save its result ends by itself.
        if job != NOT_STARTED:
            _or_default(None, super().terminate_job, job)


def _or_default(default, method, *args):
    """``method(*args)``, or ``default`` when the cache fails under it (a poll then just has nothing new)."""
    try:
        return method(*args)
    except CACHE_ERRORS:
        return default
