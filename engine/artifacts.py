"""The on-disk artifact format: numeric ``.npy`` files, an Arrow track table and a manifest.

Layout of an artifact root (``data/artifacts`` by default)::

    <root>/
        current -> v20261129T080102-3f2a9c1d   (symlink, swapped atomically)
        v20261129T080102-3f2a9c1d/
            manifest.json
            tracks.arrow
            <array>.npy ...

A set is written into a hidden temporary directory next to its final place and
renamed into place only when complete, then ``current`` is re-pointed with an
atomic ``rename``: a build that fails or is killed leaves the previous set
serving and untouched. Arrays are plain numeric ``.npy`` files loaded with
``np.load(path, mmap_mode="r", allow_pickle=False)``, so loading never runs
code and processes share one copy through the OS page cache. The manifest
records each array's dtype, shape, size and XXH3 checksum (and the table's), so
a missing, truncated or altered file is refused with a message naming it.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import xxhash

from .errors import ArtifactError, BuildLockedError

__all__ = ["SCHEMA_VERSION", "ArtifactSet", "BuildLock", "write_artifact_set", "resolve_artifact_dir",
           "file_checksum"]

#: 2: the track table is an Arrow IPC file and checksums are XXH3 (1: parquet and CRC-32).
SCHEMA_VERSION = 3  # 3: content neighbours of the cold tracks (cold_*.npy)
MANIFEST = "manifest.json"
TRACK_TABLE = "tracks.arrow"
CURRENT = "current"
#: The build lock of an artifact root: held (``flock``) for a whole build, holds the holder's description.
LOCK_FILE = ".build.lock"
_REBUILD_HINT = "rebuild it with `make artifacts` (python -m build.refresh --force)"


def _xxh3(buffer) -> str:
    """``"xxh3:<hex>"``: XXH3-64 of a bytes-like object (hashes at memory speed, releases the GIL)."""
    return f"xxh3:{xxhash.xxh3_64_hexdigest(buffer)}"


def _bytes_of(array: np.ndarray) -> np.ndarray:
    # A flat uint8 view: memoryview.cast refuses arrays with a zero-length dimension.
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def _checksums(arrays: dict[str, np.ndarray], threads: int = 2) -> dict[str, str]:
    """``{name: checksum}`` of every array's bytes, the largest first, on ``threads`` threads."""
    names = sorted(arrays, key=lambda name: -arrays[name].nbytes)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return dict(zip(names, pool.map(lambda name: _xxh3(_bytes_of(arrays[name])), names)))


def _file_bytes(path: Path) -> np.ndarray:
    """A file's bytes, memory-mapped (numpy cannot map an empty file)."""
    return np.memmap(path, mode="r") if path.stat().st_size else np.empty(0, dtype=np.uint8)


def file_checksum(path: Path, algorithm: str = "xxh3", chunk: int = 1 << 23) -> str:
    """``"<algorithm>:<hex digest>"`` of a file (XXH3-64, or any :mod:`hashlib` algorithm).

    Read in ``chunk``-byte pieces into one buffer: inputs can be GBs, and the memory this takes must not
    grow with them (a memory map would count every page read as the process's own).
    """
    if algorithm == "xxh3":
        digest = xxhash.xxh3_64()
    else:
        import hashlib

        digest = hashlib.new(algorithm)
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(buffer):
            digest.update(view[:n])
    return f"{algorithm}:{digest.hexdigest()}"


