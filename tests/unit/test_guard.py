"""The unit tier's guard (conftest.py) refuses servers: a test that reaches for one fails."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import pytest


def test_a_tcp_connection_to_a_server_fails_the_test() -> None:
    for port in (4222, 5432):
        with pytest.raises(pytest.fail.Exception, match=f"a TCP connection to 127.0.0.1:{port}"):
            socket.create_connection(("127.0.0.1", port), timeout=1)


async def test_an_asyncio_connection_fails_too_but_a_listener_of_this_process_answers() -> None:
    with pytest.raises(pytest.fail.Exception, match="a TCP connection"):
        await asyncio.open_connection("127.0.0.1", 4222)
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    writer.close()
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("program", ["nats-server", "postgres", "pg_ctl", "initdb"])
def test_starting_a_server_process_fails_the_test(program: str) -> None:
    with pytest.raises(pytest.fail.Exception, match=f"starting {program}"):
        subprocess.Popen([program, "--version"])
