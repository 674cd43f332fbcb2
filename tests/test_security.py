"""Security properties of the code, checked on its syntax tree and on the served app.

What ``SECURITY.md`` promises, as tests:

* nothing loads pickles (no ``pickle``/``joblib``/``dill``/``shelve``/``marshal``,
  every ``np.load`` passes ``allow_pickle=False``, no ``pd.read_pickle``);
* nothing evaluates text as code (``eval``, ``exec``, ``compile``, ``__import__``,
  ``os.system``, ``shell=True``);
* user text never becomes a regular expression: every regex call has a constant
  pattern, and pandas' string methods that default to regexes are told not to;
* user text never reaches HTML unescaped: no ``dangerously_allow_html``,
  ``Markdown``, ``Iframe(srcDoc=...)``, ``innerHTML`` or ``Markup`` anywhere in
  the dashboard (Dash escapes every component's children);
* the served app runs without debug: no dev tools in the page, no tracebacks
  or file paths in an error answer, no ``debug=True`` anywhere;
* secrets come only from the environment: no credential-looking literal in the
  repository, and a secret key, if one is ever set, is read from ``os.environ``;
* static files are served only from their directory (no path traversal).

The container's non-root user is specified in ``tests/test_container.py``;
loading a planted pickle in ``tests/test_reliability_artifacts.py``.
"""
from __future__ import annotations

import ast
import contextlib
import re
from pathlib import Path

import pytest

from tests.test_fuzz_callbacks import app  # noqa: F401 - the dashboard in this process, over the demo set

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "build", "dashboard")
SOURCES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")) + [ROOT / "gunicorn.conf.py"]

REGEX_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
ARROW_REGEX = {"match_substring_regex", "replace_substring_regex", "count_substring_regex", "extract_regex",
               "split_pattern_regex", "match_like"}
#: pandas ``.str`` methods whose pattern is a regex by default (or always).
PANDAS_REGEX = {"contains": True, "match": None, "fullmatch": None, "extract": None, "extractall": None,
                "findall": None, "count": None, "replace": False, "split": False}


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def calls(path: Path):
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Call):
            yield node


