"""docker-compose.yml and the Dockerfile, checked without a container engine (none runs here):
every command they run is a ``kartoteka`` command that parses, every ``KARTOTEKA_*`` variable is
a setting, every published port is the API's port, every volume and dependency is declared, and
the image installs the Debian packages scripts/bootstrap.sh installs, but for the servers."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.settings import Settings, load_settings
from ingest.errors import ConfigurationError
from workers import cli

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
#: What the image leaves out of bootstrap.sh's packages: the servers run in their own containers,
#: the browser is for the UI tests. Anything else bootstrap.sh installs, the image installs.
NOT_IN_IMAGE = {"postgresql", "redis-server", "rabbitmq-server", "chromium"}
APP_SERVICES = {"watch", "worker", "serve"}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` and ``${VAR}`` as an unset variable gives them."""
    return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): interpolate(str(v)) for k, v in env.items()}


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(w) for w in command]


def kartoteka_commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of every kartoteka command compose runs: the app services' ``command`` (the
    image's entrypoint is ``kartoteka``) and health checks that call ``kartoteka``."""
    found = []
    for name, service in services().items():
        if name in APP_SERVICES:
            found.append((f"{name}: command", argv(service["command"])))
        test = (service.get("healthcheck") or {}).get("test") or []
        words = argv(test[1:] if isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") else test)
        if words and words[0] == "kartoteka":
            found.append((f"{name}: healthcheck", words[1:]))
    return found


def test_the_app_services_are_there_and_run_the_image() -> None:
    assert APP_SERVICES | {"postgres", "elasticsearch", "redis", "rabbitmq"} <= set(services())
    assert compose()["services"]["rabbitmq"]["profiles"] == ["rabbitmq"]
    for name in APP_SERVICES:
        assert services()[name]["build"] == ".", name
    assert 'ENTRYPOINT ["kartoteka"]' in DOCKERFILE.read_text(encoding="utf-8")
    worker = argv(services()["worker"]["command"])
    assert worker[:3] == ["worker", "--queues", "ocr,archive"]
    # the metrics port the worker serves is the one it exposes to the compose network
    assert services()["worker"]["expose"] == [worker[worker.index("--metrics-port") + 1]]
    assert "ports" not in services()["worker"] and "container_name" not in services()["worker"]  # --scale worker=N


@pytest.mark.parametrize("where,words", kartoteka_commands(), ids=lambda v: v if isinstance(v, str) else None)
def test_every_command_is_a_kartoteka_command(where: str, words: list[str]) -> None:
    name = words[0]
    if name not in cli.COMMANDS:
        pytest.fail(f"{where}: `kartoteka {name}` is not a command (workers.cli.COMMANDS)")
    try:
        args = cli.build_parser(name).parse_args(words)
    except SystemExit:
        pytest.fail(f"{where}: `kartoteka {shlex.join(words)}` does not parse (see stderr)")
    assert args.command == name


def test_every_kartoteka_variable_is_a_setting() -> None:
    dockerfile_env = dict(re.findall(r"(KARTOTEKA_\w+)=(\S+)", DOCKERFILE.read_text(encoding="utf-8")))
    for name, service in [*services().items(), ("Dockerfile", {"environment": dockerfile_env})]:
        env = environment(service)
        for key, value in env.items():
            if key.startswith("KARTOTEKA_"):
                try:
                    load_settings({"KARTOTEKA_DATA_DIR": "/var/lib/kartoteka", key: value})
                except ConfigurationError as e:
                    pytest.fail(f"{name}: {key}={value!r} is not a Kartoteka setting: {e}")
        if name in APP_SERVICES:
            settings = load_settings(env)
            assert settings.database_url and settings.database_url.startswith("postgresql+psycopg://")
            assert "@postgres:5432/" in settings.database_url
            assert settings.broker_url == "redis://redis:6379/0"
            assert settings.search_url == "http://elasticsearch:9200/kartoteka"
            assert settings.inbox is not None and settings.http_host == "0.0.0.0"


def test_the_check_of_variables_can_fail() -> None:
    with pytest.raises(ConfigurationError, match="brokr_url"):
        load_settings({"KARTOTEKA_DATA_DIR": "/d", "KARTOTEKA_BROKR_URL": "redis://x"})


def _settings(service: dict[str, Any]) -> Settings:
    return load_settings(environment(service))


def test_published_ports_and_health_checks_use_the_api_port() -> None:
    published = 0
    for name, service in services().items():
        if name not in APP_SERVICES:
            continue
        port = _settings(service).http_port
        for mapping in service.get("ports", []):
            container = str(mapping).rsplit(":", 1)[-1].split("/")[0]
            assert int(container) == port, f"{name}: publishes {mapping}, the API listens on {port}"
            published += 1
        test = " ".join(argv((service.get("healthcheck") or {}).get("test") or []))
        for url_port in re.findall(r"https?://(?:127\.0\.0\.1|localhost):(\d+)", test):
            assert int(url_port) == port, f"{name}: health check on {url_port}, the API listens on {port}"
    assert published == 1  # serve
    assert "EXPOSE 8000" in DOCKERFILE.read_text(encoding="utf-8")


def test_every_volume_and_dependency_is_declared() -> None:
    declared = set(compose().get("volumes") or {})
    used = set()
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name}: volume {source!r} is not declared under volumes:"
                used.add(source)
        for dependency in service.get("depends_on") or {}:
            assert dependency in services(), f"{name}: depends on {dependency!r}, which is not a service"
    assert used == declared, f"declared but unused: {declared - used}"
    mounts = {name: services()[name]["volumes"] for name in APP_SERVICES}
    assert all(v == mounts["watch"] for v in mounts.values()), "watch, worker and serve share data and hot folders"


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in services().items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_the_servers_match_what_ci_runs() -> None:
    es_version = re.search(r"^ES_VERSION=(\S+)", (ROOT / "scripts" / "elasticsearch.sh").read_text(), re.M)
    assert es_version is not None
    assert services()["elasticsearch"]["image"].endswith(f"elasticsearch:{es_version.group(1)}")
    assert services()["postgres"]["image"] == "postgres:15"
    es_env = environment(services()["elasticsearch"])
    assert es_env["discovery.type"] == "single-node" and es_env["xpack.security.enabled"] == "false"


