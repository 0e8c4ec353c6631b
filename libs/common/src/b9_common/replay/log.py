"""Who replayed what, when, and how it went: the ``replays`` records.

Every replay is written twice, so the record survives whichever store is missing:

- the JetStream KV bucket ``replays`` (always there when NATS is; key = replay id, value the
  record as JSON; 90-day TTL);
- the PostgreSQL table ``replays`` (the read model's; its queries are ``b9_readmodel.replays``)
  when a database URL is known and the table exists. A database that is down or not migrated is
  logged and skipped.

A replay asked of its owning service (``b9_common.replay.owner``) is first *claimed*: its
record is created in KV (``status: starting``, ``runner``: the service, replica, host and pid
of the process that runs it); only one create of an id succeeds. It is then written when the
replay starts (``outcome.status = "running"``, with progress counts at most twice a second,
KV only) and when it ends (``complete`` / ``stopped`` / ``failed`` with counts, where to
resume, or the reason). Claims stay in KV; a dry run is claimed and answered (``dry-run``,
the plan) in KV bucket ``replay_plans`` instead, so ``replays`` lists replays that ran.
``list_records`` merges both stores by id (the newest version of each wins).
"""

from __future__ import annotations

import getpass
import logging
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import msgspec
from b9_readmodel import replays
from b9_readmodel.replays import ReplayRow
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from ulid import ULID

from b9_common.jetstream.kv import kv_keys
from b9_common.jetstream.topology import DAY, Topology, ensure_kv

log = logging.getLogger(__name__)
T = TypeVar("T")

BUCKET = "replays"
# Dry runs: a replay's plan (slice and counts per subject), nothing ran. Kept apart from the
# records of replays, for a day.
PLANS_BUCKET = "replay_plans"


class ReplayRecord(msgspec.Struct, kw_only=True):
    id: str
    consumer: str
    slice: dict[str, Any]
    started_by: str = ""
    started_at: datetime
    finished_at: datetime | None = None
    outcome: dict[str, Any] = msgspec.field(default_factory=lambda: {"status": "running"})
    # The process running it: {service, replica, host, pid} (empty for records of older versions).
    runner: dict[str, Any] = msgspec.field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def status(self) -> str:
        return str(self.outcome.get("status", "running"))


def who() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def new_record(consumer: str, slice_: dict[str, Any], started_by: str | None = None,
               id_: str | None = None) -> ReplayRecord:
    return ReplayRecord(id=id_ or str(ULID()), consumer=consumer, slice=slice_, started_by=started_by or who(),
                        started_at=datetime.now(UTC))


async def plans_kv(js: JetStreamContext, topology: Topology) -> KeyValue:
    return await ensure_kv(js, KeyValueConfig(
        bucket=topology.bucket(PLANS_BUCKET), history=1, ttl=DAY, replicas=topology.replicas,
        description="Dry-run replay plans: the slice and its counts, nothing ran",
    ))


async def replays_kv(js: JetStreamContext, topology: Topology) -> KeyValue:
    return await ensure_kv(js, KeyValueConfig(
        bucket=topology.bucket(BUCKET), history=1, ttl=90 * DAY, replicas=topology.replicas,
        description="Replay records: who replayed which slice, when, outcome",
    ))


class ReplayLog:
    """Writes records to KV and (best effort) PostgreSQL."""

    def __init__(self, js: JetStreamContext, topology: Topology, database_url: str = "", *,
                 plans: bool = False) -> None:
        self.js, self.topology, self.database_url = js, topology, database_url
        self.plans = plans  # the dry runs' bucket (never PostgreSQL)
        self._kv: KeyValue | None = None
        self._pg_ok = bool(database_url) and not plans

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await (plans_kv if self.plans else replays_kv)(self.js, self.topology)
        return self._kv

    async def claim(self, rec: ReplayRecord) -> bool:
        """Create the record; False when its id exists already (another delivery or replica has it)."""
        rec.updated_at = datetime.now(UTC)
        try:
            await (await self._bucket()).create(rec.id, msgspec.json.encode(rec))
        except KeyWrongLastSequenceError:
            return False
        return True

    async def save(self, rec: ReplayRecord, *, kv_only: bool = False) -> None:
        rec.updated_at = datetime.now(UTC)
        try:
            await (await self._bucket()).put(rec.id, msgspec.json.encode(rec))
        except Exception as exc:
            log.warning("replay record not stored in KV: %s", exc)
        if self._pg_ok and not kv_only and rec.status not in ("starting", "dry-run"):
            try:
                await _pg_save(self.database_url, rec)
            except Exception as exc:  # down, not migrated, bad URL: KV still has it
                log.warning("replay record not stored in PostgreSQL: %s", exc)
                self._pg_ok = False


async def _pg(database_url: str, query: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``query`` (a ``b9_readmodel.replays`` function) on a connection of its own."""
    conn = await asyncpg.connect(database_url, timeout=5)
    try:
        return await query(conn, *args)
    finally:
        await conn.close()


async def _pg_save(database_url: str, rec: ReplayRecord) -> None:
    await _pg(database_url, replays.save_replay, rec.id, rec.consumer, rec.slice, rec.started_by, rec.started_at,
              rec.finished_at, rec.outcome)


def _from_row(r: ReplayRow) -> ReplayRecord:
    return ReplayRecord(id=r.id, consumer=r.consumer, slice=r.slice, started_by=r.started_by or "",
                        started_at=r.started_at, finished_at=r.finished_at,
                        outcome=r.outcome if r.outcome else {"status": "running"})


async def _kv_list(js: JetStreamContext, topology: Topology) -> list[ReplayRecord]:
    kv = await replays_kv(js, topology)
    keys = await kv_keys(kv)
    out = []
    for key in keys:
        try:
            entry = await kv.get(key)
            out.append(msgspec.json.decode(entry.value or b"", type=ReplayRecord))
        except Exception:
            continue
    return out


async def list_records(js: JetStreamContext, topology: Topology, database_url: str = "",
                       limit: int = 50) -> list[ReplayRecord]:
    """Newest first, from KV and PostgreSQL merged by id."""
    merged: dict[str, ReplayRecord] = {r.id: r for r in await _kv_list(js, topology)}
    if database_url:
        try:
            for r in map(_from_row, await _pg(database_url, replays.newest_replays, limit)):
                have = merged.get(r.id)
                if have is None or (have.finished_at is None and r.finished_at is not None):
                    merged[r.id] = r
        except Exception as exc:
            log.warning("replay records not read from PostgreSQL: %s", exc)
    return sorted(merged.values(), key=lambda r: r.started_at, reverse=True)[:limit]


async def get_record(js: JetStreamContext, topology: Topology, record_id: str,
                     database_url: str = "") -> ReplayRecord | None:
    """One record by id (KV first, then PostgreSQL), or None."""
    try:
        entry = await (await replays_kv(js, topology)).get(record_id)
        if entry.value:
            return msgspec.json.decode(entry.value, type=ReplayRecord)
    except Exception:  # KeyNotFoundError, or an undecodable value
        pass
    if database_url:
        try:
            found = await _pg(database_url, replays.replay, record_id)
        except Exception as exc:
            log.warning("replay record not read from PostgreSQL: %s", exc)
            return None
        if found:
            return _from_row(found)
    return None
