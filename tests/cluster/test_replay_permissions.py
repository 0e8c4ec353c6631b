"""Replays under the cluster's auth config (infra/nats/auth.conf): the gateway user asks, the
categorizer user's replica claims, runs, reports and stops it, each with its own permissions."""

from __future__ import annotations

from b9_common.events import SubredditFetched
from b9_common.jetstream.publisher import Publisher
from b9_common.replay.jobs import ReplayRequest
from b9_common.replay.log import replays_kv
from b9_common.replay.request import ask, get, is_active, live_replicas, stop

from ._cluster import Cluster
from .conftest import provision, running, service_settings, wait_until


async def test_the_gateway_asks_and_the_categorizer_runs_and_stops_a_replay(cluster: Cluster) -> None:
    from b9_categorizer.main import SERVICE as CATEGORIZER

    admin = await cluster.connect("admin")
    gateway = await cluster.connect("gateway")
    try:
        topology = await provision(admin.jetstream(timeout=10))
        facts = Publisher(admin.jetstream(timeout=10), topology, "test@0")
        await facts.publish_many([SubredditFetched(name=f"perm{i}", title="gym fitness") for i in range(20)])
        settings = service_settings(CATEGORIZER, cluster.url("categorizer"), "cat-1")
        async with running(CATEGORIZER, settings) as task:
            gjs = gateway.jetstream(timeout=10)

            async def alive() -> bool:
                return "cat-1" in await live_replicas(gjs, topology, "categorizer")

            await wait_until(alive, 30, "the categorizer's heartbeat", task)
            req = ReplayRequest("categorizer", rate=4)
            rid = await ask(gjs, topology, Publisher(gjs, topology, "gateway@test"), req, "tester")
            kv = await replays_kv(gjs, topology)

            async def running_now() -> bool:
                rec = await get(kv, rid)
                return rec is not None and rec.status == "running" and int(rec.outcome.get("visited") or 0) > 0

            await wait_until(running_now, 30, "the replay to run", task)
            await stop(gateway, topology, "categorizer", rid)

            async def ended() -> bool:
                rec = await get(kv, rid)
                return rec is not None and not is_active(rec)

            await wait_until(ended, 30, "the replay to stop", task)
        rec = await get(kv, rid)
        assert rec is not None and rec.status == "stopped", rec
        assert rec.runner["replica"] == "cat-1" and rec.started_by == "tester"
        assert 0 < rec.outcome["visited"] < 20 and rec.outcome["resume_from"] is not None
    finally:
        for nc in (gateway, admin):
            await nc.close()
