"""FairPool: connections go to requests in the order they asked (asyncpg's own pool lets a
newcomer take a released connection ahead of the woken waiter, which then queues again), list
pages (the bulk lane) after interactive work, background work on a pool of its own. The
gate's rules alone are tested without servers in test_lanes.py."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
import pytest
from b9_gateway.lanes import bulk
from b9_gateway.pool import FairPool

SIZE = 3


async def open_pool(url: str, cls: type[asyncpg.Pool] | type[FairPool]) -> Any:
    pool = cls(
        url,
        min_size=SIZE,
        max_size=SIZE,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
    )
    await pool
    return pool


async def contend(pool: Any, clients: int = 24, rounds: int = 15) -> tuple[list[int], list[int]]:
    """Clients ask for a connection in a loop (with a random number of loop turns before
    asking and while holding, so requests arrive while released connections are in flight);
    returns the order of requests among those that had to wait, and the order they got in."""
    rng = random.Random(5)
    asked: list[int] = []
    got: list[int] = []
    ticket = iter(range(10**9))

    async def client() -> None:
        for _ in range(rounds):
            for _ in range(rng.randrange(4)):
                await asyncio.sleep(0)
            me = next(ticket)
            asked.append(me)
            async with pool.acquire() as conn:
                got.append(me)
                if rng.random() < 0.2:
                    await conn.fetchval("SELECT 1")
                for _ in range(rng.randrange(3)):
                    await asyncio.sleep(0)

    await asyncio.gather(*(client() for _ in range(clients)))
    return asked, got


async def test_connections_are_granted_first_come_first_served(pg_admin_url: str) -> None:
    pool = await open_pool(pg_admin_url, FairPool)
    try:
        asked, got = await contend(pool)
        assert len(got) == 24 * 15
        assert got == asked  # nobody overtakes anyone
        assert pool.waiting() == 0
        assert await pool.fetchval("SELECT 41 + 1") == 42  # still a working pool
    finally:
        await pool.close()


async def test_asyncpg_pool_lets_newcomers_overtake(pg_admin_url: str) -> None:
    """The behaviour FairPool exists for (if asyncpg becomes fair, FairPool can go)."""
    pool = await open_pool(pg_admin_url, asyncpg.Pool)
    try:
        asked, got = await contend(pool)
        assert sorted(got) == sorted(asked)
        assert got != asked
    finally:
        await pool.close()


async def test_cancelled_and_timed_out_waiters_leave_the_line(pg_admin_url: str) -> None:
    pool = await open_pool(pg_admin_url, FairPool)
    try:
        held = [await pool.acquire() for _ in range(SIZE)]
        with pytest.raises(asyncio.TimeoutError):
            await pool.acquire(timeout=0.05)
        waiter = asyncio.create_task(pool.fetchval("SELECT 1"))
        await asyncio.sleep(0.01)
        assert pool.waiting() == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert pool.waiting() == 0
        later = asyncio.create_task(pool.fetchval("SELECT 2"))
        await asyncio.sleep(0.01)
        for conn in held:
            await pool.release(conn)
        await pool.release(held[0])  # a second release of the same connection changes nothing
        assert await later == 2
        conns: list[Any] = [await pool.acquire(timeout=1) for _ in range(SIZE)]  # all slots came back
        for conn in conns:
            await pool.release(conn)
    finally:
        await pool.close()


async def test_interactive_queries_go_ahead_of_queued_list_pages(pg_admin_url: str) -> None:
    """64 list clients cannot put a decision's query behind their line: with every connection
    held and list pages queued, the next released connection goes to the interactive query."""
    pool = await open_pool(pg_admin_url, FairPool)
    order: list[str] = []

    async def query(name: str) -> None:
        async with pool.acquire() as conn:
            order.append(name)
            await conn.fetchval("SELECT 1")

    async def page(name: str) -> None:
        with bulk():
            await query(name)

    try:
        held = [await pool.acquire() for _ in range(SIZE)]
        lists = [asyncio.create_task(page(f"list{i}")) for i in range(10)]
        await asyncio.sleep(0.01)
        decision = asyncio.create_task(query("decision"))
        await asyncio.sleep(0.01)
        assert pool.waiting() == 11 and not order
        await pool.release(held.pop())
        await asyncio.wait_for(decision, 1)
        assert order[0] == "decision"  # the first connection released, ahead of 10 list pages
        for c in held:
            await pool.release(c)
        await asyncio.wait_for(asyncio.gather(*lists), 2)
        assert order == ["decision", *(f"list{i}" for i in range(10))]  # FIFO within the lane
        assert pool.waiting() == 0
    finally:
        pool.terminate()


async def test_background_lane_never_takes_a_request_connection(pg_admin_url: str) -> None:
    """Counts go through acquire_background(): with every request connection held they
    still run, and a background release hands its slot to background work, not a request."""
    pool = await open_pool(pg_admin_url, FairPool)
    try:
        held = [await pool.acquire() for _ in range(SIZE)]
        async with pool.acquire_background(timeout=1) as bg:  # the lane is separate
            assert await bg.fetchval("SELECT 7") == 7
            lane = pool.acquire_background()
            second = asyncio.create_task(lane.__aenter__())
            request = asyncio.create_task(pool.fetchval("SELECT 3"))
            await asyncio.sleep(0.05)
            assert not second.done()  # one background connection: the second waits its turn
            assert pool.waiting() == 1 and not request.done()
        await asyncio.wait_for(second, 1)  # the background slot went to background work
        await asyncio.sleep(0.05)
        assert not request.done()  # ... not to the request waiting for a request connection
        await lane.__aexit__(None, None, None)
        await pool.release(held.pop())
        assert await asyncio.wait_for(request, 1) == 3
        for c in held:
            await pool.release(c)
        conns = [await pool.acquire(timeout=1) for _ in range(SIZE)]  # every slot came back
        async with pool.acquire_background(timeout=1) as bg:
            assert await bg.fetchval("SELECT 8") == 8
        for c in conns:
            await pool.release(c)
        assert pool.get_size() <= SIZE + 1
    finally:
        await pool.close()


async def test_gateway_pool_keeps_its_connections(pg_admin_url: str) -> None:
    """asyncpg replaces a connection after 50,000 queries by default (a new backend: fork,
    auth, cold caches, statements prepared again: a stall under load); the gateway's does not."""
    from b9_gateway.deps import build_pool
    from b9_gateway.settings import Settings, auto_pool_size

    settings = Settings(database_url=pg_admin_url, gateway_api_key="k" * 16, gateway_pool_size=1)
    assert Settings(gateway_api_key="k" * 16).pool_size == auto_pool_size() >= 2
    pool = await build_pool(settings)
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            for _ in range(50_001):
                await conn.fetchval("SELECT 1")
        assert await pool.fetchval("SELECT pg_backend_pid()") == pid
    finally:
        await pool.close()
