"""How the CLI reaches the stack `b9 up` runs: at once, or one line saying why not.

Every verb that needs NATS connects through ``connect_cli``: no stack file, no live `b9 up`
holding the data dir's lock, or a NATS that refuses all end in ``NotRunning`` within a few
seconds (nats-py alone retries a refused server forever, logging a traceback per attempt).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client as NATS

from b9_common.cli.settings import CliSettings, NotRunning, effective_nats_url, redact


async def tcp_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether anything accepts a TCP connection at a ``nats://host:port`` URL."""
    parts = urlsplit(url.strip())
    host, port = parts.hostname or "127.0.0.1", parts.port or 4222
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _quiet(exc: Exception) -> None:
    """nats-py's default error callback logs a traceback per failed attempt: say nothing."""


async def connect_cli(cli: CliSettings, timeout: float = 3.0) -> NATS:
    """A NATS connection as the CLI's user (the admin of the running stack, or NATS_URL's)."""
    url = effective_nats_url(cli)
    servers = [u.strip() for u in url.split(",") if u.strip()]
    answers = await asyncio.gather(*(tcp_answers(u) for u in servers))
    if not any(answers):
        raise NotRunning(f"NATS at {redact(url)} refuses connections")
    try:
        return await asyncio.wait_for(
            nats.connect(servers=servers, connect_timeout=timeout, allow_reconnect=False,
                         max_reconnect_attempts=1, reconnect_time_wait=0.1, error_cb=_quiet),
            timeout + 0.5)
    except (Exception, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise NotRunning(f"NATS at {redact(url)}: {reason}") from exc


@contextlib.asynccontextmanager
async def cli_nats(cli: CliSettings, timeout: float = 3.0) -> AsyncIterator[NATS]:
    nc = await connect_cli(cli, timeout)
    try:
        yield nc
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def ensure_reachable(cli: CliSettings) -> None:
    """Raise NotRunning unless the stack's NATS accepts the CLI (for verbs that connect later)."""
    async with cli_nats(cli):
        pass
