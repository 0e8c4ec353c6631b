"""Running a service: one place that assembles its adapters, starts its consumers and drains.

A service package exposes ``SERVICE = ServiceDef(...)``. Its ``bootstrap(settings, rt)``
builds the service's adapters (HTTP sessions, pools, storage) and returns an ``App``:
the consumers with their handlers, the background loops, and what to close at the end.
Nothing connects at import time; ``run(SERVICE)`` does it all in order:

settings (or one line naming the bad variable) -> logging -> NATS -> streams ->
bootstrap -> metrics -> heartbeat -> consumers + loops -> wait for SIGTERM/SIGINT ->
drain consumers -> stop loops -> close adapters -> drain NATS.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from b9_common import tracing
from b9_common.consumer import BatchHandler, Consumer, Handler
from b9_common.heartbeat import Heartbeat
from b9_common.logs import setup_logging
from b9_common.metrics import serve_metrics
from b9_common.publisher import Publisher
from b9_common.settings import CommonSettings, exit_on_config_error, load_settings
from b9_common.topology import ConsumerSpec, Topology

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


@dataclass
class ServiceDef:
    name: str
    version: str
    settings_cls: type[Any]
    bootstrap: Callable[[Any, Runtime], Coroutine[Any, Any, App]]


async def connect(settings: CommonSettings, service: str, version: str, *,
                  connect_timeout: float = 30.0) -> Runtime:
    """Connect to NATS (retrying until ``connect_timeout``) and provision the topology."""
    servers = [s.strip() for s in settings.nats_url.split(",")]
    replica = settings.replica_id or f"{socket.gethostname()}-{os.getpid()}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + connect_timeout
    while True:
        try:
            nc = await nats.connect(
                servers=servers, name=f"{service}@{version}/{replica}",
                max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=2,
                allow_reconnect=True,
            )
            break
        except Exception as exc:
            if loop.time() > deadline:
                raise ConnectionError(f"NATS_URL: cannot reach {settings.nats_url}: {exc}") from exc
            await asyncio.sleep(0.5)
    js = nc.jetstream(timeout=10)
    topology = Topology(namespace=settings.b9_namespace, replicas=settings.stream_replicas)
    await topology.provision(js)
    publisher = Publisher(js, topology, source=f"{service}@{version}")
    return Runtime(nc=nc, js=js, topology=topology, publisher=publisher, service=service, replica=replica)


def build_consumer(rt: Runtime, cdef: ConsumerDef, **overrides: Any) -> Consumer:
    return Consumer(
        rt.nc, rt.js, rt.topology, overrides.pop("spec", cdef.spec), publisher=rt.publisher,
        handler=cdef.handler, batch_handler=cdef.batch_handler, batch=cdef.batch,
        concurrency=cdef.concurrency, batch_concurrency=cdef.batch_concurrency,
        **{"batch_wait": cdef.batch_wait, **overrides},
    )


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
    app = await sdef.bootstrap(settings, rt)
    port = getattr(settings, "metrics_port", -1)
    try:
        serve_metrics(port, getattr(settings, "metrics_host", "127.0.0.1"))
    except OSError as exc:
        log.warning("metrics endpoint not started: %s", exc)
    heartbeat = Heartbeat(rt, sdef.version, app.status)
    await heartbeat.start()
    consumers = [build_consumer(rt, c) for c in app.consumers]
    for c in consumers:
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
    for t in loops:
        t.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    await heartbeat.stop()
    for closer in app.closers:
        try:
            await closer()
        except Exception:
            log.exception("closing an adapter failed")
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
        asyncio.run(serve(sdef, settings, freeze_heap=True))
    except ConnectionError as exc:
        log.error("%s", exc)
        raise SystemExit(1) from None


def settings_to_dict(settings: Any) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(settings)
    return out
