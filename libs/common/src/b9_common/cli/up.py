"""`b9 up`: embedded NATS + PostgreSQL when none is configured, migrations, every service.

One `b9 up` per data dir (an exclusive lock, see up_lock). Ports: 4222/5432/8000 may be taken
on a developer machine, so the embedded NATS and the gateway get free loopback ports,
remembered in <data dir>/stack.json and reused by the next `b9 up` when still free. The table
is printed once every service is ready; a service refusing its configuration stops the start.
The embedded servers are watched and restarted on the same port and data (up_backends), the
services too (up_procs). A loopback port is reserved for `b9 seed`'s media origin (stack.json
``seed_media_port``, kept across restarts when free); the media service is started with exactly
that origin in ``MEDIA_ALLOWED_ORIGINS`` (http, 127.0.0.1, that port: nothing else on loopback).
Ctrl-C (or SIGTERM) stops the services (they drain), then the servers;
if `b9 up` dies outright, the kernel stops its children (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

import asyncpg
import nats

from b9_common.cli.settings import CliSettings, StackFile, child_environment, read_stack, write_stack
from b9_common.cli.up_backends import NatsBackend, PostgresBackend, load_or_make_passwords, stop_orphans
from b9_common.cli.up_env import ensure_reader, env_for, reader_url
from b9_common.cli.up_lock import AlreadyRunning, acquire, release
from b9_common.cli.up_procs import Child, Services, available_services, console, pick_port, say
from b9_common.cli.up_ready import summary, wait_ready
from b9_common.db import migrate
from b9_common.embedded import MIN_NATS, nats_version, version_tuple
from b9_common.jetstream.topology import Topology
from b9_common.ops.metrics import free_port

log = logging.getLogger("b9.up")
API_KEY_FILE = "gateway-api-key"
WEBHOOK_SECRET_FILE = "alert-webhook-secret"  # the key webhook receivers check X-B9-Signature with


class Stack:
    def __init__(self, s: CliSettings) -> None:
        self.s = s
        self.data = s.data_dir
        self.topology = Topology(namespace=s.b9_namespace, replicas=s.stream_replicas,
                                 scrape_max_age_days=s.facts_max_age_days)
        self.nats: NatsBackend | None = None
        self.pg: PostgresBackend | None = None
        self.services = Services()
        self.stopping = asyncio.Event()
        self.watchers: list[asyncio.Task[None]] = []
        self.gateway_database_url = ""  # a read-only role's URL (up_env)

    async def start_backends(self, previous: StackFile | None) -> StackFile:
        stack = StackFile(pid=os.getpid())
        if not self.s.nats_url or not self.s.database_url:
            left = await asyncio.to_thread(stop_orphans, self.data)
            if left:
                say(f"stopped {len(left)} server process(es) left on {self.data} by an earlier b9 up")
        if self.s.nats_url:
            await self._check_external_nats()
            stack.nats_url = self.s.nats_url
        else:
            passwords = load_or_make_passwords(self.data)
            port = pick_port(4222, previous.nats_port if previous else 0)
            self.nats = NatsBackend(self.data, port, passwords, self.topology)
            await self.nats.start()
            stack.nats_url, stack.nats_port = self.nats.url, port
            stack.nats_auth_file = str(self.data / "nats-auth.json")
        await self.provision(self.admin_nats_url(stack))
        if self.s.database_url:
            stack.database_url = self.s.database_url
        else:
            self.pg = PostgresBackend(self.data)
            await asyncio.to_thread(self.pg.prepare)
            await self.pg.start()
            stack.database_url = self.pg.url
        conn = await asyncpg.connect(stack.database_url, timeout=15)
        try:
            applied = await migrate(conn)
            if self.pg is not None:
                await ensure_reader(conn)
                self.gateway_database_url = reader_url(stack.database_url)
        finally:
            await conn.close()
        if applied:
            console.print(f"migrations applied: {', '.join(applied)}")
        for backend in (self.nats, self.pg):
            if backend is not None:
                self.watchers.append(asyncio.create_task(backend.watch(self.stopping)))
        stack.media_store_url = self.s.media_store_url or f"file://{self.data / 'media'}"
        stack.gateway_port = self.s.gateway_port or pick_port(8000, previous.gateway_port if previous else 0,
                                                              self.s.gateway_host)
        stack.gateway_url = f"http://{self.s.gateway_host}:{stack.gateway_port}"
        stack.seed_media_port = pick_port(0, previous.seed_media_port if previous else 0)
        return stack

    async def _check_external_nats(self) -> None:
        version = await nats_version(self.s.nats_url.split(",")[0], timeout=3)
        if version is None:
            raise SystemExit(f"b9 up: NATS_URL: nothing answers at {self.s.nats_url}")
        if version_tuple(version) < MIN_NATS:
            raise SystemExit(f"b9 up: NATS_URL: server {version} is older than 2.10; unset NATS_URL "
                             "to use the embedded one")

    def admin_nats_url(self, stack: StackFile) -> str:
        return self.nats.url_for("admin") if self.nats else stack.nats_url

    def service_nats_url(self, name: str, stack: StackFile) -> str:
        """Each service connects as its own NATS user (only its own password in its environment)."""
        if self.nats and name in self.nats.passwords:
            return self.nats.url_for(name)
        return stack.nats_url

    async def provision(self, url: str) -> None:
        """Streams and buckets, then first-start setup that needs them (as the NATS admin)."""
        from b9_common.cli.users_cmd import ensure_bootstrap_admin

        nc = await nats.connect(url, connect_timeout=5)
        try:
            await self.topology.provision(nc.jetstream())
            await ensure_bootstrap_admin(nc.jetstream(), self.topology, self.data)  # the `admin` account
        finally:
            await nc.close()

    def api_key(self) -> tuple[str, str]:
        """The gateway's bootstrap key and where it comes from (never printed)."""
        if self.s.gateway_api_key:
            return self.s.gateway_api_key, "GATEWAY_API_KEY (environment)"
        path = self.data / API_KEY_FILE
        return _kept_secret(path), str(path)

    def webhook_secret(self) -> str:
        """The alerts service's webhook signing key: ALERT_WEBHOOK_SECRET, else one made once in the data dir."""
        return self.s.alert_webhook_secret or _kept_secret(self.data / WEBHOOK_SECRET_FILE)

    def plan(self, stack: StackFile, services: dict[str, str], key: str) -> None:
        bindir = Path(sys.executable).parent
        parent = child_environment()
        base = dict(parent)
        base.update({
            "DATABASE_URL": stack.database_url, "MEDIA_STORE_URL": stack.media_store_url,
            "GATEWAY_PORT": str(stack.gateway_port), "GATEWAY_HOST": self.s.gateway_host,
            "REDDIT_USER_AGENT": self.s.reddit_user_agent or "", "LOG_LEVEL": self.s.log_level,
            "PYTHONUNBUFFERED": "1",
        })
        if not base["REDDIT_USER_AGENT"]:
            from b9_common.cli.settings import DEFAULT_UA

            base["REDDIT_USER_AGENT"] = DEFAULT_UA
        logs = self.data / "logs"
        logs.mkdir(exist_ok=True)
        for name in services:
            port = free_port()
            stack.metrics_ports[name] = port
            env = dict(env_for(name, base), NATS_URL=self.service_nats_url(name, stack), METRICS_PORT=str(port),
                       REPLICA_ID=f"{socket.gethostname()}-{name}-1")
            if name == "gateway":  # no other service's secrets (up_env), a read-only database role
                env["GATEWAY_API_KEY"] = key
                env["DATABASE_URL"] = (self.gateway_database_url or parent.get("GATEWAY_DATABASE_URL")
                                       or stack.database_url)
            if name == "alerts":  # signs webhook deliveries (X-B9-Signature)
                env["ALERT_WEBHOOK_SECRET"] = self.webhook_secret()
            if name == "media":  # `b9 seed`'s media origin, and only it, over http on loopback
                env["MEDIA_ALLOWED_ORIGINS"] = seed_origin(base.get("MEDIA_ALLOWED_ORIGINS", ""), stack)
            script = bindir / services[name]
            argv = [str(script)] if script.exists() else [sys.executable, "-m", f"b9_{name.replace('-', '_')}.main"]
            self.services.children.append(Child(name, argv, env, log_path=logs / f"{name}.log"))

    async def stop(self) -> None:
        self.stopping.set()
        await self.services.stop()
        for task in self.watchers:
            task.cancel()
        await asyncio.gather(*self.watchers, return_exceptions=True)
        for backend in (self.nats, self.pg):
            if backend is not None:
                await backend.stop()


