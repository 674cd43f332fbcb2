"""Guardrail: every component id of the dashboard comes from ``dashboard/ids.py``.

Dash Pages share one id space across pages, and callbacks, tests and the
benchmarks find components by id: a string typed in place would drift from
the one the callbacks use. The pages and shared components are parsed (not
imported), so a new page is checked without registering it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dashboard import ids

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"
SOURCES = sorted([*DASHBOARD.glob("pages/*.py"), *DASHBOARD.glob("components/*.py"), DASHBOARD / "app.py"])
DEPENDENCIES = {"Input", "Output", "State"}


def literal_ids(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every string literal used as a component id in ``source``.

    Caught: ``id="…"`` (also inside a pattern-matching dict's ``"type"``) and
    the first argument of ``Input``/``Output``/``State``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        values = [kw.value for kw in node.keywords if kw.arg == "id"]
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name in DEPENDENCIES and node.args:
            values.append(node.args[0])
        for value in values:
            if isinstance(value, ast.Dict):  # {"type": ids.X, "index": …}: the type must be a constant too
                value = next((v for k, v in zip(value.keys, value.values)
                              if isinstance(k, ast.Constant) and k.value == "type"), None)
            if isinstance(value, (ast.Constant, ast.JoinedStr)):
                found.append((node.lineno, ast.unparse(value)))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(DASHBOARD)))
def test_a_page_takes_its_component_ids_from_dashboard_ids(path):
    assert literal_ids(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("snippet", ['html.Div(id="x")', 'Output("x", "children")', 'State(f"{p}-x", "value")',
                                     'html.Button(id={"type": "remove", "index": 3})'])
def test_the_guardrail_catches_a_literal_id(snippet):
    assert literal_ids(snippet) != []


def test_the_guardrail_accepts_ids_from_the_module():
    assert literal_ids('html.Div(id=ids.X)\nOutput(ids.X, "children")\n'
                       'html.Button(id={"type": ids.REMOVE, "index": t})') == []


def test_ids_are_unique_and_prefixed_by_their_page():
    values = {name: value for name, value in vars(ids).items() if name.isupper()}
    assert len(set(values.values())) == len(values)
    prefixes = ("app-", "no-", "not-", "discover-", "explain-", "alpha-", "user-", "session-", "data-")
    assert [v for v in values.values() if not v.startswith(prefixes)] == []


def test_every_id_in_the_module_is_used():
    used = "\n".join(p.read_text(encoding="utf-8") for p in DASHBOARD.rglob("*.py") if p.name != "ids.py")
    values = [name for name, value in vars(ids).items() if name.isupper() and isinstance(value, str)]
    assert [name for name in values if f"ids.{name}" not in used] == []
