"""A creator's first discovery does not depend on the order or batching of its facts.

The chaos suite found it: discoveries of one Instagram creator by creator.discovered (with and
without an id, in different letter cases), by scrapes that say how the creator was added, and
related-processed facts, arriving in a different order or split differently into batches, left
a different ``discovered_at`` / ``discovery_source`` on the creator. Here the same facts are
written in many shuffled orders and batchings, straight through the writers, and every run
must leave the same rows.
"""

from __future__ import annotations

import random
from typing import Any

import asyncpg
import pfactories as f
from b9_common.events import Envelope, make_envelope, spec_of
from b9_persistence.handler import WRITERS
from b9_persistence.staging import init_connection

TABLES = {"instagram_creators": "ig_user_id", "instagram_discoveries": "username_key",
          "creator_follower_history": "ig_user_id, fact_at", "instagram_media": "media_pk"}


def _env(payload: Any, minutes: float, n: int) -> Envelope[Any]:
    spec = spec_of(payload)
    return make_envelope(spec.type, payload, source="test", version=spec.version,
                         occurred_at=f.at(minutes), id_=f"01J{n:023d}")


def _facts() -> list[Envelope[Any]]:
    def disc(name: str, ig: str | None, via: str, full: str) -> Any:
        d = f.creator_discovered(name, ig)
        d.via_username, d.full_name = via, full
        return d

    payloads: list[tuple[Any, float]] = [
        (disc("Mia.Rose", None, "a", "Mia R"), 5),
        (disc("mia.rose", "77", "b", "Mia"), 3),       # the first discovery of mia.rose
        (disc("mia.rose", None, "c", "M"), 8),
        (f.creator("77", "mia.rose", discovery_source=None), 10),
        (f.creator("77", "mia.rose", followers=60_000, discovery_source="manual"), 12),
        (f.related("77"), 11),
        (disc("zoe", None, "a", "Zoe later"), 4),
        (disc("Zoe", None, "b", "Zoe first"), 2),       # never scraped: pending, spelled 'Zoe'
        (disc("ann", "88", "d", "Ann"), 6),
        (f.creator("88", "ann", discovery_source="seed"), 7),
        (f.creator("99", "solo", discovery_source=None), 9),
        (disc("same.time", None, "x", "X"), 1),         # same instant: the smaller fact id wins
        (disc("same.time", None, "y", "Y"), 1),
    ]
    return [_env(p, m, n) for n, (p, m) in enumerate(payloads)]


async def _write(pool: asyncpg.Pool, envs: list[Envelope[Any]], rng: random.Random) -> None:
    i = 0
    while i < len(envs):
        batch = envs[i:i + rng.randint(1, 4)]
        i += len(batch)
        by_type: dict[str, list[Envelope[Any]]] = {}
        for e in batch:
            by_type.setdefault(e.type, []).append(e)
        kinds = list(by_type)
        rng.shuffle(kinds)
        for kind in kinds:
            async with pool.acquire() as conn, conn.transaction():
                await WRITERS[kind](conn, by_type[kind])


async def _snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table, key in TABLES.items():
        rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY {key}")
        out[table] = [tuple(r.values()) for r in rows]
    return out


async def test_first_discovery_is_order_independent(database_url: str) -> None:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2,
                                   init=init_connection) as pool:
        await _check(pool)


async def _check(pool: asyncpg.Pool) -> None:
    facts = _facts()
    reference = None
    for seed in range(16):
        rng = random.Random(seed)
        envs = facts[:] if seed == 0 else rng.sample(facts, len(facts))
        async with pool.acquire() as c:
            await c.execute(f"TRUNCATE {', '.join(TABLES)}")
        await _write(pool, envs, rng)
        async with pool.acquire() as c:
            snap = await _snapshot(c)
            if reference is None:
                reference = snap
                rows = {r["ig_user_id"]: r for r in await c.fetch("SELECT * FROM instagram_creators")}
        assert snap == reference, f"order {seed} left different rows"

    assert sorted(rows) == ["77", "88", "99", "pending:same.time", "pending:zoe"]
    mia = rows["77"]
    assert (mia["discovered_at"], mia["discovered_via"], mia["discovery_source"],
            mia["discovered_followers_count"]) == (f.at(3), "b", "related", 12_000)
    assert (mia["username"], mia["followers_count"], mia["related_processed"]) == (
        "mia.rose", 60_000, True)
    zoe = rows["pending:zoe"]
    assert (zoe["username"], zoe["full_name"], zoe["discovered_at"], zoe["fact_at"]) == (
        "Zoe", "Zoe first", f.at(2), None)
    ann = rows["88"]
    assert (ann["discovery_source"], ann["discovered_at"]) == ("related", f.at(6))
    assert rows["99"]["discovered_at"] is None and rows["99"]["discovery_source"] is None
    assert rows["pending:same.time"]["discovered_via"] == "x"
