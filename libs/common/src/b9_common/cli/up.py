"""`b9 up`: embedded NATS + PostgreSQL when none is configured, migrations, every service.

Ports: 4222/5432/8000 may be taken on a developer machine, so embedded servers and the
gateway get free loopback ports, remembered in <data dir>/stack.json and reused by the next
`b9 up` when still free. Ctrl-C (or SIGTERM) stops the services (they drain), then the
embedded servers; nothing is left running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import BinaryIO

import aiohttp
import asyncpg
import nats
from rich.console import Console
from rich.table import Table

from b9_common.cli.settings import (
    DEFAULT_UA,
    CliSettings,
    StackFile,
    child_environment,
    read_stack,
    write_stack,
)
from b9_common.cli.users_cmd import ensure_bootstrap_admin
from b9_common.db import migrate
from b9_common.embedded import MIN_NATS, EmbeddedNats, EmbeddedPostgres, nats_version, version_tuple
from b9_common.metrics import free_port
from b9_common.topology import Topology

log = logging.getLogger("b9.up")
console = Console(stderr=True)
ORDER = ["persistence", "categorizer", "media", "reddit-scraper", "instagram-scraper", "gateway"]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    if port <= 0:
        return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int, remembered: int, host: str = "127.0.0.1") -> int:
    for p in (remembered, preferred):
        if port_free(p, host):
            return p
    return free_port(host)


def available_services() -> dict[str, str]:
    """Services whose package is installed and importable: name -> console script."""
    found: dict[str, str] = {}
    for ep in entry_points(group="b9.services"):
        try:
            ep.load()
        except Exception as exc:  # not built yet, or broken: say so and go on
            console.print(f"[yellow]service {ep.name} not started: {type(exc).__name__}: {exc}[/]")
            continue
        found[ep.name] = f"b9-{ep.name}"
    return {n: found[n] for n in sorted(found, key=lambda n: ORDER.index(n) if n in ORDER else 99)}


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started: float = 0.0
    log_path: Path = field(default_factory=Path)


class Stack:
    def __init__(self, s: CliSettings) -> None:
        self.s = s
        self.data = s.data_dir
        self.nats: EmbeddedNats | None = None
        self.pg: EmbeddedPostgres | None = None
        self.children: list[Child] = []
        self.stopping = False

    async def start_backends(self, previous: StackFile | None) -> StackFile:
        self.data.mkdir(parents=True, exist_ok=True)
        stack = StackFile(pid=os.getpid())
        if self.s.nats_url:
            version = await nats_version(self.s.nats_url.split(",")[0], timeout=3)
            if version is None:
                raise SystemExit(f"b9 up: NATS_URL: nothing answers at {self.s.nats_url}")
            if version_tuple(version) < MIN_NATS:
                raise SystemExit(f"b9 up: NATS_URL: server {version} is older than 2.10; unset NATS_URL "
                                 "to use the embedded one")
            stack.nats_url = self.s.nats_url
        else:
            port = pick_port(4222, previous.nats_port if previous else 0)
            self.nats = EmbeddedNats(self.data / "nats", port=port)
            await asyncio.to_thread(self.nats.start)
            stack.nats_url, stack.nats_port = self.nats.url, port
        nc = await nats.connect(stack.nats_url, connect_timeout=5)
        try:
            topology = Topology(namespace=self.s.b9_namespace, replicas=self.s.stream_replicas)
            await topology.provision(nc.jetstream())
            await ensure_bootstrap_admin(nc.jetstream(), topology, self.data)  # the `admin` account, key in .b9/
        finally:
            await nc.close()
        if self.s.database_url:
            stack.database_url = self.s.database_url
        else:
            self.pg = EmbeddedPostgres(self.data / "pg", cleanup="stop")
            stack.database_url = await asyncio.to_thread(self.pg.start)
        conn = await asyncpg.connect(stack.database_url, timeout=15)
        try:
            applied = await migrate(conn)
        finally:
            await conn.close()
        if applied:
            console.print(f"migrations applied: {', '.join(applied)}")
        stack.media_store_url = self.s.media_store_url or f"file://{self.data / 'media'}"
        stack.gateway_port = self.s.gateway_port or pick_port(8000, previous.gateway_port if previous else 0,
                                                              self.s.gateway_host)
        stack.gateway_url = f"http://{self.s.gateway_host}:{stack.gateway_port}"
        return stack

    def api_key(self) -> str:
        if self.s.gateway_api_key:
            return self.s.gateway_api_key
        path = self.data / "gateway-api-key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def plan(self, stack: StackFile, services: dict[str, str], key: str) -> None:
        bindir = Path(sys.executable).parent
        base = child_environment()
        base.update({
            "NATS_URL": stack.nats_url, "DATABASE_URL": stack.database_url,
            "MEDIA_STORE_URL": stack.media_store_url, "GATEWAY_PORT": str(stack.gateway_port),
            "GATEWAY_HOST": self.s.gateway_host, "GATEWAY_API_KEY": key,
            "REDDIT_USER_AGENT": self.s.reddit_user_agent or DEFAULT_UA,
            "LOG_LEVEL": self.s.log_level, "PYTHONUNBUFFERED": "1",
        })
        logs = self.data / "logs"
        logs.mkdir(exist_ok=True)
        for name in sorted(services, key=lambda n: ORDER.index(n) if n in ORDER else 99):
            port = free_port()
            stack.metrics_ports[name] = port
            env = dict(base, METRICS_PORT=str(port), REPLICA_ID=f"{socket.gethostname()}-{name}-1")
            script = bindir / services[name]
            argv = [str(script)] if script.exists() else [sys.executable, "-m", f"b9_{name.replace('-', '_')}.main"]
            self.children.append(Child(name, argv, env, log_path=logs / f"{name}.log"))

    async def spawn(self, child: Child) -> None:
        out = _open_log(child.log_path)
        child.proc = await asyncio.create_subprocess_exec(*child.argv, env=child.env, stdout=out,
                                                          stderr=out, start_new_session=True)
        out.close()
        child.started = time.monotonic()

    async def supervise(self) -> None:
        """Restart a service that dies (not one that refused its configuration: exit code 2)."""
        while not self.stopping:
            await asyncio.sleep(0.5)
            for child in self.children:
                proc = child.proc
                if self.stopping or proc is None or proc.returncode is None:
                    continue
                if proc.returncode == 2:
                    console.print(f"[red]{child.name} refused its configuration; see {child.log_path}[/]")
                    child.proc = None
                    continue
                child.restarts += 1
                delay = min(30, 2 ** min(child.restarts, 5))
                console.print(f"[yellow]{child.name} exited ({proc.returncode}); restarting in {delay}s[/]")
                child.proc = None
                await asyncio.sleep(delay)
                if not self.stopping:
                    await self.spawn(child)

    async def stop_children(self, grace: float = 25.0) -> None:
        self.stopping = True
        running = [c.proc for c in self.children if c.proc and c.proc.returncode is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        if running:
            await asyncio.wait([asyncio.create_task(p.wait()) for p in running], timeout=grace)
            for proc in running:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    def stop_backends(self) -> None:
        if self.nats:
            self.nats.stop()
        if self.pg:
            self.pg.stop()


def _open_log(path: Path) -> BinaryIO:
    return path.open("ab")  # handed to the child process, closed by the caller


async def wait_ready(url: str, timeout: float = 60.0) -> dict[str, object] | None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{url}/ready", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status == 200:
                        body: dict[str, object] = await resp.json()
                        return body
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.5)
    return None


def summary(stack: StackFile, services: dict[str, str], key: str, data: Path) -> Table:
    t = Table(title="b9 is up", show_header=False)
    t.add_row("dashboard + API", stack.gateway_url)
    t.add_row("API key", key)
    t.add_row("NATS", stack.nats_url)
    t.add_row("PostgreSQL", stack.database_url)
    t.add_row("media", stack.media_store_url)
    t.add_row("services", ", ".join(services) or "none")
    t.add_row("metrics", ", ".join(f"{n}:{p}" for n, p in stack.metrics_ports.items()))
    t.add_row("logs", str(data / "logs"))
    return t


async def up(s: CliSettings) -> int:
    stack_obj = Stack(s)
    previous = read_stack(s.data_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        stack = await stack_obj.start_backends(previous)
        services = available_services()
        key = stack_obj.api_key()
        stack_obj.plan(stack, services, key)
        write_stack(s.data_dir, stack)
        for child in stack_obj.children:
            await stack_obj.spawn(child)
        supervisor = asyncio.create_task(stack_obj.supervise())
        if "gateway" in services:
            ready = await wait_ready(stack.gateway_url)
            console.print(f"/ready: {ready}" if ready else "[red]gateway not ready after 60 s[/]")
        console.print(summary(stack, services, key, s.data_dir))
        console.print("Ctrl-C stops everything.")
        await stop.wait()
        console.print("stopping...")
        supervisor.cancel()
        await stack_obj.stop_children()
        return 0
    finally:
        await stack_obj.stop_children(grace=5)
        await asyncio.to_thread(stack_obj.stop_backends)
        console.print("stopped.")
