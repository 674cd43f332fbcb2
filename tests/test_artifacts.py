"""Specification of the artifact format (``engine.artifacts``) and of rebuilding it.

An artifact set is plain numeric ``.npy`` files, an Arrow track table and a
JSON manifest; it loads memory-mapped without pickle, refuses a missing,
truncated, altered or incompatible file with a message naming the file and the
command to run, and is replaced atomically through the ``current`` link.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import build.refresh as refresh_module
from build.refresh import refresh
from engine import Recommender
from engine.artifacts import SCHEMA_VERSION, ArtifactSet, write_artifact_set
from engine.errors import ArtifactError
from tests.helpers import snapshot, tid, uid, version_dirs

REBUILD = "build.refresh"  # every ArtifactError says what to run


@pytest.fixture
def set_dir(good, tmp_path) -> Path:
    """A private copy of one artifact set's directory, for a test to damage."""
    copy = tmp_path / "set"
    shutil.copytree((good[1] / "current").resolve(), copy)
    return copy


def refused(path, *fragments, verify=True) -> str:
    with pytest.raises(ArtifactError) as error:
        Recommender.load(path, verify=verify)
    message = str(error.value)
    for fragment in (*fragments, REBUILD):
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# --------------------------------------------------------------------------
# The format
# --------------------------------------------------------------------------

def test_every_array_loads_memory_mapped_without_pickle(good):
    directory = (good[1] / "current").resolve()
    files = sorted(directory.glob("*.npy"))
    manifest = json.loads((directory / "manifest.json").read_text())
    assert sorted(f"{name}.npy" for name in manifest["arrays"]) == [f.name for f in files]
    for file in files:
        array = np.load(file, mmap_mode="r", allow_pickle=False)
        assert isinstance(array, np.memmap), file.name
        assert not array.dtype.hasobject, file.name
        entry = manifest["arrays"][file.name[:-4]]
        assert (array.dtype.str, list(array.shape), file.stat().st_size) == \
            (entry["dtype"], entry["shape"], entry["bytes"])
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f.name for f in files] + ["manifest.json", "tracks.arrow"])  # no pickle or joblib files


def test_the_track_table_is_an_arrow_file_with_the_catalogue_in_order(good):
    table = pd.read_feather(good[1] / "current" / "tracks.arrow")
    assert table["track_id"].tolist() == [tid(n) for n in range(10)]
    assert table["n_listeners"].tolist() == [3, 2, 2, 2, 3, 2, 1, 0, 0, 1]


def test_the_manifest_records_what_the_build_did(good):
    manifest = ArtifactSet.open(good[1]).manifest
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert set(manifest["inputs"]) == {"catalogue", "listening"}
    assert all(entry["checksum"].startswith("xxh3:") for entry in manifest["inputs"].values())
    assert manifest["counts"]["tracks"] == 10
    assert {"ingest_catalogue", "ingest_listening", "content", "collaborative"} <= set(manifest["stage_timings"])
    assert all(entry["checksum"].startswith("xxh3:") for entry in manifest["arrays"].values())
    assert manifest["version"] == os.readlink(good[1] / "current")


def test_a_loaded_recommender_reads_its_big_arrays_through_memory_maps(good):
    rec = Recommender.load(good[1])

    def mapped(array) -> bool:
        while array is not None:
            if isinstance(array, np.memmap):
                return True
            array = array.base
        return False

    collab, content = rec.scorer.collab, rec.scorer.content
    for array in (collab.left_.data, collab.left_.indices, collab.right_.data, collab.right_.indices,
                  content.parts["tags"].data, content.parts["tags"].indices, content.parts["audio"],
                  rec.users.user_ids, rec.users.playcounts):
        assert mapped(array)


def test_a_set_loads_from_its_root_or_its_own_directory(good):
    by_root = Recommender.load(good[1])
    by_dir = Recommender.load((good[1] / "current").resolve())
    assert by_root.version == by_dir.version
    assert by_root.recommend(tid(0)) == by_dir.recommend(tid(0))


# --------------------------------------------------------------------------
# Damaged sets are refused, naming the file and what to run
# --------------------------------------------------------------------------

def test_a_missing_array_file_is_refused(set_dir):
    (set_dir / "collab_right.indices.npy").unlink()
    refused(set_dir, "collab_right.indices.npy", "missing")


@pytest.mark.parametrize("verify", [True, False])
def test_a_truncated_array_file_is_refused(set_dir, verify):
    file = set_dir / "content_tags.data.npy"
    file.write_bytes(file.read_bytes()[:-4])
    refused(set_dir, "content_tags.data.npy", "truncated", verify=verify)


def test_an_altered_array_file_is_refused(set_dir):
    file = set_dir / "collab_left.data.npy"
    data = bytearray(file.read_bytes())
    data[-1] ^= 0x40
    file.write_bytes(bytes(data))
    refused(set_dir, "collab_left.data.npy", "checksum")


def test_an_array_of_another_dtype_is_refused(set_dir):
    file = set_dir / "collab_left.data.npy"
    original = np.load(file)
    np.save(file, original.view(np.int32), allow_pickle=False)  # same size, other dtype
    refused(set_dir, "collab_left.data.npy", "<i4")


def test_a_file_that_is_not_npy_is_refused(set_dir):
    file = set_dir / "user_ids.npy"
    size = file.stat().st_size
    file.write_bytes(b"x" * size)
    refused(set_dir, "user_ids.npy", "not a valid .npy")


def test_an_older_schema_version_is_refused(set_dir):
    manifest = json.loads((set_dir / "manifest.json").read_text())
    manifest["schema_version"] = SCHEMA_VERSION - 1
    (set_dir / "manifest.json").write_text(json.dumps(manifest))
    refused(set_dir, str(set_dir), f"schema version {SCHEMA_VERSION - 1}")


