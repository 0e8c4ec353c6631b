"""Worker processes (the real console scripts) and the servers the chaos driver restarts.

``Workers`` starts ``b9-persistence``, ``b9-categorizer`` and ``b9-media`` as subprocesses,
each in its own process group (SIGKILL takes media's image workers with it), restarts any
that exit on their own (like ``b9 up`` does) and records those exits.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import asyncpg
import nats
from aiohttp import web
from b9_common.embedded import EmbeddedNats, EmbeddedPostgres
from nats.js.errors import NotFoundError
from PIL import Image

log = logging.getLogger("chaos")
BIN = Path(sys.executable).parent
WORKERS = ("persistence", "categorizer", "media")
# (stream, durable) of every consumer that must be drained before the tables are compared.
CONSUMERS = (("SCRAPE", "persistence"), ("DERIVED", "persistence"), ("DECISIONS", "persistence"),
             ("SCRAPE", "categorizer"), ("SCRAPE", "media"))


@dataclass
class Workers:
    namespace: str
    nats_url: str
    database_url: str
    root: Path
    media_base: str
    procs: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    kills: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    _watch: asyncio.Task[None] | None = None

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "B9_", "MEDIA_"))}
        env.update(
            NATS_URL=self.nats_url, DATABASE_URL=self.database_url, B9_NAMESPACE=self.namespace,
            METRICS_PORT="-1", LOG_LEVEL="INFO", REPLICA_ID=f"chaos-{name}", PYTHONUNBUFFERED="1",
            MEDIA_STORE_URL=(self.root / f"media-{self.namespace}").as_uri(),
            MEDIA_ALLOWED_HOSTS="127.0.0.1", MEDIA_ALLOW_HTTP="true",
            MEDIA_ALLOWED_NETWORKS="127.0.0.1/32", MEDIA_IMAGE_WORKERS="1",
        )
        return env

    async def spawn(self, name: str) -> None:
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / f"{self.namespace}-{name}.log", "ab")  # noqa: SIM115 - the child's
        self.procs[name] = await asyncio.create_subprocess_exec(
            str(BIN / f"b9-{name}"), env=self.env(name), stdout=out, stderr=out, start_new_session=True)
        out.close()

    async def start(self) -> None:
        for name in WORKERS:
            await self.spawn(name)
        self._watch = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for name, proc in list(self.procs.items()):
                if proc.returncode is not None and self.procs.get(name) is proc:
                    self.unexpected.append(f"{name} exited with {proc.returncode}")
                    log.warning("chaos: %s exited on its own (%s); restarting", name, proc.returncode)
                    await self.spawn(name)

    async def kill(self, name: str, restart_after: float) -> None:
        """SIGKILL the worker's whole process group, then start it again."""
        proc = self.procs.pop(name)  # the supervisor must not count this exit
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await proc.wait()
        self.kills[name] = self.kills.get(name, 0) + 1
        await asyncio.sleep(restart_after)
        await self.spawn(name)

    async def stop(self) -> None:
        if self._watch:
            self._watch.cancel()
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        self.procs.clear()

    def log_tail(self, chars: int = 3000) -> str:
        parts = []
        for name in WORKERS:
            path = self.root / "logs" / f"{self.namespace}-{name}.log"
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)


async def wait_drained(nats_url: str, namespace: str, timeout: float, stable: float = 3.0) -> dict[str, int]:
    """Wait until every consumer has nothing pending or unacked and DERIVED stops growing."""
    nc = await nats.connect(nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5)
    js = nc.jetstream()
    deadline = time.monotonic() + timeout
    state: dict[str, int] = {}
    quiet_since: float | None = None
    last_derived = -1
    try:
        while time.monotonic() < deadline:
            try:
                state = {}
                for stream, durable in CONSUMERS:
                    info = await js.consumer_info(f"{namespace}_{stream}", durable)
                    state[f"{durable}@{stream}"] = info.num_pending + info.num_ack_pending
                derived = (await js.stream_info(f"{namespace}_DERIVED")).state.last_seq
            except (NotFoundError, nats.errors.Error, TimeoutError):
                quiet_since = None
                await asyncio.sleep(1.0)
                continue
            busy = any(state.values()) or derived != last_derived
            last_derived = derived
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= stable:
                return state
            await asyncio.sleep(1.0)
    finally:
        await nc.close()
    raise TimeoutError(f"consumers not drained after {timeout:.0f}s: {state}")


class Servers:
    """nats-server and PostgreSQL of the test's own, restartable on the same port / data dir."""

    def __init__(self, root: Path) -> None:
        self.nats = EmbeddedNats(root / "nats")
        self.pg = EmbeddedPostgres(root / "pg", cleanup="stop")
        self.pg_url = ""

    async def start(self) -> None:
        await asyncio.to_thread(self.nats.start)
        self.pg_url = await asyncio.to_thread(self.pg.start)
        await self._pg_answers()

    async def connect(self, url: str | None = None) -> asyncpg.Connection:
        """A connection to the test's PostgreSQL, with short timeouts (see ``_pg_answers``)."""
        for attempt in range(3):
            try:
                return await asyncpg.connect(url or self.pg_url, timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                if attempt == 1:
                    await self._pg_answers(restart_first=True)
                else:
                    await asyncio.sleep(1)
        return await asyncpg.connect(url or self.pg_url, timeout=10)

    async def _pg_answers(self, restart_first: bool = False) -> None:
        """The embedded server has been seen (once in many runs) to accept the socket but not
        answer the first connection: check it answers, restarting it once if it does not."""
        if restart_first:
            await asyncio.to_thread(self.pg.stop)
            self.pg_url = await asyncio.to_thread(self.pg.start)
        for attempt in range(2):
            for _ in range(5):
                try:
                    conn = await asyncpg.connect(self.pg_url, timeout=5)
                except (OSError, asyncpg.PostgresError, TimeoutError):
                    await asyncio.sleep(0.5)
                    continue
                await conn.close()
                return
            if attempt == 0:
                await asyncio.to_thread(self.pg.stop)
                self.pg_url = await asyncio.to_thread(self.pg.start)
        raise RuntimeError(f"embedded PostgreSQL at {self.pg_url} does not answer")

    async def restart_nats(self, down: float = 1.0) -> None:
        await asyncio.to_thread(self.nats.stop)
        await asyncio.sleep(down)
        await asyncio.to_thread(self.nats.start)

    async def restart_pg(self, down: float = 1.0) -> None:
        await asyncio.to_thread(self.pg.stop)
        await asyncio.sleep(down)
        url = await asyncio.to_thread(self.pg.start)
        assert url == self.pg_url, (url, self.pg_url)
        await self._pg_answers()

    async def stop(self) -> None:
        await asyncio.to_thread(self.nats.stop)
        await asyncio.to_thread(self.pg.stop)


async def media_origin() -> tuple[web.AppRunner, str]:
    """Loopback image origin: ``/img/<name>.jpg`` is a small JPEG whose colour depends on the name."""

    async def image(request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)  # a real origin takes a while: media has work in flight to cut
        name = request.match_info["name"]
        d = hashlib.md5(name.encode()).digest()
        img = Image.new("RGB", (64 + d[3] % 64, 48 + d[4] % 64), (d[0], d[1], d[2]))
        buf = BytesIO()
        img.save(buf, "JPEG", quality=90)
        return web.Response(body=buf.getvalue(), content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/img/{name}", image)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