def resolve_artifact_dir(path: str | os.PathLike) -> Path:
    """The directory of one artifact set: ``path`` itself if it has a manifest, else ``path/current``."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArtifactError(f"an artifact path must be a path or a string, got {path!r}")
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    current = path / CURRENT
    if current.exists() and (current / MANIFEST).is_file():
        return current.resolve()
    raise ArtifactError(f"no artifact set at {str(path)!r} (no {MANIFEST} and no '{CURRENT}' link); "
                        f"{_REBUILD_HINT}")


class BuildLock:
    """One build at a time per artifact root: an exclusive ``flock`` on ``root/.build.lock``.

    The holder writes its pid, start time and command line into the file, so
    a build that finds the root locked can say which build is running. The
    kernel releases the lock when the holder exits, however it exits (a killed
    build never leaves a stale lock); a staging directory whose build is gone
    is then removed by the next build (:func:`write_artifact_set`).

    Parameters
    ----------
    root : path
        The artifact root (created if missing).
    wait : bool, default False
        Wait for the running build to finish instead of raising :class:`BuildLockedError`.
    """

    def __init__(self, root: str | os.PathLike, wait: bool = False):
        self.root = Path(root)
        self.wait = wait
        self._handle = None

    def __enter__(self) -> "BuildLock":
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / LOCK_FILE, "a+", encoding="utf-8")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self.holder()
                if not self.wait:
                    raise BuildLockedError(f"another build is running on {str(self.root)!r}: "
                                           f"{_describe(holder)}; try again when it has finished, or pass "
                                           f"--wait to queue behind it", holder) from None
                fcntl.flock(handle, fcntl.LOCK_EX)  # queued: the kernel wakes us when it is released
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        json.dump({"pid": os.getpid(), "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   "command": " ".join(sys.argv)}, handle)
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.truncate(0)
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def holds(self, root: str | os.PathLike) -> bool:
        """Whether this lock is held, on ``root``."""
        return self._handle is not None and Path(root).resolve() == self.root.resolve()

    def holder(self) -> dict:
        """What the running build wrote about itself (empty if it has not written yet)."""
        try:
            return json.loads((self.root / LOCK_FILE).read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}


def _describe(holder: dict) -> str:
    if not holder:
        return "a build that has not said who it is yet"
    return f"pid {holder.get('pid')}, started {holder.get('started_at')} ({holder.get('command', '?')})"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _staging_is_dead(path: Path) -> bool:
    """Whether the build that made staging directory ``path`` (``.tmp-<version>-<pid>-…``) has exited."""
    try:
        pid = int(path.name.split("-p", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):  # not ours, or from before pids were recorded: stale only when old
        return time.time() - path.stat().st_mtime > 3600
    return pid != os.getpid() and not _alive(pid)


def write_artifact_set(root: str | os.PathLike, version: str, arrays: dict[str, np.ndarray],
                       tracks: pd.DataFrame, manifest: dict, keep: int = 2,
                       extra_json: dict[str, dict] | None = None, lock: BuildLock | None = None) -> Path:
    """Write one artifact set atomically under ``root/version`` and make it current.

    Parameters
    ----------
    root : path
        Artifact root directory (created if missing).
    version : str
        Directory name of this set, unique per build.
    arrays : dict of str to ndarray
        Numeric arrays (no object dtype); each becomes ``<name>.npy``.
    tracks : DataFrame
        The track table, written as an uncompressed Arrow IPC file (``tracks.arrow``).
    manifest : dict
        JSON-serialisable build information; ``schema_version``, ``version``,
        ``created_at`` and ``arrays`` are added here.
    keep : int, default 2
        Number of most recent sets kept; older ones are removed.
    extra_json : dict of str to dict, optional
        Further JSON documents written next to the manifest (e.g.
        ``{"evaluation.json": {...}}``); each is listed with its size and
        SHA-1 under the manifest's ``extra_files``.
    lock : BuildLock, optional
        The root's build lock, held by the caller: then no other build can be
        writing, and every other staging directory is a dead build's. Without it
        only staging directories whose builder process has exited are removed.

    Returns
    -------
    Path of the new set.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / version
    if final.exists():
        raise ArtifactError(f"artifact version {version!r} already exists at {str(final)!r}")
    # The builder's pid in the name: a later build removes the directory only once this process is gone.
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-p{os.getpid()}-", dir=root))
    try:
        entries = {}
        for name, array in arrays.items():
            array = np.asarray(array)
            if array.dtype.hasobject:
                raise ArtifactError(f"array {name!r} has object dtype; artifacts must be numeric")
            file = staging / f"{name}.npy"
            np.save(file, array, allow_pickle=False)
            entries[name] = {"file": file.name, "dtype": array.dtype.str, "shape": list(array.shape),
                             "bytes": file.stat().st_size, "checksum": _xxh3(_bytes_of(array))}
        # Arrow IPC, uncompressed: loading memory-maps it instead of decoding it.
        feather.write_feather(pa.Table.from_pandas(tracks, preserve_index=False), staging / TRACK_TABLE,
                              compression="uncompressed")
        extras = {}
        for name, document in (extra_json or {}).items():
            if Path(name).name != name or not name.endswith(".json") or name == MANIFEST:
                raise ArtifactError(f"extra file name {name!r} must be a plain '<name>.json' other than {MANIFEST}")
            with open(staging / name, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2, default=_json_default)
            extras[name] = {"bytes": (staging / name).stat().st_size,
                            "checksum": file_checksum(staging / name, "sha1")}
        if extras:
            manifest = {**manifest, "extra_files": extras}
        manifest = {**manifest, "schema_version": SCHEMA_VERSION, "version": version,
                    "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "arrays": entries,
                    "track_table": {"file": TRACK_TABLE, "rows": len(tracks),
                                    "checksum": _xxh3(_file_bytes(staging / TRACK_TABLE))}}
        with open(staging / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True, default=_json_default)
        _fsync_tree(staging)
        # mkdtemp makes the directory private (0700); artifacts are read by the serving user.
        staging.chmod(0o755)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _point_current(root, version)
    _prune(root, keep, locked=lock is not None and lock.holds(root))
    return final


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _fsync_tree(directory: Path) -> None:
    for file in directory.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _point_current(root: Path, version: str) -> None:
    """Re-point ``root/current`` at ``version`` with one atomic rename."""
    link = root / f".{CURRENT}.{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(version, link)
    os.replace(link, root / CURRENT)


