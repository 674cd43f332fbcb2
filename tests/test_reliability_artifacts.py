"""Reliability of loading artifacts: every file damaged, odd manifests, dangling links, planted pickles.

``tests/test_artifacts.py`` specifies the format and one example of each kind
of damage. This module applies each kind of damage to *every* array of a real
set and adds the manifests and links a person can end up with (a manifest from
an older or newer schema, one cut short or edited by hand, a ``current`` link
to a deleted set). Whatever the damage, :meth:`engine.Recommender.load` raises
:class:`engine.ArtifactError` (never a ``KeyError``, ``TypeError`` or a numpy
error) with a message that names the file or directory and says what to run
(``build.refresh``); and loading never runs code stored in the set.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from build.refresh import refresh
from engine import Recommender
from engine.artifacts import SCHEMA_VERSION
from engine.errors import ArtifactError
from tests.helpers import tid, write_small_raw

REBUILD = "build.refresh"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The directory of one artifact set built from the small catalogue."""
    root = tmp_path_factory.mktemp("artifacts")
    refresh(write_small_raw(root / "raw"), root / "artifacts")
    return (root / "artifacts" / "current").resolve()


@pytest.fixture
def set_dir(built, tmp_path) -> Path:
    copy = tmp_path / "set"
    shutil.copytree(built, copy)
    return copy


def manifest_of(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text())


def write_manifest(directory: Path, manifest) -> None:
    (directory / "manifest.json").write_text(json.dumps(manifest))


def refusal(path: Path, verify: bool = True) -> str:
    """The message of the ArtifactError that loading ``path`` raises (fails on any other outcome)."""
    with pytest.raises(ArtifactError) as error:
        Recommender.load(path, verify=verify)
    return str(error.value)


def outcome(path: Path, verify: bool = True) -> str:
    """What loading ``path`` does: ``"refused: <message>"``, ``"loaded"`` or ``"<OtherError>: <message>"``."""
    try:
        Recommender.load(path, verify=verify)
    except ArtifactError as exc:
        return f"refused: {exc}"
    except Exception as exc:  # noqa: BLE001 - the point is to report any other exception
        return f"{type(exc).__name__}: {exc}"
    return "loaded"


def each_array(directory: Path, damage, verify: bool = True) -> list[str]:
    """Damage every array file in turn (restoring it after) and list the ones not refused by file name."""
    wrong = []
    for name, entry in manifest_of(directory)["arrays"].items():
        file = directory / entry["file"]
        original = file.read_bytes()
        try:
            if damage(file, entry) is False:
                continue
            result = outcome(directory, verify=verify)
            if not result.startswith("refused") or entry["file"] not in result or REBUILD not in result:
                wrong.append(f"{name}: {result}")
        finally:
            file.write_bytes(original)
    return wrong


# --------------------------------------------------------------------------
# Every array: missing, truncated, altered, swapped
# --------------------------------------------------------------------------

def test_every_array_file_when_missing_is_refused_by_name(set_dir):
    assert len(manifest_of(set_dir)["arrays"]) >= 20
    assert each_array(set_dir, lambda file, entry: file.unlink(), verify=False) == []


@pytest.mark.parametrize("cut", [1, 64, "all but the header"])
def test_every_array_file_when_truncated_is_refused_by_name_even_without_verification(set_dir, cut):
    def truncate(file, entry):
        data = file.read_bytes()
        keep = len(data) - cut if isinstance(cut, int) else min(128, len(data) - 1)  # npy headers are 128 bytes
        file.write_bytes(data[:max(keep, 0)])

    assert each_array(set_dir, truncate, verify=False) == []