def test_a_missing_or_unreadable_manifest_is_refused(set_dir, tmp_path):
    (set_dir / "manifest.json").write_text("{ not json")
    refused(set_dir, "manifest.json")
    (set_dir / "manifest.json").unlink()
    refused(set_dir, str(set_dir), "no artifact set")
    refused(tmp_path / "nothing-here", "nothing-here")


def test_a_missing_or_altered_track_table_is_refused(set_dir):
    table = pd.read_feather(set_dir / "tracks.arrow")
    table.loc[0, "name"] = "Mr. Wrongside"
    table.to_feather(set_dir / "tracks.arrow")  # same rows, altered content
    refused(set_dir, "tracks.arrow")
    Recommender.load(set_dir, verify=False)  # without verification only the row count is checked
    (set_dir / "tracks.arrow").unlink()
    refused(set_dir, "tracks.arrow", "missing", verify=False)


# --------------------------------------------------------------------------
# Writing: atomic sets, the current link, skipping and pruning
# --------------------------------------------------------------------------

def test_the_current_link_switches_in_one_rename_to_a_complete_set(raw, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = refresh(raw, out)
    seen = []
    real_replace = os.replace

    def observing_replace(src, dst):
        if Path(dst) == out / "current":
            # At the moment of the switch the old link still serves a complete set,
            # and the new link already points at a complete, verified set.
            seen.append((os.readlink(dst), os.readlink(src)))
            Recommender.load(out)
            ArtifactSet.open(Path(src).parent / os.readlink(src), verify=True)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", observing_replace)
    second = refresh(raw, out, force=True)
    monkeypatch.undo()
    assert seen == [(first.name, second.name)]
    assert os.readlink(out / "current") == second.name
    assert Recommender.load(out).version == second.name


def test_unchanged_inputs_skip_the_build_unless_forced(raw, tmp_path):
    out = tmp_path / "out"
    first = refresh(raw, out)
    before = snapshot(out)
    os.utime(raw / "Music Info.csv")  # touched, not changed
    assert refresh(raw, out) is None
    assert snapshot(out) == before
    forced = refresh(raw, out, force=True)
    assert forced is not None and forced.name != first.name
    assert os.readlink(out / "current") == forced.name


def test_changed_inputs_or_settings_rebuild_without_force(raw, tmp_path):
    out = tmp_path / "out"
    first = refresh(raw, out)
    again = refresh(raw, out, config={"weighting": "log"})
    assert again is not None and Recommender.load(out).manifest["collaborative"]["params"]["weighting"] == "log"
    with open(raw / "User Listening History.csv", "a", encoding="utf-8") as handle:
        handle.write(f"{tid(8)},{uid(1)},2\n")
    third = refresh(raw, out, config={"weighting": "log"})
    assert third is not None and len({first.name, again.name, third.name}) == 3
    assert Recommender.load(out).track(tid(8)).n_listeners == 1


def test_rebuilds_keep_at_most_two_sets_and_old_readers_keep_working(raw, tmp_path):
    out = tmp_path / "out"
    first = refresh(raw, out)
    reader = Recommender.load(out)
    expected = reader.recommend(tid(0), k=5)
    built = [first] + [refresh(raw, out, force=True) for _ in range(3)]
    assert len({b.name for b in built}) == 4
    assert version_dirs(out) == sorted(b.name for b in built[-2:])
    assert os.readlink(out / "current") == built[-1].name
    assert not first.exists()
    assert reader.recommend(tid(0), k=5) == expected  # its memory maps outlive the deleted files


def test_two_forced_builds_within_one_second_get_distinct_versions(raw, tmp_path, monkeypatch):
    out = tmp_path / "out"
    frozen = time.gmtime()
    monkeypatch.setattr(refresh_module.time, "gmtime", lambda *args: frozen)
    first = refresh(raw, out, force=True)
    second = refresh(raw, out, force=True)
    assert first.name != second.name
    assert os.readlink(out / "current") == second.name
    assert version_dirs(out) == sorted([first.name, second.name])


def test_an_array_of_objects_is_never_written(tmp_path, good):
    tracks = pd.read_feather(good[1] / "current" / "tracks.arrow")
    with pytest.raises(ArtifactError, match="names"):
        write_artifact_set(tmp_path / "out", "v1", {"names": np.array(["a", None], dtype=object)}, tracks, {})
    assert list((tmp_path / "out").iterdir()) == []  # no staging directory, no set, no link


def test_a_version_is_never_overwritten(tmp_path, good):
    tracks = pd.read_feather(good[1] / "current" / "tracks.arrow")
    write_artifact_set(tmp_path / "out", "v1", {"x": np.arange(3)}, tracks, {})
    with pytest.raises(ArtifactError, match="v1"):
        write_artifact_set(tmp_path / "out", "v1", {"x": np.arange(4)}, tracks, {})
    assert np.load(tmp_path / "out" / "v1" / "x.npy").tolist() == [0, 1, 2]


def test_empty_arrays_are_written_and_verified_like_any_other(tmp_path, good):
    # A catalogue without listeners, or a cache with nothing to hold, gives arrays with a zero dimension.
    tracks = pd.read_feather(good[1] / "current" / "tracks.arrow")
    empty = {"nothing": np.zeros((0, 8)), "none": np.zeros(0, dtype=np.int32), "some": np.arange(3)}
    write_artifact_set(tmp_path / "out", "v1", empty, tracks, {})
    artifacts = ArtifactSet.open(tmp_path / "out", verify=True)
    assert artifacts.array("nothing").shape == (0, 8) and artifacts.array("none").dtype == np.int32
    assert artifacts.array("some").tolist() == [0, 1, 2]
