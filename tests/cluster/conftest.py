"""Fixtures for the cluster tests: a fresh 3-node cluster per test, services run in-process."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from b9_common.jetstream.topology import Topology
from b9_common.service import ServiceDef, serve
from nats.js import JetStreamContext

from ._cluster import REPO, Cluster

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = Cluster(tmp_path / "cluster")
    try:
        await c.start()
        yield c
    finally:
        await asyncio.to_thread(c.stop)


def persistence_service() -> ServiceDef:
    """The real persistence service (an import error fails the test: no stand-in)."""
    main = importlib.import_module("b9_persistence.main")
    sdef: ServiceDef = main.SERVICE
    assert sdef.name == "persistence" and sdef.version != "standin", sdef
    return sdef


def service_settings(sdef: ServiceDef, nats_url: str, replica: str, **extra: Any) -> Any:
    settings = sdef.settings_cls(
        nats_url=nats_url, stream_replicas=3, metrics_port=-1, replica_id=replica, **extra
    )
    settings.validate()
    return settings


@asynccontextmanager
async def running(sdef: ServiceDef, settings: Any) -> AsyncIterator[asyncio.Task[None]]:
    """Run a service in this process until the block ends (then drain it)."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(sdef, settings, stop=stop, grace=5.0))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def provision(js: JetStreamContext, within: float = 15.0) -> Topology:
    """Streams and buckets at 3 replicas (retried while the cluster settles its peers)."""
    topology = Topology("", replicas=3)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            await topology.provision(js)
            return topology
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def wait_until(cond: Any, within: float, what: str, *tasks: asyncio.Task[Any]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await cond():
        for t in tasks:
            if t.done():
                raise AssertionError(f"service stopped while waiting for {what}") from t.exception()
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def wait_pulling(
    js: JetStreamContext,
    stream: str,
    replicas: int,
    within: float = 20.0,
    *tasks: asyncio.Task[Any],
) -> float:
    """Until every durable on ``stream`` has a pull request waiting from each replica.

    A replica whose first pull request reaches the cluster before the new consumer has a
    leader gets a 503 (no responders); b9_common's pull engine only re-requests after its
    stall watchdog (about 5 s). Returns how long the wait took.
    """
    loop = asyncio.get_running_loop()
    t0 = loop.time()

    async def ready() -> bool:
        infos = await js.consumers_info(stream)
        return bool(infos) and all((i.num_waiting or 0) >= replicas for i in infos)

    await wait_until(ready, within, f"{replicas} pulling replicas on {stream}", *tasks)
    return loop.time() - t0


def write_artifact(name: str, data: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(data, indent=2))
