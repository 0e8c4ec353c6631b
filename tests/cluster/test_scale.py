"""Two scraper replicas and two persistence replicas share the work, no duplicates in PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack

import asyncpg
from b9_common.events import RedditScrapeRequested
from b9_common.jetstream.publisher import Publisher
from b9_common.settings import CommonSettings

from ._cluster import Cluster
from ._standin import scraper
from .conftest import (
    persistence_service,
    provision,
    running,
    service_settings,
    wait_pulling,
    wait_until,
    write_artifact,
)

N = 1500


def delivered_per_client(cluster: Cluster, prefix: str) -> dict[str, int]:
    """Messages each client connection received, summed over the three servers (/connz)."""
    out: Counter[str] = Counter()
    for n in range(3):
        for c in cluster.connz(n):
            name = str(c.get("name", ""))
            if name.startswith(prefix):
                out[name.rsplit("/", 1)[-1]] += int(c.get("out_msgs", 0))  # type: ignore[call-overload]
    return dict(out)


async def test_two_scrapers_and_two_persistence_replicas_share_work(
    cluster: Cluster, database_url: str
) -> None:
    admin = await cluster.connect("admin")
    gateway = await cluster.connect("gateway")
    conn = await asyncpg.connect(database_url)
    handled: Counter[str] = Counter()
    try:
        topology = await provision(admin.jetstream(timeout=10))
        psdef = persistence_service()
        ssdef = scraper(handled)
        async with AsyncExitStack() as stack:
            tasks = []
            for r in ("p1", "p2"):
                s = service_settings(
                    psdef, cluster.url("persistence"), r, database_url=database_url
                )
                tasks.append(await stack.enter_async_context(running(psdef, s)))
            for r in ("s1", "s2"):
                s = CommonSettings(
                    nats_url=cluster.url("reddit-scraper"),
                    stream_replicas=3,
                    metrics_port=-1,
                    replica_id=r,
                )
                tasks.append(await stack.enter_async_context(running(ssdef, s)))
            ajs = admin.jetstream(timeout=5)

            async def consumers_ready() -> bool:
                scrape = await ajs.consumers_info(topology.stream("SCRAPE"))
                commands = await ajs.consumers_info(topology.stream("COMMANDS"))
                return bool(scrape) and bool(commands)

            await wait_until(consumers_ready, 20, "consumers", *tasks)
            for stream in ("SCRAPE", "COMMANDS"):
                await wait_pulling(ajs, topology.stream(stream), 2, 20, *tasks)
            pub = Publisher(gateway.jetstream(timeout=10), topology, "gateway@test")
            for i in range(0, N, 100):  # commands arrive over ~1.5 s, like clicks and schedules
                await pub.publish_many(
                    RedditScrapeRequested(kind="subreddit", name=f"sub{j}")
                    for j in range(i, i + 100)
                )
                await asyncio.sleep(0.1)

            async def done() -> bool:
                return int(await conn.fetchval("SELECT count(*) FROM scrape_attempts")) >= N

            await wait_until(done, 30, f"{N} rows", *tasks)
            await asyncio.sleep(1.0)
            per_persistence = delivered_per_client(cluster, "persistence@")
            work_left = (await ajs.stream_info(topology.stream("COMMANDS"))).state.messages
        write_artifact(
            "cluster_scale",
            {
                "events": N,
                "scraper_handled": dict(handled),
                "persistence_delivered": per_persistence,
            },
        )
        stats = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT target) AS d FROM scrape_attempts"
        )
        daily = await conn.fetchval("SELECT coalesce(sum(attempts), 0) FROM scraper_daily")
        assert stats["n"] == N and stats["d"] == N and daily == N
        assert work_left == 0  # the work queue is drained: each command taken once
        assert set(handled) == {"s1", "s2"} and sum(handled.values()) == N, handled
        assert min(handled.values()) > N * 0.1, handled
        # Both persistence replicas got a real share of the stream (not just heartbeat replies).
        assert set(per_persistence) == {"p1", "p2"}, per_persistence
        assert min(per_persistence.values()) > N * 0.1, per_persistence
    finally:
        await conn.close()
        await gateway.close()
        await admin.close()
