"""Every element id of the dashboard comes from ``dashboard/ids.py``: the one list of the ids callbacks,
pages and tests refer to, so that a renamed id cannot leave a callback listening to nothing.

The pages and components are parsed (:mod:`ast`): a call that passes a string literal (or an f-string)
as ``id=`` fails this test, as does an id defined twice in ``dashboard/ids.py`` or one defined and never used.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dashboard import ids

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"
SOURCES = sorted(p for p in DASHBOARD.rglob("*.py") if p.name != "ids.py")


def literal_ids(path: Path) -> list[str]:
    """``"line: id"`` of every call in ``path`` whose ``id=`` keyword is a string literal or an f-string."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "id" and (isinstance(value, ast.JoinedStr) or
                                            (isinstance(value, ast.Constant) and isinstance(value.value, str))):
                    found.append(f"{node.lineno}: {ast.unparse(value)}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(DASHBOARD)))
def test_no_page_or_component_writes_an_element_id_by_hand(path):
    assert not literal_ids(path), f"literal ids in {path.name}: {literal_ids(path)}; add them to dashboard/ids.py"


def test_the_guard_sees_literal_ids(tmp_path):
    sample = tmp_path / "page.py"
    sample.write_text('html.Div(id="by-hand")\nhtml.Div(id=f"{x}-list")\nhtml.Div(id=ids.NAVBAR)\n')
    assert literal_ids(sample) == ['1: \'by-hand\'', "2: f'{x}-list'"]


def test_every_id_is_defined_once_and_used():
    values = {name: value for name, value in vars(ids).items() if name.isupper() and isinstance(value, str)}
    assert len(set(values.values())) == len(values), "two names in dashboard/ids.py share an id"
    used = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    unused = sorted(name for name in values if f"ids.{name}" not in used)
    assert not unused, f"ids defined in dashboard/ids.py but used nowhere: {unused}"
