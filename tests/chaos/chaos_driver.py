"""Publishing the facts (paced, retried through outages) and the fault schedule."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import nats
from b9_common.jetstream.publisher import MSG_ID, Publisher
from b9_common.jetstream.topology import Topology
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


# The durable consumers each worker process runs (their unacked messages are its work in flight).
DURABLES = {"persistence": (("SCRAPE", "persistence"), ("DERIVED", "persistence"),
                            ("DECISIONS", "persistence")),
            "categorizer": (("SCRAPE", "categorizer"),), "media": (("SCRAPE", "media"),)}


@dataclass
class FaultLog:
    events: list[str] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=dict)  # "nats" / "postgres" -> count
    in_flight: dict[str, list[int]] = field(default_factory=dict)  # worker -> unacked at each kill

    def add(self, t0: float, what: str) -> None:
        self.events.append(f"{time.monotonic() - t0:6.1f}s {what}")
        log.info("chaos: %s", what)


async def _unacked(js: Any, namespace: str, name: str) -> int:
    """Messages delivered to ``name``'s consumers and not acked yet (0 when NATS is away)."""
    total = 0
    for stream, durable in DURABLES[name]:
        try:
            info = await js.consumer_info(f"{namespace}_{stream}", durable, timeout=1)
        except Exception:
            return 0
        total += info.num_ack_pending
    return total


async def _kill_busy(js: Any, workers: Workers, name: str, fl: FaultLog, t0: float,
                     restart_after: float, within: float = 15.0) -> None:
    """SIGKILL ``name`` while it has work in flight (waits up to ``within`` s for some)."""
    deadline = time.monotonic() + within
    unacked = await _unacked(js, workers.namespace, name)
    while unacked == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        unacked = await _unacked(js, workers.namespace, name)
    fl.in_flight.setdefault(name, []).append(unacked)
    fl.add(t0, f"SIGKILL {name} ({unacked} unacked)")
    await workers.kill(name, restart_after=restart_after)


async def faults(workers: Workers, servers: Servers, progress: Progress, seed: int = 7) -> FaultLog:
    """SIGKILL a worker every 1.5-3.5 s while facts flow (each worker first, in a shuffled order,
    then at random; each kill waits until the worker has unacked messages), restart nats-server
    at 30 % and PostgreSQL at 55 %. Categorizer and media (ack_wait 120 s) are only killed in
    the first 45 %, so what they had in flight is redelivered before the end; persistence
    (60 s) all along."""
    rng = random.Random(seed)
    fl = FaultLog()
    t0 = time.monotonic()
    first = ["persistence", "categorizer", "media"]
    rng.shuffle(first)
    nc = await connect(workers.nats_url)
    js = nc.jetstream()

    async def restart(what: str, note: str = "") -> None:
        fl.add(t0, f"restart {what}{note}")
        await (servers.restart_nats() if what == "nats" else servers.restart_pg())
        fl.restarts[what] = fl.restarts.get(what, 0) + 1

    try:
        while not progress.finished.is_set():
            try:
                await asyncio.wait_for(progress.finished.wait(), rng.uniform(1.5, 3.5))
                break
            except TimeoutError:
                pass
            p = progress.fraction
            if "nats" not in fl.restarts and p >= 0.30 and not first:
                await restart("nats")
            elif "postgres" not in fl.restarts and p >= 0.55:
                await restart("postgres")
            else:
                name = first.pop(0) if first else rng.choice(
                    ["persistence", "categorizer", "media"] if p < 0.45 else ["persistence"])
                await _kill_busy(js, workers, name, fl, t0, rng.uniform(0.2, 1.0))
        for name in first:  # publishing outran the schedule: each worker still gets its kill
            await _kill_busy(js, workers, name, fl, t0, 0.2)
        if "nats" not in fl.restarts:
            await restart("nats", " (after publishing)")
        if "postgres" not in fl.restarts:
            await restart("postgres", " (after publishing)")
    finally:
        await nc.close()
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


def expected_dlq(facts: FactSet) -> Counter[tuple[str, str]]:
    """Each poison fact exactly once per consumer that reads its type."""
    return Counter((p.id, c) for p in facts.poison.values()
                   for c in READERS.get(p.type, {"persistence"}))
