"""infra/: NATS configs load in nats-server, auth.conf follows the catalogue, compose is whole."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from b9_common.embedded import nats_server_binary

from ._cluster import REPO, USERS, password_env

INFRA = REPO / "infra"
SERVICES = ("reddit-scraper", "instagram-scraper", "categorizer", "media", "persistence", "gateway", "alerts")
CONFS = sorted((INFRA / "nats").glob("nats-*.conf"))


def gen_auth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_auth", INFRA / "nats" / "gen_auth.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_auth"] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return module


def server_env() -> dict[str, str]:
    env = {password_env(u): "pw" + u.replace("-", "") for u in USERS}
    env.update({f"NATS_ROUTE_URL_{i}": f"nats-route://route:pw@nats-{i}:6222" for i in (1, 2, 3)})
    return {**os.environ, **env}


def nats_test(conf: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [nats_server_binary(), "-t", "-c", str(conf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_three_node_configs() -> None:
    assert [c.name for c in CONFS] == ["nats-1.conf", "nats-2.conf", "nats-3.conf"]
    texts = [c.read_text() for c in CONFS]
    for i, text in enumerate(texts, start=1):
        assert f"server_name: nats-{i}\n" in text
        assert re.sub(r"nats-\d", "nats-N", text) == re.sub(r"nats-\d", "nats-N", texts[0])
    assert "jetstream" in texts[0] and "cluster" in texts[0] and "include auth.conf" in texts[0]


@pytest.mark.parametrize("conf", CONFS, ids=lambda p: p.name)
def test_nats_config_is_valid(conf: Path) -> None:
    result = nats_test(conf, server_env())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "is valid" in result.stderr + result.stdout


def test_passwords_come_only_from_the_environment() -> None:
    env = server_env()
    del env["NATS_PERSISTENCE_PASSWORD"]
    result = nats_test(CONFS[0], env)
    assert result.returncode != 0
    assert "NATS_PERSISTENCE_PASSWORD" in result.stderr + result.stdout
    auth = (INFRA / "nats" / "auth.conf").read_text()
    assert re.findall(r"password: (\$\w+)", auth) == [
        f"${password_env(u)}" for u in ("sys", "admin", *gen_auth().ROLES)
    ]


def test_auth_conf_is_generated_from_the_catalogue() -> None:
    module = gen_auth()
    assert (INFRA / "nats" / "auth.conf").read_text() == module.render(), (
        "run: .venv/bin/python infra/nats/gen_auth.py"
    )
    assert set(module.ROLES) == set(SERVICES)
    pub, sub = module.permissions("persistence", module.ROLES["persistence"])
    assert [
        s for s in pub if "." in s and not s.startswith(("$", "dlq."))
    ] == ["b9.decisions.applied"]  # publishes no facts: only the core-NATS "decisions stored" notice
    # it hears only the stop requests of its own replays (b9_common.replay.owner)
    assert "$JS.API.CONSUMER.MSG.NEXT.SCRAPE.*" in pub and sub == ["_INBOX.>", "b9.replay.stop.persistence"]
    # consumers it may delete (a replay's throw-away ones), never a stream, a purge or a message
    assert not [s for s in pub if ("DELETE" in s and ".CONSUMER.DELETE." not in s) or "PURGE" in s
                or s in (">", "$JS.API.>")]


def compose() -> dict[str, Any]:
    data = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_has_the_whole_stack() -> None:
    services = compose()["services"]
    expected = {
        "nats-1",
        "nats-2",
        "nats-3",
        "postgres",
        "minio",
        "minio-init",
        "gateway-lb",
        *SERVICES,
    }
    assert expected <= set(services)
    for name in SERVICES:
        svc = services[name]
        assert svc["command"] == [name]
        # one image per service: the build argument SERVICE picks the package it carries
        assert svc["build"] == {"context": "..", "dockerfile": "infra/Dockerfile", "args": {"SERVICE": name}}
        assert svc["image"] == f"${{B9_IMAGE_PREFIX:-b9}}-{name}:${{B9_TAG:-latest}}"
        var = name.upper().replace("-", "_") + "_REPLICAS"
        assert re.fullmatch(r"\$\{" + var + r":-\d+\}", str(svc["deploy"]["replicas"]))
        assert svc["env_file"][0] == "env/common.env"
        urls = svc["environment"]["NATS_URL"].split(",")
        assert [u.rsplit("@", 1)[1] for u in urls] == ["nats-1:4222", "nats-2:4222", "nats-3:4222"]
        assert all(u.startswith(f"nats://{name}:${{{password_env(name)}") for u in urls)
        assert {"nats-1", "nats-2", "nats-3"} <= set(svc["depends_on"])
    assert services["gateway-lb"]["ports"] == [
        "${GATEWAY_BIND:-127.0.0.1}:${GATEWAY_PUBLISHED_PORT:-8000}:8000"
    ]
    assert "STREAM_REPLICAS=3" in (INFRA / "env" / "common.env.example").read_text().splitlines()


def test_env_files_are_templates_and_real_ones_ignored() -> None:
    services = compose()["services"]
    used = {f for s in services.values() for f in s.get("env_file", [])}
    for f in used:
        assert (INFRA / f"{f}.example").exists(), f
    assert "env/*.env" in (INFRA / ".gitignore").read_text().splitlines()
    for example in (INFRA / "env").glob("*.env.example"):
        for line in example.read_text().splitlines():
            if re.match(r"\w*(PASSWORD|SECRET|API_KEY)=", line):
                assert line.endswith(("=CHANGE_ME", "=")), f"{example.name}: {line}"


def test_image_entry_point_runs_every_service() -> None:
    entry = (INFRA / "entrypoint.sh").read_text()
    assert 'svc="${B9_SERVICE:-}"' in entry and 'exec "b9-$svc" "$@"' in entry
    for name in SERVICES:
        scripts = tomllib.loads((REPO / "services" / name / "pyproject.toml").read_text())[
            "project"
        ]["scripts"]
        assert f"b9-{name}" in scripts
    docker = (INFRA / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in docker and "ARG SERVICE" in docker and "B9_SERVICE=$SERVICE" in docker
    assert 'uv sync --frozen --no-dev --package "b9-$SERVICE" --no-editable' in docker


def _docker_compose_works() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def test_docker_compose_config_where_available(tmp_path: Path) -> None:
    if not _docker_compose_works():  # the one allowed conditional: no `docker compose` here
        return
    work = tmp_path / "infra"
    shutil.copytree(INFRA, work)
    for example in (work / "env").glob("*.env.example"):
        shutil.copy(example, example.with_suffix(""))
    result = subprocess.run(
        ["docker", "compose", "--env-file", "env/stack.env", "config", "-q"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
