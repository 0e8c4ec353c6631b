"""Publishing the facts (paced, retried through outages) and the fault schedule."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import nats
from b9_common.publisher import MSG_ID, Publisher
from b9_common.topology import Topology
from chaos_facts import FactSet, Poison
from chaos_stack import Servers, Workers

log = logging.getLogger("chaos")
CHUNK = 100
# Which durable consumers read which fact types (a poison fact must reach DLQ from each).
READERS = {"subreddit.fetched": {"persistence", "categorizer"},
           "creator.scraped": {"persistence", "categorizer", "media"}}


async def connect(url: str) -> nats.NATS:
    return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.5, connect_timeout=2)


@dataclass
class Progress:
    total: int
    done: int = 0
    retries: int = 0
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def fraction(self) -> float:
        return self.done / max(self.total, 1)


async def _publish_chunk(js: Any, pub: Publisher, topo: Topology, chunk: list[Any]) -> None:
    envs = [e for e in chunk if not isinstance(e, Poison)]
    await pub.publish_many(envs)
    for p in chunk:
        if isinstance(p, Poison):
            await js.publish(topo.subject(p.type), p.data, headers={MSG_ID: p.id}, timeout=5)


async def publish(url: str, namespace: str, facts: FactSet, progress: Progress,
                  seconds: float | None = None) -> None:
    """Publish every fact in order; ``seconds`` spreads them over that long. A chunk that fails
    (server restarting) is published again: same ids, so JetStream drops what it already has."""
    nc = await connect(url)
    js = nc.jetstream()
    topo = Topology(namespace=namespace)
    pub = Publisher(js, topo, "chaos@0", timeout=5, window=256)
    t0 = time.monotonic()
    try:
        for start in range(0, len(facts.items), CHUNK):
            chunk = facts.items[start:start + CHUNK]
            while True:
                try:
                    await _publish_chunk(js, pub, topo, chunk)
                    break
                except Exception as exc:  # outage: wait and publish the chunk again
                    progress.retries += 1
                    log.info("chaos: publish retry at %d: %r", start, exc)
                    await asyncio.sleep(0.5)
            progress.done = start + len(chunk)
            if seconds:
                ahead = t0 + seconds * progress.fraction - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
    finally:
        progress.finished.set()
        await nc.close()


@dataclass
class FaultLog:
    events: list[str] = field(default_factory=list)

    def add(self, t0: float, what: str) -> None:
        self.events.append(f"{time.monotonic() - t0:6.1f}s {what}")
        log.info("chaos: %s", what)


async def faults(workers: Workers, servers: Servers, progress: Progress, seed: int = 7) -> FaultLog:
    """SIGKILL a worker every 1.5-3.5 s while facts flow, restart nats-server at 30 % and
    PostgreSQL at 55 %. Categorizer and media (ack_wait 120 s) are only killed in the first
    45 %, so what they had in flight is redelivered before the end; persistence (60 s) all along."""
    rng = random.Random(seed)
    fl = FaultLog()
    t0 = time.monotonic()
    nats_done = pg_done = False
    while not progress.finished.is_set():
        try:
            await asyncio.wait_for(progress.finished.wait(), rng.uniform(1.5, 3.5))
            break
        except TimeoutError:
            pass
        p = progress.fraction
        if not nats_done and p >= 0.30:
            fl.add(t0, "restart nats-server")
            await servers.restart_nats()
            nats_done = True
        elif not pg_done and p >= 0.55:
            fl.add(t0, "restart PostgreSQL")
            await servers.restart_pg()
            pg_done = True
        else:
            name = rng.choice(["persistence", "categorizer", "media"] if p < 0.45 else ["persistence"])
            fl.add(t0, f"SIGKILL {name}")
            await workers.kill(name, restart_after=rng.uniform(0.2, 1.0))
    if not nats_done:
        fl.add(t0, "restart nats-server (after publishing)")
        await servers.restart_nats()
    if not pg_done:
        fl.add(t0, "restart PostgreSQL (after publishing)")
        await servers.restart_pg()
    return fl


async def read_dlq(url: str, namespace: str) -> list[tuple[str, str, str]]:
    """(original event id, consumer, reason) of every message in the namespace's DLQ."""
    nc = await connect(url)
    js = nc.jetstream()
    stream = f"{namespace}_DLQ"
    total = (await js.stream_info(stream)).state.messages
    out: list[tuple[str, str, str]] = []
    if total:
        sub = await js.pull_subscribe(f"{namespace}.dlq.>", stream=stream)
        while len(out) < total:
            for m in await sub.fetch(min(500, total - len(out)), timeout=5):
                h = m.headers or {}
                out.append((h.get("B9-Event-Id", ""), h.get("B9-Consumer", ""), h.get("B9-Dlq-Reason", "")))
                await m.ack()
        await sub.unsubscribe()
    await nc.close()
    return out


def expected_dlq(facts: FactSet) -> set[tuple[str, str]]:
    return {(p.id, c) for p in facts.poison.values() for c in READERS.get(p.type, {"persistence"})}
