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
from nats.js import JetStreamContext

from b9_common.service import ServiceDef, serve
from b9_common.topology import Topology

from ._cluster import REPO, Cluster
from ._standin import PERSISTENCE

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
    """The real persistence service once it exists, else the stand-in."""
    try:
        main = importlib.import_module("b9_persistence.main")
    except ImportError:
        return PERSISTENCE
    sdef: ServiceDef = main.SERVICE
    return sdef


def service_settings(sdef: ServiceDef, nats_url: str, replica: str, **extra: Any) -> Any:
    settings = sdef.settings_cls(nats_url=nats_url, stream_replicas=3, metrics_port=-1,
                                 replica_id=replica, **extra)
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


async def provision(js: JetStreamContext, timeout: float = 15.0) -> Topology:
    """Streams and buckets at 3 replicas (retried while the cluster settles its peers)."""
    topology = Topology("", replicas=3)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await topology.provision(js)
            return topology
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def wait_until(cond: Any, timeout: float, what: str, *tasks: asyncio.Task[Any]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await cond():
        for t in tasks:
            if t.done():
                raise AssertionError(f"service stopped while waiting for {what}") from t.exception()
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def write_artifact(name: str, data: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(data, indent=2))
