"""The fast unit tier (``make unit``): handlers and seams through ``b9_common.testing``, no servers.

A guard keeps it that way: a test here that asks for a NATS or PostgreSQL fixture, starts a
nats-server or PostgreSQL process, or opens a TCP connection to anything but a listener this
test process opened itself (the fake NATS server of the contract test, a local HTTP origin)
fails with the reason. The root conftest's server fixtures are overridden to fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import nats
from fake_nats import FakeNats
from nats.aio.client import Client

SERVER_BINARIES = ("nats-server", "postgres", "pg_ctl", "initdb", "pg_ctlcluster")
_listening: set[int] = set()


def _refuse(what: str) -> NoReturn:
    pytest.fail(f"the unit tier runs without servers: {what} (move the test to its area's folder)",
                pytrace=False)


def _server_fixture(name: str) -> Any:
    @pytest.fixture(name=name)
    def fixture() -> NoReturn:
        _refuse(f"a test here asked for the {name} fixture")

    return fixture


# The root conftest's fixtures that start or reach servers, overridden for this folder.
nats_url = _server_fixture("nats_url")
own_nats = _server_fixture("own_nats")
common_settings = _server_fixture("common_settings")
rt = _server_fixture("rt")
pg_admin_url = _server_fixture("pg_admin_url")
template_db = _server_fixture("template_db")
database_url = _server_fixture("database_url")
pool = _server_fixture("pool")


@pytest.fixture(autouse=True)
def no_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse server processes and TCP connections to listeners this process did not open."""
    real_listen, real_connect, real_connect_ex = socket.socket.listen, socket.socket.connect, socket.socket.connect_ex
    real_popen = subprocess.Popen.__init__

    def listen(self: socket.socket, *args: Any) -> None:
        real_listen(self, *args)
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _listening.add(self.getsockname()[1])

    def check(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and self.type == socket.SOCK_STREAM \
                and address[1] not in _listening:
            _refuse(f"a TCP connection to {address[0]}:{address[1]}")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def popen(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        argv = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)
        program = os.path.basename(os.fsdecode(argv[0])) if argv else ""
        if any(program.startswith(name) for name in SERVER_BINARIES):
            _refuse(f"starting {program}")
        real_popen(self, args, *rest, **kw)

    monkeypatch.setattr(socket.socket, "listen", listen)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(subprocess.Popen, "__init__", popen)
    yield


@pytest.fixture
async def loopback() -> AsyncIterator[FakeNats]:
    """A loopback fake NATS server of this test (answering publishes as JetStream would)."""
    server = FakeNats(jetstream=True)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def nc(loopback: FakeNats) -> AsyncIterator[Client]:
    """A real nats-py client connected to ``loopback``."""
    client = await nats.connect(loopback.url, allow_reconnect=False, connect_timeout=2)
    yield client
    await client.close()
