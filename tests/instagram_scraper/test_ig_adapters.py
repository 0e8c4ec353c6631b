"""Adapters: the PostgreSQL directory on persistence's schema, KV claims, the request budget."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from b9_common.events.control import InstagramControl
from b9_common.scraping.control import ControlWatch
from b9_common.scraping.ratelimit import HOUR, Budget
from b9_common.service import Runtime
from b9_instagram_scraper.directory_pg import PgDirectory
from b9_instagram_scraper.growth import CreatorState
from b9_instagram_scraper.kvstate import Claims, KnownStore, StateStore, open_buckets
from b9_instagram_scraper.main import BURST_SECONDS


async def test_pg_directory_reads_the_read_model(pool: asyncpg.Pool) -> None:
    rows = [
        ("101", "Alice", "ok", "fitness", False),
        ("102", "bob", "ok", None, True),
        ("103", "carol", None, None, False),  # pending review: not tracked
        ("104", "dan", "non_related", None, False),
        ("pending:erin", "erin", "ok", "yoga", False),  # added by hand, not scraped yet
    ]
    await pool.executemany(
        "INSERT INTO instagram_creators"
        " (ig_user_id, username, review_status, niche, related_processed)"
        " VALUES ($1, $2, $3, $4, $5)",
        rows,
    )
    d = PgDirectory(pool=pool)
    approved = await d.approved(100)
    assert sorted((c.ig_user_id, c.username, c.niche) for c in approved) == [
        ("101", "Alice", "fitness"),
        ("102", "bob", None),
        ("pending:erin", "erin", "yoga"),
    ]
    assert [c.username for c in await d.related_pending(10)] == ["Alice"]
    assert await d.known_usernames(["ALICE", "zed", "carol"]) == {"alice", "carol"}
    assert await d.known_ids(["101", "999"]) == {"101"}
    assert await d.known_usernames([]) == set()


async def test_claims_share_work_and_expire(rt: Runtime) -> None:
    _, _, kv = await open_buckets(rt.js, rt.topology)
    now = [1000.0]
    a = Claims(kv, "a", lease=60, retry_after=30, clock=lambda: now[0])
    b = Claims(kv, "b", lease=60, retry_after=30, clock=lambda: now[0])
    assert await a.try_claim("1", interval=100)
    assert not await b.try_claim("1", interval=100)  # running elsewhere
    await a.finish("1", ok=True)
    now[0] += 99
    assert not await b.try_claim("1", interval=100)  # done 99 s ago
    now[0] += 1
    assert await b.try_claim("1", interval=100)  # due again
    await b.finish("1", ok=False)
    now[0] += 29
    assert not await a.try_claim("1", interval=100)
    now[0] += 1
    assert await a.try_claim("1", interval=100)  # failed: retried after 30 s
    now[0] += 60
    assert await b.try_claim("1", interval=100)  # a's lease ran out (it died)
    results = await asyncio.gather(*(Claims(kv, f"r{i}").try_claim("2", 100) for i in range(8)))
    assert sum(results) == 1  # exactly one replica wins a race


async def test_state_and_known_stores(rt: Runtime) -> None:
    state_kv, known_kv, _ = await open_buckets(rt.js, rt.topology)
    store, known = StateStore(state_kv), KnownStore(known_kv)
    assert (await store.get("7"))[0] == CreatorState()

    def bump(s: CreatorState) -> None:
        s.related_processed = True
        s.username = s.username + "x"

    await asyncio.gather(*(store.update("7", bump) for _ in range(5)))  # CAS: no update lost
    assert (await store.get("7"))[0].username == "xxxxx"
    await known.add("Some.One", "7")
    assert await known.known(["some.one", "SOME.ONE", "other"]) == {"some.one"}


def hourly(control: ControlWatch[InstagramControl], **kw: float) -> Budget:
    """Instagram's budget: ``requests_per_hour``, six minutes' worth may go at once (main.py)."""
    return Budget(lambda: control.config.requests_per_hour / HOUR, control=control,
                  burst_seconds=BURST_SECONDS, **kw)


async def test_rate_limiter_budget_and_priority() -> None:
    control = ControlWatch(InstagramControl(requests_per_hour=20))  # a bucket of 2 calls
    lim = hourly(control)
    await lim.acquire()
    await lim.acquire()
    assert lim.exhausted() and lim.calls_last_hour() == 2
    order: list[str] = []

    async def take(name: str, priority: bool) -> None:
        await lim.acquire(priority=priority)
        order.append(name)

    low = asyncio.create_task(take("cycle", False))
    await asyncio.sleep(0.05)
    high = asyncio.create_task(take("command", True))
    await asyncio.sleep(0.05)
    assert order == []  # both wait: the budget is spent
    control.apply(InstagramControl(requests_per_hour=30))  # one more call, at once: the command first
    await asyncio.wait_for(high, 2)
    await asyncio.sleep(0.05)
    assert order == ["command"] and not low.done()
    control.apply(InstagramControl(requests_per_hour=0))  # 0 = no budget
    await asyncio.wait_for(low, 2)
    assert order == ["command", "cycle"]


async def test_replicas_share_one_hourly_budget(rt: Runtime) -> None:
    state_kv, _, _ = await open_buckets(rt.js, rt.topology)
    control = ControlWatch(InstagramControl(requests_per_hour=30))  # a bucket of 3 calls
    a, b = hourly(control, kv=state_kv), hourly(control, kv=state_kv)  # two replicas, one key
    await a.acquire()
    await b.acquire()
    await a.acquire()
    assert a.exhausted() and b.calls_last_hour() == 1
    with pytest.raises(asyncio.TimeoutError):  # the bucket's three calls are spent, by both together
        await asyncio.wait_for(b.acquire(), 0.2)


async def test_rate_limiter_paces_calls() -> None:
    lim = Budget(lambda: 0.0, min_interval=0.05)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for _ in range(4):
        await lim.acquire()
    assert loop.time() - t0 >= 0.15 - 0.01
    one = hourly(ControlWatch(InstagramControl(requests_per_hour=1)))
    await one.acquire()
    with pytest.raises(asyncio.TimeoutError):  # the hour's single call is spent
        await asyncio.wait_for(one.acquire(), 0.2)
    assert one.waiting == 0 and one.calls_last_hour() == 1