def seed_origin(configured: str, stack: StackFile) -> str:
    """MEDIA_ALLOWED_ORIGINS for the media service: what is configured plus the seed's origin."""
    return ",".join(o for o in (configured, f"http://127.0.0.1:{stack.seed_media_port}") if o)


def _kept_secret(path: Path) -> str:
    """The secret in ``path``, made (random, mode 0600) by the first `b9 up` that needs it."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


async def up(s: CliSettings) -> int:
    try:
        lock = await acquire(s.data_dir)
    except AlreadyRunning:
        running = read_stack(s.data_dir)
        where = running.gateway_url if running and running.gateway_url else f"(starting; data in {s.data_dir})"
        sys.stderr.write(f"b9 is already running here: {where}\n")
        return 1
    _log_to_file(s.data_dir / "logs" / "b9-up.log")
    try:
        return await _up(s)
    finally:
        release(lock)


def _log_to_file(path: Path) -> None:
    """What `b9 up` says on the terminal (starts, restarts, refusals) also goes to its log file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


async def _up(s: CliSettings) -> int:
    stack_obj = Stack(s)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        starting = asyncio.ensure_future(stack_obj.start_backends(read_stack(s.data_dir)))
        await asyncio.wait([starting, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # Ctrl-C while starting: let what was started be stopped below
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            return 130
        stack = starting.result()
        services = available_services()
        key, key_source = stack_obj.api_key()
        stack_obj.plan(stack, services, key)
        stack.api_key_file = key_source
        write_stack(s.data_dir, stack)
        await stack_obj.services.start_all()
        supervisor = asyncio.create_task(stack_obj.services.supervise())
        status = await wait_ready(stack_obj, stack, stop, s.up_ready_timeout)
        if status != 0:
            return status
        console.print(summary(stack, services, key_source, s.data_dir))
        console.print("Ctrl-C stops everything.")
        await stop.wait()
        console.print("stopping...")
        supervisor.cancel()
        return 0
    finally:
        await stack_obj.stop()
        console.print("stopped.")
