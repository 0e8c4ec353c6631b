"""Asking for a replay: what the gateway's API and ``b9 replay`` share.

``ask`` checks that the service is replayable and that a replica of it is alive (a heartbeat
younger than the bucket's TTL), then publishes ``replay.requested.<service>`` with the replay
id as the event id (JetStream drops a re-publish within its duplicate window; the owner's
claim drops any later one). The owning service writes the record (KV bucket ``replays``;
``replay_plans`` for a dry run: ``record_kv``) and moves it on; ``wait_record`` / ``follow``
read it back. ``stop`` publishes the replay id
on ``b9.replay.stop.<service>`` (core NATS: the replica running it stops it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import msgspec
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from ulid import ULID

from b9_common.events.commands import REPLAY_COMMANDS, ReplayRequested
from b9_common.jetstream.kv import kv_keys
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import HEARTBEAT_TTL, Topology
from b9_common.replay.jobs import ReplayError, ReplayRequest, split_target
from b9_common.replay.log import ReplayRecord, plans_kv, replays_kv

log = logging.getLogger(__name__)

REPLAYABLE = tuple(REPLAY_COMMANDS)
ACTIVE = ("starting", "running")
STALE_AFTER = 60.0  # a running record not updated for this long: its replica stopped reporting


class NoOwner(Exception):
    """No replica of the service is running (or none took the command): it cannot run now."""


def check_target(req: ReplayRequest) -> str:
    """The service of a request, or ReplayError for a service that owns no replayable consumer
    (everything else about the request is for the owner to judge: it knows its consumers)."""
    service = split_target(req.target)[0]
    if service not in REPLAY_COMMANDS:
        raise ReplayError(f"unknown service {service!r}; replayable: {', '.join(REPLAYABLE)}")
    return service


async def live_replicas(js: JetStreamContext, topology: Topology, service: str) -> list[str]:
    """Replicas of ``service`` whose heartbeat is younger than HEARTBEAT_TTL."""
    kv = await topology.heartbeat_kv(js)
    now, out = datetime.now(UTC), []
    for key in await kv_keys(kv, f"{service}."):
        try:
            entry = await kv.get(key)
            beat = msgspec.json.decode(entry.value or b"{}")
            at = datetime.fromisoformat(str(beat.get("at")).replace("Z", "+00:00"))
        except Exception:
            continue
        if beat.get("status") != "stopped" and (now - at).total_seconds() < HEARTBEAT_TTL:
            out.append(key.split(".", 1)[1])
    return out


async def ask(js: JetStreamContext, topology: Topology, publisher: Publisher, req: ReplayRequest,
              requested_by: str, replay_id: str | None = None) -> str:
    """Publish the command; the replay id. ReplayError / NoOwner when it cannot be asked."""
    service = check_target(req)
    if not await live_replicas(js, topology, service):
        raise NoOwner(f"no {service} replica is running (no heartbeat in the last {HEARTBEAT_TTL:.0f} s): "
                      f"start {service} and ask again")
    consumer = split_target(req.target)[1]
    rid = replay_id or str(ULID())
    cmd = REPLAY_COMMANDS[service](
        replay_id=rid, consumer=consumer, stream=req.stream, subjects=list(req.subjects), from_seq=req.from_seq,
        to_seq=req.to_seq, since=req.since, until=req.until, rate=req.rate, dry_run=req.dry_run,
        requested_by=requested_by)
    await publisher.publish(cmd, id_=rid)
    return rid


async def record_kv(js: JetStreamContext, topology: Topology, req: ReplayRequest) -> KeyValue:
    """Where the owner answers: ``replay_plans`` for a dry run, ``replays`` otherwise."""
    return await (plans_kv if req.dry_run else replays_kv)(js, topology)


async def get(kv: KeyValue, replay_id: str) -> ReplayRecord | None:
    try:
        entry = await kv.get(replay_id)
        return msgspec.json.decode(entry.value or b"", type=ReplayRecord) if entry.value else None
    except Exception:  # not there yet, or undecodable
        return None


async def wait_record(kv: KeyValue, replay_id: str, done: Callable[[ReplayRecord], bool],
                      timeout: float) -> ReplayRecord | None:
    """Poll the record until ``done(record)`` or ``timeout`` s; the last record seen (None: none)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    rec = None
    while True:
        rec = await get(kv, replay_id) or rec
        if (rec is not None and done(rec)) or loop.time() >= deadline:
            return rec
        await asyncio.sleep(0.05)


def planned(rec: ReplayRecord) -> bool:
    return rec.status != "starting"


def is_active(rec: ReplayRecord, now: datetime | None = None) -> bool:
    """Starting or running, and updated within STALE_AFTER (else its replica died)."""
    if rec.status not in ACTIVE:
        return False
    at = rec.updated_at or rec.started_at
    return ((now or datetime.now(UTC)) - at).total_seconds() < STALE_AFTER


async def follow(kv: KeyValue, replay_id: str, every: float = 0.2) -> AsyncIterator[ReplayRecord]:
    """Each new version of the record until it is no longer active (the last one included)."""
    last = None
    while True:
        rec = await get(kv, replay_id)
        if rec is not None and rec != last:
            last = rec
            yield rec
            if not is_active(rec):
                return
        await asyncio.sleep(every)


async def stop(nc: NATS, topology: Topology, service: str, replay_id: str) -> None:
    await nc.publish(topology.replay_stop_subject(service), replay_id.encode())
    await nc.flush(timeout=5)


async def active_count(js: JetStreamContext, topology: Topology) -> int:
    kv = await replays_kv(js, topology)
    n = 0
    for key in await kv_keys(kv):
        rec = await get(kv, key)
        if rec is not None and is_active(rec):
            n += 1
    return n


__all__ = ["REPLAYABLE", "NoOwner", "ReplayRequested", "active_count", "ask", "check_target", "follow", "get",
           "is_active", "live_replicas", "planned", "record_kv", "stop", "wait_record"]