def test_every_array_file_when_one_data_byte_flips_is_caught_by_its_checksum(set_dir):
    def flip(file, entry):
        data = bytearray(file.read_bytes())
        nbytes = int(np.prod(entry["shape"])) * np.dtype(entry["dtype"]).itemsize
        if nbytes == 0:
            return False  # an empty array has no data byte to alter
        data[len(data) - nbytes // 2 - 1] ^= 0x01
        file.write_bytes(bytes(data))

    assert each_array(set_dir, flip) == []
    assert "checksum" in refusal_after(set_dir, flip, "collab_left.data")


def refusal_after(directory: Path, damage, name: str) -> str:
    entry = manifest_of(directory)["arrays"][name]
    damage(directory / entry["file"], entry)
    return refusal(directory)


def test_two_arrays_swapped_are_refused(set_dir):
    a, b = set_dir / "collab_left.indices.npy", set_dir / "collab_right.indices.npy"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    message = refusal(set_dir, verify=False) if len(data_a) != len(data_b) else refusal(set_dir)
    assert "indices.npy" in message and REBUILD in message


def test_a_truncated_track_table_is_refused_with_or_without_verification(set_dir):
    table = set_dir / "tracks.arrow"
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    for verify in (True, False):
        message = refusal(set_dir, verify=verify)
        assert "tracks.arrow" in message and REBUILD in message


# --------------------------------------------------------------------------
# Manifests from other versions, cut short or edited by hand
# --------------------------------------------------------------------------

@pytest.mark.parametrize("version", [SCHEMA_VERSION - 1, SCHEMA_VERSION + 1, None, "1", 0])
def test_a_manifest_of_another_schema_version_is_refused_naming_the_set_and_the_command(set_dir, version):
    manifest = manifest_of(set_dir)
    if version is None:
        del manifest["schema_version"]
    else:
        manifest["schema_version"] = version
    write_manifest(set_dir, manifest)
    message = refusal(set_dir, verify=False)
    assert str(set_dir) in message and REBUILD in message and "schema version" in message


@pytest.mark.parametrize("cut", [0, 1, 100, -2])
def test_a_manifest_cut_short_is_refused(set_dir, cut):
    text = (set_dir / "manifest.json").read_text()
    (set_dir / "manifest.json").write_text(text[:cut] if cut >= 0 else text[:cut])
    message = refusal(set_dir)
    assert "manifest.json" in message and REBUILD in message


@pytest.mark.parametrize("content", [[], "a string", 42, None], ids=["list", "string", "number", "null"])
def test_a_manifest_that_is_not_an_object_is_refused(set_dir, content):
    write_manifest(set_dir, content)
    message = refusal(set_dir)
    assert "manifest.json" in message and REBUILD in message


@pytest.mark.parametrize("key", ["counts", "content", "collaborative", "arrays", "track_table", "version"])
def test_a_manifest_missing_a_section_is_refused_not_a_key_error(set_dir, key):
    manifest = manifest_of(set_dir)
    del manifest[key]
    write_manifest(set_dir, manifest)
    message = refusal(set_dir, verify=False)
    assert str(set_dir) in message and REBUILD in message


@pytest.mark.parametrize("edit", ["user count", "block fields", "params", "array dtype", "array shape"])
def test_a_manifest_edited_by_hand_is_refused(set_dir, edit):
    manifest = manifest_of(set_dir)
    if edit == "user count":
        manifest["counts"]["users"] = "six"
    elif edit == "block fields":
        manifest["content"]["blocks"][0]["colour"] = "blue"
    elif edit == "params":
        manifest["collaborative"]["params"] = "cosine"
    elif edit == "array dtype":
        manifest["arrays"]["collab_left.data"]["dtype"] = "<f8"
    else:
        manifest["arrays"]["user_ids"]["shape"] = [1]
    write_manifest(set_dir, manifest)
    message = refusal(set_dir, verify=False)
    assert str(set_dir) in message and REBUILD in message


# --------------------------------------------------------------------------
# The current link
# --------------------------------------------------------------------------

def test_a_current_link_to_a_deleted_set_is_refused_naming_the_root(built, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(built, root / built.name)
    os.symlink(built.name, root / "current")
    assert Recommender.load(root).version == built.name
    shutil.rmtree(root / built.name)
    message = refusal(root)
    assert str(root) in message and REBUILD in message


def test_a_current_link_to_a_set_without_a_manifest_is_refused(built, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(built, root / built.name)
    os.symlink(built.name, root / "current")
    (root / built.name / "manifest.json").unlink()
    message = refusal(root)
    assert str(root) in message and REBUILD in message


# --------------------------------------------------------------------------
# Loading never runs code
# --------------------------------------------------------------------------

class Payload:
    """An object whose unpickling would create ``marker``: proof that pickle ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_planted_in_an_array_file_is_refused_and_never_run(set_dir, tmp_path):
    marker = tmp_path / "pickle-ran"
    planted = np.array([Payload(marker), Payload(marker)], dtype=object)
    file = set_dir / "user_ids.npy"
    np.save(file, planted, allow_pickle=True)
    manifest = manifest_of(set_dir)  # an attacker who can write the set can rewrite its manifest too
    manifest["arrays"]["user_ids"].update(dtype="|O", shape=[2], bytes=file.stat().st_size)
    write_manifest(set_dir, manifest)
    for verify in (True, False):
        message = refusal(set_dir, verify=verify)
        assert "user_ids.npy" in message
    assert not marker.exists()
    pickle.loads(pickle.dumps(Payload(marker)))  # the payload is real: unpickling it does create the marker
    assert marker.exists()


def test_a_pickle_file_dropped_next_to_the_arrays_is_ignored(set_dir, tmp_path):
    marker = tmp_path / "pickle-ran"
    (set_dir / "model.pkl").write_bytes(pickle.dumps(Payload(marker)))
    (set_dir / "model.joblib").write_bytes(pickle.dumps(Payload(marker)))
    rec = Recommender.load(set_dir)
    assert rec.recommend(tid(0), k=3) and not marker.exists()
