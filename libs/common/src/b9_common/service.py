"""Running a service: one place that assembles its adapters, starts its consumers and drains.

A service package exposes ``SERVICE = ServiceDef(...)``. Its ``bootstrap(settings, rt)``
builds the service's adapters (HTTP sessions, pools, storage) and returns an ``App``:
the consumers with their handlers, the background loops, and what to close at the end.
Nothing connects at import time; ``run(SERVICE)`` does it all in order:

settings (or one line naming the bad variable) -> logging -> NATS -> streams ->
bootstrap -> metrics -> heartbeat -> consumers + loops -> wait for SIGTERM/SIGINT ->
drain consumers -> stop loops -> close adapters -> drain NATS.

Reaching NATS, provisioning the streams and buckets and creating the consumers are retried with
backoff for ``STARTUP_TIMEOUT`` s, binding a bucket (``ensure_kv``) for 30 s (a server that
accepts connections before its JetStream is ready, or restarts meanwhile, only delays the
start); a declaration JetStream refuses for good ends the start at once with one line naming
the setting (exit 2).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import msgspec
import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from b9_common.jetstream.consumer import BatchHandler, Consumer, Handler
from b9_common.jetstream.dlq_requests import DeadLetterReporter
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import ConsumerSpec, ProvisionError, Topology, transient
from b9_common.ops import tracing
from b9_common.ops.heartbeat import Heartbeat
from b9_common.ops.logs import setup_logging
from b9_common.ops.metrics import serve_metrics
from b9_common.ops.requests import open_book
from b9_common.ops.startup import retry_startup
from b9_common.settings import CommonSettings, ConfigError, exit_on_config_error, load_settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The shared adapters every service gets: NATS, JetStream, names, a publisher."""

    nc: NATS
    js: JetStreamContext
    topology: Topology
    publisher: Publisher
    service: str
    replica: str

    async def close(self) -> None:
        if not self.nc.is_closed:
            try:
                await self.nc.drain()
            except Exception:
                await self.nc.close()


@dataclass
class ConsumerDef:
    spec: ConsumerSpec
    handler: Handler | None = None
    batch_handler: BatchHandler | None = None
    batch: int = 256
    concurrency: int = 64
    batch_concurrency: int = 2
    # how long a batch consumer waits to fill a batch (0: hand over at once; people wait on decisions)
    batch_wait: float = 0.02


@dataclass
class App:
    consumers: Sequence[ConsumerDef] = field(default_factory=list)
    loops: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=list)
    closers: Sequence[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    status: Callable[[], dict[str, Any]] | None = None


async def close_adapters(app: App) -> None:
    """Run every closer of a bootstrapped app; one that fails is logged and the others still run."""
    for closer in app.closers:
        try:
            await closer()
        except Exception:
            log.exception("closing an adapter failed")


@dataclass
class ServiceDef:
    name: str
    version: str
    settings_cls: type[Any]
    bootstrap: Callable[[Any, Runtime], Coroutine[Any, Any, App]]


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


def _one_line_errors(service: str, seen: list[str]) -> Callable[[Exception], Awaitable[None]]:
    """nats-py's error callback, one line per distinct error at most every 10 s (no traceback)."""
    last: dict[str, float] = {}

    async def on_error(exc: Exception) -> None:
        text = f"{type(exc).__name__}: {exc}"
        seen[:] = [text]
        now = asyncio.get_running_loop().time()
        if now - last.get(text, -1e9) >= 10.0:
            last[text] = now
            log.warning("nats: %s", text, extra={"service": service})

    return on_error


async def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 4222), 2.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def connect(settings: CommonSettings, service: str, version: str, *,
                  connect_timeout: float | None = None) -> Runtime:
    """Connect to NATS (retrying with backoff for ``STARTUP_TIMEOUT`` s) and provision the topology."""
    servers = [s.strip() for s in settings.nats_url.split(",")]
    replica = settings.replica_id or f"{socket.gethostname()}-{os.getpid()}"

    timeout = connect_timeout if connect_timeout is not None else settings.startup_timeout
    last_error: list[str] = []
    on_error = _one_line_errors(service, last_error)

    async def attempt() -> NATS:
        if not any(await asyncio.gather(*(_answers(s) for s in servers))):
            raise ConnectionRefusedError("nothing accepts connections there")
        # nats-py retries a failing initial connect (refused, wrong password) forever: bound it.
        last_error.clear()
        try:
            return await asyncio.wait_for(nats.connect(
                servers=servers, name=f"{service}@{version}/{replica}", max_reconnect_attempts=-1,
                reconnect_time_wait=0.5, connect_timeout=2, allow_reconnect=True, error_cb=on_error),
                min(10.0, max(3.0, timeout)))
        except TimeoutError:
            raise ConnectionError(last_error[-1] if last_error else "no answer") from None

    nc = await retry_startup(f"NATS_URL: cannot reach {_redact(settings.nats_url)}", attempt, timeout)
    js = nc.jetstream(timeout=10)
    topology = Topology(namespace=settings.b9_namespace, replicas=settings.stream_replicas,
                        scrape_max_age_days=settings.facts_max_age_days)
    try:
        await provision(settings, topology, js, timeout)
    except BaseException:
        await nc.close()
        raise
    publisher = Publisher(js, topology, source=f"{service}@{version}")
    return Runtime(nc=nc, js=js, topology=topology, publisher=publisher, service=service, replica=replica)