def _prune(root: Path, keep: int, locked: bool = False) -> None:
    current = (root / CURRENT).resolve().name
    sets = sorted((p for p in root.iterdir()
                   if p.is_dir() and not p.is_symlink() and (p / MANIFEST).is_file()
                   and not p.name.startswith(".")), key=lambda p: p.name, reverse=True)
    for old in sets[keep:]:
        if old.name != current:
            # Hidden first, in one rename: a build killed while deleting leaves no half-deleted set in
            # sight, only a hidden directory the next build removes. Processes still serving an old set
            # keep their mapped pages: unlinking is safe.
            doomed = root / f".old-{old.name}"
            os.rename(old, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
    for stale in root.glob(".old-*"):  # left by a build killed while deleting
        shutil.rmtree(stale, ignore_errors=True)
    for staging in root.glob(".tmp-*"):  # left by a killed build; never another live build's
        if locked or _staging_is_dead(staging):
            shutil.rmtree(staging, ignore_errors=True)
    for stale_link in root.glob(f".{CURRENT}.*"):  # a link a killed build never renamed
        if stale_link.is_symlink():
            stale_link.unlink(missing_ok=True)


class ArtifactSet:
    """A read-only, memory-mapped view of one artifact set.

    Use :meth:`open`; arrays are loaded lazily with ``mmap_mode="r"`` and
    ``allow_pickle=False``.
    """

    def __init__(self, directory: Path, manifest: dict):
        self.directory = directory
        self.manifest = manifest
        self._arrays: dict[str, np.ndarray] = {}

    @classmethod
    def open(cls, path: str | os.PathLike, verify: bool = True) -> "ArtifactSet":
        """Open and check an artifact set.

        Parameters
        ----------
        path : path
            An artifact root (with ``current``) or one set's directory.
        verify : bool, default True
            Also compare every file's checksum with the manifest (reads every
            byte once, on two threads; presence, dtype, shape and size are
            always checked).

        Raises
        ------
        ArtifactError
            Naming the missing, truncated, altered or incompatible file.
        """
        directory = resolve_artifact_dir(path)
        try:
            with open(directory / MANIFEST, encoding="utf-8") as handle:
                manifest = json.load(handle)
        except (OSError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"cannot read {str(directory / MANIFEST)!r}: {exc}; {_REBUILD_HINT}") from exc
        if not isinstance(manifest, dict):
            raise ArtifactError(f"{str(directory / MANIFEST)!r} is not a manifest (it holds a JSON "
                                f"{type(manifest).__name__}); {_REBUILD_HINT}")
        found = manifest.get("schema_version")
        if found != SCHEMA_VERSION:
            raise ArtifactError(f"artifact set {str(directory)!r} has schema version {found!r}, this code "
                                f"reads version {SCHEMA_VERSION}; {_REBUILD_HINT}")
        # What write_artifact_set always records; a manifest without it was cut or edited.
        for key, kind in (("version", str), ("arrays", dict), ("track_table", dict)):
            if not isinstance(manifest.get(key), kind):
                raise ArtifactError(f"the manifest of artifact set {str(directory)!r} has no valid {key!r} entry; "
                                    f"{_REBUILD_HINT}")
        artifacts = cls(directory, manifest)
        for name in manifest.get("arrays", {}):
            artifacts.array(name)
        if not (directory / TRACK_TABLE).is_file():
            raise ArtifactError(f"artifact file {str(directory / TRACK_TABLE)!r} is missing; {_REBUILD_HINT}")
        if verify:
            artifacts.verify()
        return artifacts

    def verify(self) -> None:
        """Compare every file's checksum with the manifest (reads every byte once, on two threads).

        Raises :class:`ArtifactError` naming the first file that does not match.
        """
        table = self.directory / TRACK_TABLE
        arrays = {name: self.array(name) for name in self.manifest["arrays"]}
        found = _checksums({**arrays, TRACK_TABLE: _file_bytes(table)})
        files = {name: f"{name}.npy" for name in arrays}
        expected = {**{name: entry["checksum"] for name, entry in self.manifest["arrays"].items()},
                    TRACK_TABLE: self.manifest["track_table"].get("checksum")}
        for name, checksum in found.items():
            if checksum != expected[name]:
                raise ArtifactError(f"artifact file {str(self.directory / files.get(name, name))!r} does not "
                                    f"match its checksum in the manifest (altered or corrupt); {_REBUILD_HINT}")

    @property
    def version(self) -> str:
        return self.manifest["version"]

    def __contains__(self, name: str) -> bool:
        return name in self.manifest.get("arrays", {})

    def array(self, name: str) -> np.ndarray:
        """The memory-mapped array ``name`` (checked against the manifest on first access)."""
        if name in self._arrays:
            return self._arrays[name]
        entry = self.manifest.get("arrays", {}).get(name)
        if entry is None:
            raise ArtifactError(f"artifact set {str(self.directory)!r} has no array {name!r}; {_REBUILD_HINT}")
        file = self.directory / entry["file"]
        if not file.is_file():
            raise ArtifactError(f"artifact file {str(file)!r} is missing; {_REBUILD_HINT}")
        if file.stat().st_size != entry["bytes"]:
            raise ArtifactError(f"artifact file {str(file)!r} has {file.stat().st_size} bytes, the manifest "
                                f"says {entry['bytes']} (truncated or altered); {_REBUILD_HINT}")
        try:
            array = np.load(file, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise ArtifactError(f"artifact file {str(file)!r} is not a valid .npy file: {exc}; "
                                f"{_REBUILD_HINT}") from exc
        if array.dtype.str != entry["dtype"] or list(array.shape) != entry["shape"]:
            raise ArtifactError(f"artifact file {str(file)!r} holds {array.dtype.str}{list(array.shape)}, the "
                                f"manifest says {entry['dtype']}{entry['shape']}; {_REBUILD_HINT}")
        self._arrays[name] = array
        return array

    def arrays_with_prefix(self, prefix: str) -> dict[str, np.ndarray]:
        return {n: self.array(n) for n in self.manifest.get("arrays", {}) if n.startswith(prefix)}

    def track_table(self) -> pd.DataFrame:
        """The track table (memory-mapped Arrow columns, strings as ``string[pyarrow]``)."""
        file = self.directory / TRACK_TABLE
        try:
            table = feather.read_table(file, memory_map=True).to_pandas()
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise ArtifactError(f"cannot read {str(file)!r}: {exc}; {_REBUILD_HINT}") from exc
        expected = self.manifest.get("track_table", {}).get("rows")
        if expected is not None and len(table) != expected:
            raise ArtifactError(f"{str(file)!r} has {len(table)} rows, the manifest says {expected}; "
                                f"{_REBUILD_HINT}")
        return table