# --- the image and bootstrap.sh -----------------------------------------------------------------


def bootstrap_packages() -> list[str]:
    """APT_PACKAGES of scripts/bootstrap.sh, as bash reads the array."""
    script = f"eval \"$(sed -n '/^APT_PACKAGES=(/,/^)/p' {shlex.quote(str(BOOTSTRAP))})\"; printf '%s\\n' \"${{APT_PACKAGES[@]}}\""
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, check=True).stdout
    return out.split()


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    found, buffer = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            buffer += line.rstrip()[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            word, _, rest = buffer.strip().partition(" ")
            found.append((word, rest.strip()))
        buffer = ""
    return found


def test_the_image_installs_what_bootstrap_installs_but_the_servers(tmp_path: Path) -> None:
    """Run the Dockerfile's package step in bash with apt-get replaced by a recorder."""
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "debian:bookworm-slim")  # Debian 12, its python3 3.11, like bootstrap.sh
    skip = dict(re.findall(r'(\w+)="([^"]*)"', " ".join(a for i, a in instructions if i == "ARG")))["BOOTSTRAP_SKIP"]
    assert set(skip.split()) == NOT_IN_IMAGE
    apt_steps = [a for i, a in instructions if i == "RUN" and "apt-get" in a]
    assert len(apt_steps) == 1, "one apt-get step, reading its packages from bootstrap.sh"
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "bootstrap.sh").write_text(BOOTSTRAP.read_text(encoding="utf-8"))
    (tmp_path / "bin").mkdir()
    for tool in ("apt-get", "rm"):  # recorded, not run: nothing is installed or removed here
        recorder = tmp_path / "bin" / tool
        recorder.write_text(f'#!/bin/sh\necho {tool} "$@" >> {tmp_path / "calls.log"}\n')
        recorder.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "BOOTSTRAP_SKIP": skip}
    subprocess.run(["bash", "-euo", "pipefail", "-c", apt_steps[0]], cwd=tmp_path, env=env, check=True, timeout=60)
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[0] == "apt-get update -qq" and calls[-1].startswith("rm -rf /var/lib/apt/lists/"), calls
    installed = [w for w in calls[1].split()[1:] if not w.startswith("-") and w != "install"]
    wanted = bootstrap_packages()
    assert NOT_IN_IMAGE <= set(wanted), f"bootstrap.sh no longer installs {NOT_IN_IMAGE - set(wanted)}: update the Dockerfile"
    assert installed == [p for p in wanted if p not in NOT_IN_IMAGE]
    assert {"tesseract-ocr-kaz", "poppler-utils", "python3-venv"} <= set(installed)


def test_the_image_installs_python_dependencies_as_bootstrap_does() -> None:
    runs = " ".join(a for i, a in dockerfile_instructions() if i == "RUN")
    assert "python3 -m venv .venv" in runs
    assert "pip install" in runs and "-c constraints.txt ." in runs
    assert "-m venv .venv" in BOOTSTRAP.read_text() and "-c constraints.txt" in BOOTSTRAP.read_text()
