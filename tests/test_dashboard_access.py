"""The dashboard's per-process artifact cache: load once, follow ``current``, never drop a working set."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from dashboard.access import RecommenderCache
from engine import ArtifactError
from tests.dashboard_fixtures import copy_artifact_set


@pytest.fixture
def root(tmp_path, dashboard_artifacts):
    """A private artifact root holding a copy of the session's set."""
    root = tmp_path / "artifacts"
    root.mkdir()
    copy_artifact_set(dashboard_artifacts, root)
    return root


def _new_version(root, name: str) -> str:
    """Copy the current set under a new version name and re-point ``current`` at it (what a build does)."""
    source = (root / "current").resolve()
    shutil.copytree(source, root / name)
    manifest = json.loads((root / name / "manifest.json").read_text())
    manifest["version"] = name
    (root / name / "manifest.json").write_text(json.dumps(manifest))
    os.symlink(name, root / ".next")
    os.replace(root / ".next", root / "current")
    return name


def test_the_artifact_set_is_loaded_once(root):
    cache = RecommenderCache(root, check_interval=0)
    first = cache.get()
    assert cache.get() is first
    assert first.manifest_hash.startswith("sha256:")
    assert first.recommender.version == (root / "current").resolve().name


def test_a_new_current_set_is_picked_up_without_a_restart(root):
    cache = RecommenderCache(root, check_interval=0)
    old = cache.get()
    _new_version(root, "v29990101T000000-newer")
    new = cache.get()
    assert new is not old
    assert new.recommender.version == "v29990101T000000-newer"
    assert new.manifest_hash != old.manifest_hash


def test_current_is_looked_at_only_once_per_interval(root):
    cache = RecommenderCache(root, check_interval=3600)
    old = cache.get()
    _new_version(root, "v29990101T000000-newer")
    assert cache.get() is old


def test_a_broken_new_set_is_logged_and_the_old_one_keeps_serving(root, caplog):
    cache = RecommenderCache(root, check_interval=0)
    old = cache.get()
    name = _new_version(root, "v29990101T000000-broken")
    (root / name / "manifest.json").write_text("{ truncated")
    assert cache.get() is old
    assert "cannot load the new artifact set" in caplog.text
    assert f"still serving {old.recommender.version}" in caplog.text


def test_without_any_artifact_set_the_error_names_the_directory(tmp_path):
    cache = RecommenderCache(tmp_path, check_interval=0)
    with pytest.raises(ArtifactError, match=str(tmp_path)):
        cache.get()


def test_an_evaluation_in_the_set_is_loaded_with_it(root):
    (root / "current" / "evaluation.json").write_text(json.dumps({"runs": [{"method": "hybrid", "alpha": 0.5,
                                                                             "metrics": {"ndcg@10": 0.2}}]}))
    loaded = RecommenderCache(root, check_interval=0).get()
    assert loaded.evaluation["runs"][0]["metrics"] == {"ndcg@10": 0.2}


def test_the_master_loads_a_new_set_once_and_retries_one_that_failed(root):
    cache = RecommenderCache(root, check_interval=0, retry_after=0.5)
    first = cache.get()
    assert not cache.changed()
    broken = _new_version(root, "v-broken")
    (root / broken / "user_ids.npy").write_bytes(b"not an array")
    assert cache.changed()
    assert cache.reload_now() is first  # refused: the old set keeps serving
    assert not cache.changed()  # and the watcher does not ask again at once ...
    import time
    time.sleep(0.6)
    assert cache.changed()  # ... but retries after retry_after
    (root / broken / "user_ids.npy").unlink()
    good = _new_version(root, "v-good")  # the next build: a complete set
    shutil.copy(root / first.recommender.directory / "user_ids.npy", root / good / "user_ids.npy")
    assert cache.reload_now().recommender.version == good and not cache.changed()


def test_a_forked_worker_serves_what_its_master_loaded_and_records_it(root, tmp_path, monkeypatch):
    from dashboard import access

    cache = RecommenderCache(root, check_interval=0)
    loaded = cache.get()
    monkeypatch.setattr(access, "_cache", cache)
    state = tmp_path / "state"
    state.mkdir()
    access.serve_forked(state)
    _new_version(root, "v-next")
    assert cache.get() is loaded  # a worker never loads on its own: the master swaps workers
    assert access.served_versions(state) == {str(os.getpid()): loaded.recommender.version}
    access.forget_worker(state, os.getpid())
    assert access.served_versions(state) == {}
