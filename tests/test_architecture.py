"""The layers, read from the source: build -> engine <- dashboard.

* ``engine/`` is a library: it imports neither the web stack (``dash``,
  ``flask``) nor the two programs built on it (``build``, ``dashboard``), and
  it reads no environment variable -- it takes arguments. Each program reads
  its environment in one place (``build/settings.py``, ``dashboard/config.py``).
* ``build`` and ``dashboard`` meet only through ``engine`` and the artifact set.

The modules are parsed (:mod:`ast`), not imported, so an import inside a
function or behind a condition counts as well.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Top-level packages an engine module must not import.
ENGINE_MUST_NOT_IMPORT = frozenset({"dash", "dash_bootstrap_components", "flask", "build", "dashboard"})


def modules(package: str) -> list[Path]:
    return sorted((PROJECT_ROOT / package).rglob("*.py"))


def imported_packages(tree: ast.Module, package: str) -> set[str]:
    """Top-level names of the packages a module of ``package`` imports (a relative import that climbs out
    of ``package`` counts as importing the project root's ``..`` target)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.add(node.module.split(".")[0])
            elif node.level >= 2:  # from ..x import y: out of the package, into the project root
                found.add(node.module.split(".")[0] if node.module else "..")
            else:
                found.add(package)
    return found


def environment_reads(tree: ast.Module) -> list[str]:
    """Where a module reads the environment: ``os.environ`` (and ``.get``, ``[...]``), ``os.getenv``,
    ``os.environb``, or ``environ`` / ``getenv`` imported from :mod:`os`; as ``"line: what"``."""
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            reads.append(f"{node.lineno}: os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and node.level == 0:
            reads += [f"{node.lineno}: from os import {alias.name}" for alias in node.names
                      if alias.name in ("environ", "environb", "getenv")]
    return reads


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


@pytest.mark.parametrize("path", modules("engine"), ids=relative)
def test_the_engine_imports_neither_the_web_stack_nor_the_programs_built_on_it(path):
    forbidden = imported_packages(parse(path), "engine") & (ENGINE_MUST_NOT_IMPORT | {".."})
    assert not forbidden, f"{relative(path)} imports {sorted(forbidden)}; the engine takes arguments instead"


@pytest.mark.parametrize("path", modules("engine"), ids=relative)
def test_the_engine_reads_no_environment(path):
    reads = environment_reads(parse(path))
    assert not reads, (f"{relative(path)} reads the environment ({', '.join(reads)}); read it in "
                       f"build/settings.py or dashboard/config.py and pass it in as an argument")


@pytest.mark.parametrize(("package", "other"), [("build", "dashboard"), ("dashboard", "build")])
def test_build_and_dashboard_meet_only_through_the_engine(package, other):
    offenders = [relative(path) for path in modules(package) if other in imported_packages(parse(path), package)]
    assert offenders == [], f"{offenders} import {other}"


# The checks themselves: each catches what it is there to catch.

@pytest.mark.parametrize("source", [
    "import dash", "import flask.json", "from dash import html", "from build.settings import RAW_DIR",
    "def f():\n    from dashboard import config", "from ..dashboard import ids",
])
def test_a_forbidden_import_is_seen_wherever_it_stands(source):
    assert imported_packages(ast.parse(source), "engine") & (ENGINE_MUST_NOT_IMPORT | {".."})


@pytest.mark.parametrize("source", [
    "import os\nx = os.environ['A']", "import os\nx = os.environ.get('A', 'b')", "import os\nx = os.getenv('A')",
    "from os import environ", "from os import getenv as g", "import os\ndef f(k):\n    return k in os.environ",
])
def test_every_way_of_reading_the_environment_is_seen(source):
    assert environment_reads(ast.parse(source))


@pytest.mark.parametrize("source", [
    "import os\nos.path.join('a', 'b')", "from . import errors", "from .schema import AUDIO_FEATURES",
    "import numpy as np", "environ = {}\nx = environ.get('A')",
])
def test_ordinary_code_is_not_flagged(source):
    tree = ast.parse(source)
    assert not environment_reads(tree)
    assert not imported_packages(tree, "engine") & (ENGINE_MUST_NOT_IMPORT | {".."})
