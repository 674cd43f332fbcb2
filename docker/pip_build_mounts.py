"""Print the ``podman build`` volume options that give pip inside the build this machine's pip setup.

    python3 docker/pip_build_mounts.py WORKDIR      # one option per line: -v SRC:DST:ro

pip on this machine may be configured by files (/etc/pip.conf, /etc/xdg/pip, ~/.config/pip,
~/.pip) and by ``PIP_*`` variables to use a particular index, CA bundle, local wheel
directories or constraints. ``pip config list`` gives the merged result; it is written as
one ``pip.conf`` into WORKDIR and mounted at ``/etc/pip.conf`` in the build, together with
every local file or directory the configuration names (same path inside) and the CA bundle.
Nothing is written into the image: volumes of ``podman build`` exist only while a RUN runs.
Standard library only, so it runs with any host python3.
"""
from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
_ENTRY = re.compile(r"^(?P<section>[^.]+)\.(?P<key>[^=]+)='(?P<value>.*)'$")


def merged_pip_config() -> dict[tuple[str, str], str]:
    """``{(section, key): value}`` as pip sees it here; environment variables win over files."""
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    files, env = {}, {}
    for line in out.splitlines():
        match = _ENTRY.match(line.strip())
        if match:
            section, key, value = match["section"], match["key"], match["value"]
            if section == ":env:":
                env[("global", key)] = value
            else:
                files[(section, key)] = value
    return files | env


def local_paths(value: str) -> list[Path]:
    """Existing local paths named by a config value (plain paths and file:// URLs, space-separated)."""
    paths = []
    for word in value.split():
        path = Path(urlparse(word).path) if word.startswith("file:") else Path(word)
        if not path.is_absolute() or not path.exists():
            continue
        # A local "simple" index links to files beside it (../../files/...): mount its parent.
        paths.append(path.parent if path.name == "simple" else path)
    return paths


def ca_bundle(config: dict[tuple[str, str], str]) -> Path | None:
    candidates = [config.get(("global", "cert")), os.environ.get("SSL_CERT_FILE"),
                  os.environ.get("REQUESTS_CA_BUNDLE"), *DEFAULT_CA_BUNDLES]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def mounts(workdir: Path) -> list[str]:
    config = merged_pip_config()
    bundle = ca_bundle(config)
    if bundle is not None:
        config[("global", "cert")] = str(bundle)
    sections: dict[str, dict[str, str]] = {}
    for (section, key), value in config.items():
        sections.setdefault(section, {})[key] = value
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_dict(sections)
    pip_conf = workdir / "pip.conf"
    with open(pip_conf, "w") as handle:
        parser.write(handle)

    sources = {bundle} if bundle else set()
    for value in config.values():
        sources.update(local_paths(value))
    options = [f"-v={pip_conf}:/etc/pip.conf:ro"]
    options += [f"-v={path}:{path}:ro" for path in sorted(sources)]
    return options


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print("\n".join(mounts(Path(sys.argv[1]))))