def name_of(func: ast.expr) -> str:
    """``a.b.c`` of a call's function (the last part only for anything more complex)."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def module_constants(module: ast.Module) -> set[str]:
    """Names assigned exactly once at module level to a string literal (patterns defined in the code)."""
    assigned: dict[str, list] = {}
    for node in module.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    return {name for name, values in assigned.items()
            if len(values) == 1 and isinstance(values[0], ast.Constant) and isinstance(values[0].value, str)}


def constant_pattern(node: ast.expr | None, constants: set[str]) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))) or \
        (isinstance(node, ast.Name) and node.id in constants)


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def test_the_scan_covers_the_code():
    names = {str(p.relative_to(ROOT)) for p in SOURCES}
    assert {"engine/artifacts.py", "engine/recommender.py", "build/ingest.py", "dashboard/app.py",
            "dashboard/access.py"} <= names
    assert len([n for n in names if n.startswith("dashboard/pages/")]) >= 5


# --------------------------------------------------------------------------
# No pickle, no code from data
# --------------------------------------------------------------------------

UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "joblib", "dill", "cloudpickle", "shelve", "marshal"}


def test_no_module_imports_a_pickle_library():
    found = []
    for path in SOURCES:
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            else:
                continue
            found += [f"{where(path, node)} imports {n}" for n in names if n in UNSAFE_MODULES]
    assert found == []


def test_every_numpy_load_refuses_pickles_and_nothing_reads_pickle_files():
    found = []
    for path in SOURCES:
        for call in calls(path):
            name = name_of(call.func)
            if name in ("np.load", "numpy.load"):
                allow = keyword(call, "allow_pickle")
                if not (isinstance(allow, ast.Constant) and allow.value is False):
                    found.append(f"{where(path, call)}: np.load without allow_pickle=False")
            if name.endswith(("read_pickle", "to_pickle", "torch.load", "yaml.load")):
                found.append(f"{where(path, call)}: {name}")
            allow = keyword(call, "allow_pickle")
            if isinstance(allow, ast.Constant) and allow.value is True:
                found.append(f"{where(path, call)}: allow_pickle=True")
    assert found == []


def test_nothing_evaluates_text_as_code():
    found = []
    for path in SOURCES:
        for call in calls(path):
            name = name_of(call.func)
            if name in {"eval", "exec", "compile", "__import__", "os.system", "os.popen", "builtins.eval"}:
                found.append(f"{where(path, call)}: {name}(...)")
            shell = keyword(call, "shell")
            if isinstance(shell, ast.Constant) and shell.value is True:
                found.append(f"{where(path, call)}: shell=True")
    assert found == []


# --------------------------------------------------------------------------
# User text never becomes a regex or HTML
# --------------------------------------------------------------------------

def test_every_regular_expression_is_a_constant_of_the_code():
    found = []
    for path in SOURCES:
        module = tree(path)
        constants = module_constants(module)
        imports_re = any(isinstance(n, ast.Import) and any(a.name == "re" for a in n.names) for n in module.body)
        for call in (n for n in ast.walk(module) if isinstance(n, ast.Call)):
            name = name_of(call.func)
            head, _, last = name.rpartition(".")
            pattern = call.args[0] if call.args else keyword(call, "pattern")
            if imports_re and head == "re" and last in REGEX_FUNCTIONS:
                if not constant_pattern(pattern, constants):
                    found.append(f"{where(path, call)}: re.{last} with a pattern built at run time")
            elif last in ARROW_REGEX:
                arrow_pattern = call.args[1] if len(call.args) > 1 else keyword(call, "pattern")
                if not constant_pattern(arrow_pattern, constants):
                    found.append(f"{where(path, call)}: {name} with a pattern built at run time")
            elif (head == "str" or head.endswith(".str")) and last in PANDAS_REGEX:
                regex = keyword(call, "regex")
                literal = isinstance(regex, ast.Constant) and regex.value is False
                default_literal = PANDAS_REGEX[last] is False and regex is None
                if not (literal or default_literal or constant_pattern(pattern, constants)):
                    found.append(f"{where(path, call)}: .str.{last} may treat run-time text as a regex")
    assert found == []


def test_the_dashboard_never_renders_text_as_html():
    found = []
    dashboard = [p for p in SOURCES if p.is_relative_to(ROOT / "dashboard")]
    for path in dashboard:
        text = path.read_text(encoding="utf-8")
        for marker in ("dangerously_allow_html", "DangerouslySetInnerHTML", "srcDoc", "Markup(",
                       "render_template_string", "innerHTML"):
            if marker in text:
                found.append(f"{path.relative_to(ROOT)} uses {marker}")
        for call in calls(path):
            if name_of(call.func).endswith(("Markdown", "Iframe")):
                found.append(f"{where(path, call)}: {name_of(call.func)}")
    for asset in sorted((ROOT / "dashboard").rglob("*.js")):
        if (ROOT / "dashboard" / "vendor") in asset.parents:
            continue  # third-party bundles (plotly.js, pinned), as unread here as the ones Dash serves itself
        text = asset.read_text(encoding="utf-8")
        for marker in ("innerHTML", "outerHTML", "document.write", "eval(", "new Function"):
            if marker in text:
                found.append(f"{asset.relative_to(ROOT)} uses {marker}")
    assert found == []


# --------------------------------------------------------------------------
# Debug off, errors without internals
# --------------------------------------------------------------------------

def test_nothing_turns_debug_on():
    found = []
    for path in SOURCES:
        for call in calls(path):
            debug = keyword(call, "debug")
            if not (debug is None or isinstance(debug, ast.Constant) and debug.value is False):
                found.append(f"{where(path, call)}: {name_of(call.func)}(debug=...)")
            if name_of(call.func).endswith(("enable_dev_tools", "run_server")):
                found.append(f"{where(path, call)}: {name_of(call.func)}")
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in {"reload", "debug"}
                                                    for t in node.targets):
                if not (isinstance(node.value, ast.Constant) and node.value.value in (False, None)):
                    found.append(f"{where(path, node)}: sets {ast.unparse(node.targets[0])}")
    assert found == []


def test_the_served_page_has_no_dev_tools(app):  # noqa: F811
    client = app.server.test_client()
    page = client.get("/").get_data(as_text=True)
    config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page, re.S)
    assert config, "the Dash config script is missing"
    assert '"ui":false' in config.group(1).replace(" ", "") and '"props_check":false' in config.group(1).replace(" ",
                                                                                                               "")
    assert not app.server.debug and not app._dev_tools.get("ui")


@contextlib.contextmanager
def as_served(app):  # noqa: F811
    """A test client answering errors as production does (the fuzz fixture raises them into the test)."""
    server = app.server
    propagate = server.config.get("PROPAGATE_EXCEPTIONS")
    server.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        yield server.test_client()
    finally:
        server.config["PROPAGATE_EXCEPTIONS"] = propagate


@pytest.mark.parametrize("body", ["{}", "not json", '{"output": "no-such.children", "inputs": [], "outputs": {}}'])
def test_an_error_answer_shows_no_traceback_or_path(app, body):  # noqa: F811
    with as_served(app) as client:
        response = client.post("/_dash-update-component", data=body, content_type="application/json")
    text = response.get_data(as_text=True)
    assert response.status_code >= 400
    assert "Traceback" not in text and str(ROOT) not in text and ".py" not in text


@pytest.mark.parametrize("path", ["/vendor/bootstrap/../../../../../../etc/passwd",
                                  "/vendor/bootstrap/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                                  "/vendor/bootstrap/..%2f..%2f..%2fapp.py", "/assets/../app.py",
                                  "/assets/..%2f..%2fdashboard%2fapp.py",
                                  "/_dash-component-suites/dash/../../../etc/passwd",
                                  "/_dash-component-suites/dash/..%2f..%2f..%2fetc%2fpasswd"])
def test_static_routes_serve_nothing_outside_their_directory(app, path):  # noqa: F811
    with as_served(app) as client:
        response = client.get(path)
    text = response.get_data(as_text=True)
    assert response.status_code in (400, 404, 500), (response.status_code, text[:200])  # 500: Dash refuses it
    assert "root:" not in text and "import " not in text and "Traceback" not in text


# --------------------------------------------------------------------------
# Secrets only from the environment
# --------------------------------------------------------------------------

SECRET_LITERALS = [
    re.compile(r"AKIA[0-9A-Z]{16}"),                                   # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)\b(secret|password|passwd|token|api_key)\w*\s*[:=]\s*['\"][^'\"\s]{8,}['\"]"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}"),                          # GitHub tokens
    re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}"),                        # Slack tokens
]


def repository_text_files():
    skip = {".git", ".venv", "data", ".cache", ".pytest_cache", ".hypothesis", ".ruff_cache", "__pycache__"}
    for path in sorted(ROOT.rglob("*")):
        if path.is_file() and not skip & set(path.relative_to(ROOT).parts) and path.stat().st_size < 1_000_000 \
                and path.suffix in {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".json",
                                    ".sh", ".env", ""}:
            yield path


def test_no_credential_is_written_into_the_repository():
    found = []
    for path in repository_text_files():
        if path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)[:40]}" for pattern in SECRET_LITERALS
                  for m in pattern.finditer(text)]
    assert found == []


def test_a_secret_key_if_set_comes_from_the_environment():
    found = []
    for path in SOURCES:
        for node in ast.walk(tree(path)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                name = ast.unparse(target)
                if re.search(r"(?i)secret|password|token", name):
                    source = ast.unparse(node.value) if node.value is not None else ""
                    if "environ" not in source and "getenv" not in source:
                        found.append(f"{where(path, node)}: {name} = {source[:60]}")
    assert found == []
