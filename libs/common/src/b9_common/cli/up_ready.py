"""`b9 up` is up when every service it started is: a heartbeat from that very process (its pid
in the ``heartbeats`` bucket) and, for the gateway, ``/ready`` answering 200. A service that
refuses its configuration ends the wait at once with its reason."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Protocol

import aiohttp
import msgspec
import nats
from rich.table import Table

from b9_common.cli.settings import StackFile
from b9_common.cli.up_procs import Services, say
from b9_common.jetstream.kv import kv_keys
from b9_common.jetstream.topology import Topology
from b9_common.ops.heartbeat import Beat

CONFIG_REFUSED = 2
INTERRUPTED = 130


async def _quiet(exc: Exception) -> None:
    pass


async def _gateway_ready(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(f"{url}/ready", timeout=aiohttp.ClientTimeout(total=2)) as resp:
            return resp.status == 200
    except (TimeoutError, aiohttp.ClientError):
        return False


async def _beating_pids(kv: nats.js.kv.KeyValue) -> dict[str, set[int]]:
    pids: dict[str, set[int]] = {}
    keys = await kv_keys(kv)
    for key in keys:
        with contextlib.suppress(Exception):
            entry = await kv.get(key)
            beat = msgspec.json.decode(entry.value or b"", type=Beat)
            pids.setdefault(beat.service, set()).add(beat.pid)
    return pids


async def _either(a: asyncio.Event, b: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for w in waits:
        w.cancel()


class Starting(Protocol):
    """What the wait needs of the stack being started (``up.Stack``)."""

    @property
    def services(self) -> Services: ...
    @property
    def data(self) -> Path: ...
    @property
    def topology(self) -> Topology: ...
    def admin_nats_url(self, stack: StackFile) -> str: ...


async def wait_ready(st: Starting, stack: StackFile, stop: asyncio.Event, timeout: float) -> int:
    """0 when all are ready; 2 when one refused its configuration; 1 after ``timeout``; 130 on Ctrl-C."""
    services = st.services
    nc = await nats.connect(st.admin_nats_url(stack), connect_timeout=5, max_reconnect_attempts=-1,
                            reconnect_time_wait=0.5, error_cb=_quiet)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    waiting: list[str] = [c.name for c in services.children]
    try:
        kv = await nc.jetstream(timeout=5).key_value(st.topology.bucket("heartbeats"))
        async with aiohttp.ClientSession() as http:
            while True:
                if services.refused.is_set():
                    for child in services.children:
                        if child.refused:
                            say(f"b9 up: {child.name} refused its configuration, stopping: {child.refused}")
                    return CONFIG_REFUSED
                if stop.is_set():
                    return INTERRUPTED
                pids = await _beating_pids(kv)
                waiting = [c.name for c in services.children
                           if c.proc is None or c.proc.pid not in pids.get(c.name, set())
                           or (c.name == "gateway" and not await _gateway_ready(http, stack.gateway_url))]
                if not waiting:
                    return 0
                if loop.time() > deadline:
                    say(f"b9 up: not ready after {timeout:.0f} s: {', '.join(waiting)}; "
                        f"see {st.data / 'logs'}; stopping")
                    return 1
                await _either(stop, services.refused, 0.5)
    finally:
        await nc.close()


def summary(stack: StackFile, services: dict[str, str], key_source: str, data: Path) -> Table:
    t = Table(title="b9 is up", show_header=False)
    t.add_row("dashboard + API", stack.gateway_url)
    t.add_row("API key (bootstrap)", f"in {key_source}" if key_source.startswith("/") else f"from {key_source}")
    admin_key = data / "admin-api-key"
    if admin_key.exists():
        t.add_row("admin account key", f"in {admin_key}")
    nats_row = stack.nats_url
    if stack.nats_auth_file:
        nats_row += f" (a user per service; passwords in {stack.nats_auth_file}; the b9 CLI is admin)"
    t.add_row("NATS", nats_row)
    t.add_row("PostgreSQL", stack.database_url)
    t.add_row("media", stack.media_store_url)
    t.add_row("services", ", ".join(services) or "none")
    t.add_row("metrics", ", ".join(f"{n}:{p}" for n, p in stack.metrics_ports.items()))
    t.add_row("logs", str(data / "logs"))
    return t