async def declare(settings: CommonSettings, what: str, step: Callable[[], Awaitable[Any]],
                  timeout: float) -> None:
    """Run a JetStream declaration, retrying while JetStream is not ready (``transient``); a
    refusal is a ConfigError naming the setting (and its value) to look at."""
    where = _redact(settings.nats_url)
    try:
        await retry_startup(f"NATS_URL: JetStream at {where} not ready for {what} "
                            f"(STREAM_REPLICAS={settings.stream_replicas})", step, timeout,
                            retry_if=transient)
    except ProvisionError as exc:
        value = where if exc.setting == "NATS_URL" else getattr(settings, exc.setting.lower(), "?")
        raise ConfigError(exc.setting, f"{exc} (with {exc.setting}={value})") from None


async def provision(settings: CommonSettings, topology: Topology, js: JetStreamContext,
                    timeout: float) -> None:
    """The streams and shared buckets, as ``declare`` runs them."""
    await declare(settings, "the streams and buckets", lambda: topology.provision(js), timeout)


async def wait_postgres(settings: Any) -> None:
    """A service with a DATABASE_URL waits (bounded by STARTUP_TIMEOUT) for PostgreSQL to answer."""
    url = getattr(settings, "database_url", "")
    if not url:
        return
    import asyncpg

    async def attempt() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        await conn.close()

    where = urlsplit(url)
    shown = f"{where.hostname or ''}{where.path}" + (f"?{where.query}" if where.query else "")
    await retry_startup(f"DATABASE_URL: cannot reach PostgreSQL at {shown}", attempt,
                        getattr(settings, "startup_timeout", 60.0))


def build_consumer(rt: Runtime, cdef: ConsumerDef, **overrides: Any) -> Consumer:
    return Consumer(
        rt.nc, rt.js, rt.topology, overrides.pop("spec", cdef.spec), publisher=rt.publisher,
        handler=cdef.handler, batch_handler=cdef.batch_handler, batch=cdef.batch,
        concurrency=cdef.concurrency, batch_concurrency=cdef.batch_concurrency,
        **{"batch_wait": cdef.batch_wait, **overrides},
    )


async def _consumers(rt: Runtime, app: App) -> tuple[list[Consumer], list[DeadLetterReporter]]:
    """The app's consumers; each of COMMANDS fails the followed request of a command it dead-letters."""
    consumers, reporters = [], []
    book = None
    for c in app.consumers:
        if c.spec.stream != "COMMANDS":
            consumers.append(build_consumer(rt, c))
            continue
        book = book or await open_book(rt.js, rt.topology)
        reporters.append(DeadLetterReporter(book, c.spec.name))
        consumers.append(build_consumer(rt, c, observer=reporters[-1]))
    return consumers, reporters


async def serve(sdef: ServiceDef, settings: Any, *, stop: asyncio.Event | None = None,
                grace: float = 20.0, freeze_heap: bool = False) -> None:
    """Run a service until ``stop`` is set (or SIGTERM/SIGINT arrives), then drain.

    ``freeze_heap`` (the console entry point sets it) moves everything bootstrap allocated
    (modules, adapters, caches) out of the garbage collector's view: full collections then walk
    only what the events allocate (about 20 % of a replay's CPU otherwise, see the categorizer
    README).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    tracing.init(sdef.name, sdef.version, getattr(settings, "otel_exporter_otlp_endpoint", ""))
    rt = await connect(settings, sdef.name, sdef.version)
    try:
        await wait_postgres(settings)
    except ConnectionError:
        await rt.close()
        raise
    app = await sdef.bootstrap(settings, rt)
    port = getattr(settings, "metrics_port", -1)
    try:
        serve_metrics(port, getattr(settings, "metrics_host", "127.0.0.1"))
    except OSError as exc:
        log.warning("metrics endpoint not started: %s", exc)
    heartbeat = Heartbeat(rt, sdef.version, app.status)
    await heartbeat.start()
    consumers, dead_letters = await _consumers(rt, app)
    for c in consumers:
        # created first the way the streams were (a NATS restart only delays it)
        await declare(settings, f"consumer {c.spec.name}", partial(rt.topology.ensure_consumer, rt.js, c.spec),
                      getattr(settings, "startup_timeout", 60.0))
        await c.start()
    loops: list[asyncio.Future[None]] = [asyncio.ensure_future(fn()) for fn in app.loops]
    if freeze_heap:
        gc.collect()
        gc.freeze()
    log.info("service started", extra={"replica": rt.replica, "consumers": len(consumers), "loops": len(loops)})
    waiter: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    pending: list[asyncio.Future[Any]] = [waiter, *loops]
    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    for t in loops:
        if t.done() and not t.cancelled() and t.exception():
            log.error("background loop died", exc_info=t.exception())
    log.info("draining")
    await asyncio.gather(*(c.stop(grace) for c in consumers))
    await asyncio.gather(*(d.drain() for d in dead_letters))
    for t in loops:
        t.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    await heartbeat.stop()
    await close_adapters(app)
    await rt.close()
    waiter.cancel()
    log.info("stopped")


def run(sdef: ServiceDef) -> None:
    """Console entry point body: settings, logging, event loop, serve."""
    with exit_on_config_error(f"b9-{sdef.name}"):
        settings = load_settings(sdef.settings_cls)
    setup_logging(sdef.name, getattr(settings, "log_level", "INFO"))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        with exit_on_config_error(f"b9-{sdef.name}"):  # JetStream refused a declaration
            asyncio.run(serve(sdef, settings, freeze_heap=True))
    except ConnectionError as exc:
        log.error("%s", exc)
        raise SystemExit(1) from None


def settings_to_dict(settings: Any) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(settings)
    return out
