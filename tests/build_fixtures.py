"""Fixtures of the build tests: a small good raw data set with its artifacts, and private copies to damage."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from build.refresh import refresh
from tests.helpers import copy_raw, write_small_raw


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, Path]:
    """The small catalogue's raw CSVs and an artifact root built from them (built once per module)."""
    root = tmp_path_factory.mktemp("good")
    raw = write_small_raw(root / "raw")
    refresh(raw, root / "artifacts")
    return raw, root / "artifacts"


@pytest.fixture
def previous(good, tmp_path) -> Path:
    """A private copy of the good artifact root, serving one set."""
    out = tmp_path / "artifacts"
    shutil.copytree(good[1], out, symlinks=True)
    return out


@pytest.fixture
def raw(good, tmp_path) -> Path:
    """A private copy of the good raw CSVs, for a test to damage."""
    return copy_raw(good[0], tmp_path / "raw")
