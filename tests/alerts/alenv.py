"""What the alerts tests share: a stack (persistence + gateway app + alerts service, in-process, on
the test's own namespace and database) and a real loopback webhook receiver that checks signatures."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import msgspec
from aiohttp import web
from b9_alerts.main import SERVICE as ALERTS
from b9_alerts.settings import Settings as ASettings
from b9_alerts.webhooks import sign
from b9_common.accounts.store import AccountStore
from b9_common.service import Runtime, connect, serve
from b9_gateway.app import create_app
from b9_gateway.deps import Deps, build_deps, build_pool
from b9_gateway.settings import Settings as GSettings
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.settings import Settings as PSettings

API_KEY = "alerts-test-key-0123456789"
SECRET = "s3cret-for-tests"


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1: ``plan`` gives the status of the n-th request (0-based)."""

    plan: Callable[[int], int] = lambda n: 200
    got: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    calls: int = 0
    url: str = ""
    arrived: dict[str, float] = field(default_factory=dict)  # delivery id -> first 2xx (monotonic)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        n, self.calls = self.calls, self.calls + 1
        ts, sig = request.headers.get("X-B9-Timestamp", ""), request.headers.get("X-B9-Signature", "")
        if sig != sign(SECRET, ts, body):
            self.bad_signatures += 1
            return web.Response(status=401)
        status = self.plan(n)
        if status == 200:
            self.got.append({"delivery": request.headers["X-B9-Delivery"], **msgspec.json.decode(body)})
            self.arrived.setdefault(request.headers["X-B9-Delivery"], time.monotonic())
        return web.Response(status=status)

    def entities(self) -> list[str]:
        return [g["notification"]["entity"] for g in self.got if "notification" in g]


@contextlib.asynccontextmanager
async def receiver(plan: Callable[[int], int] = lambda n: 200) -> AsyncIterator[Receiver]:
    rec = Receiver(plan=plan)
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield rec
    finally:
        await runner.cleanup()


@dataclass
class Stack:
    rt: Runtime
    deps: Deps
    pool: asyncpg.Pool
    client: httpx.AsyncClient  # as the admin key
    anon: httpx.AsyncClient
    alerts_settings: ASettings
    stop_alerts: asyncio.Event
    alerts_task: asyncio.Task[None] | None

    async def person(self, name: str, role: str) -> dict[str, str]:
        topo, js = self.rt.topology, self.rt.js
        store = AccountStore(await topo.accounts_kv(js), await topo.sessions_kv(js))
        _, key = await store.add(name, role)
        return {"Authorization": f"Bearer {key}"}

    async def start_alerts(self) -> None:
        self.stop_alerts = asyncio.Event()
        self.alerts_task = asyncio.create_task(serve(ALERTS, self.alerts_settings, stop=self.stop_alerts, grace=1))
        await wait_for(self._alerts_ready, what="the alerts service's consumers")

    async def _alerts_ready(self) -> bool:
        """The consumers exist once bootstrap has subscribed to rule changes and loaded the rules."""
        try:
            await self.rt.js.consumer_info(self.rt.topology.stream("DERIVED"), "alerts-webhooks")
        except Exception:
            return False
        return True

    async def stop_alerts_now(self) -> None:
        if self.alerts_task is not None:
            self.stop_alerts.set()
            await asyncio.wait_for(self.alerts_task, 30)
            self.alerts_task = None


async def wait_for(cond: Callable[[], Any], within: float = 15.0, what: str = "condition") -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        got = cond()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def stack(nats_url: str, namespace: str, database_url: str, *, alerts: bool = True,
                allowed: str = "127.0.0.1", retry_seconds: float = 30.0,
                insights_interval: float = 600.0) -> AsyncIterator[Stack]:
    common = {"nats_url": nats_url, "b9_namespace": namespace, "metrics_port": -1, "database_url": database_url}
    gsettings = GSettings(**common, gateway_api_key=API_KEY, alert_webhook_allowed_hosts=allowed)  # type: ignore[arg-type]
    asettings = ASettings(**common, alert_webhook_allowed_hosts=allowed, alert_webhook_secret=SECRET,  # type: ignore[arg-type]
                          # The product's default: the receiver shares this process's event loop,
                          # and on a loaded machine an answer can take seconds (a shorter timeout
                          # made the sender retry deliveries the receiver had already taken).
                          alert_webhook_retry_seconds=retry_seconds, alert_webhook_timeout=10.0,
                          alerts_insights_interval=insights_interval)
    rt = await connect(gsettings, "alerts-tests", "0")
    await rt.topology.provision(rt.js)
    stop = asyncio.Event()
    persistence = asyncio.create_task(serve(PERSISTENCE, PSettings(**common), stop=stop, grace=1))  # type: ignore[arg-type]
    pool = await build_pool(gsettings)
    deps = await build_deps(gsettings, rt, pool)
    transport = httpx.ASGITransport(app=create_app(gsettings, deps))
    st: Stack | None = None
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://gw",
                              headers={"Authorization": f"Bearer {API_KEY}"}) as client,
            httpx.AsyncClient(transport=transport, base_url="http://gw") as anon,
        ):
            st = Stack(rt, deps, pool, client, anon, asettings, asyncio.Event(), None)
            if alerts:
                await st.start_alerts()
            yield st
    finally:
        stop.set()  # persistence and alerts drain together
        await asyncio.gather(st.stop_alerts_now() if st is not None else asyncio.sleep(0),
                             asyncio.wait_for(persistence, 30), deps.aclose())
        await pool.close()
        await rt.close()
