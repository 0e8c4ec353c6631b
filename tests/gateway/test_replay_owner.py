"""Replays run by their owners: a replay asked through the API runs in a replica of the owning
service (a real ``b9-categorizer`` process here, not the gateway's), a command sent twice to two replicas runs
once, refusals and a missing owner reach the caller with the reason, and the gateway holds no
other service's settings."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from importlib.metadata import requires
from pathlib import Path

import msgspec
import pytest
from b9_categorizer.main import SERVICE as CATEGORIZER
from b9_categorizer.settings import Settings as CSettings
from b9_common.events import SubredditFetched
from b9_common.events.commands import REPLAY_COMMANDS
from b9_common.replay.log import ReplayRecord, replays_kv
from b9_common.replay.owner import replays_only
from b9_common.replay.request import live_replicas
from b9_common.settings import load_settings
from b9_gateway.settings import Settings
from gwenv import Env
from gwlive import until

REPLICA = "categorizer-owner-test"


@pytest.fixture(scope="module")
async def categorizer(env: Env, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[int]:
    """``b9-categorizer`` as its own process (rule path: no OpenAI key); yields its pid."""
    log = tmp_path_factory.mktemp("owner") / "categorizer.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DATABASE_URL"))}
    environ.update({"NATS_URL": env.settings.nats_url, "B9_NAMESPACE": env.settings.b9_namespace,
                    "METRICS_PORT": "-1", "REPLICA_ID": REPLICA, "LOG_LEVEL": "INFO"})
    script = Path(sys.executable).parent / "b9-categorizer"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(str(script), env=environ, stdout=out, stderr=out)

    async def alive() -> bool:
        if proc.returncode is not None:
            raise AssertionError(f"b9-categorizer exited {proc.returncode}: {log.read_text()[-2000:]}")
        return REPLICA in await live_replicas(env.rt.js, env.rt.topology, "categorizer")

    try:
        await until(alive, 60, "b9-categorizer's heartbeat")
        yield proc.pid
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)


async def last_seq(env: Env, stream: str) -> int:
    return int((await env.rt.js.stream_info(env.rt.topology.stream(stream))).state.last_seq)


async def publish_subs(env: Env, prefix: str, n: int) -> tuple[int, int]:
    first = await last_seq(env, "SCRAPE") + 1
    await env.rt.publisher.publish_many([
        SubredditFetched(name=f"{prefix}{i}", title=f"{prefix} {i}", subscribers=100 + i, over18=True,
                         public_description="fitness gym workout") for i in range(n)])
    return first, await last_seq(env, "SCRAPE")


async def test_a_replay_from_the_api_runs_in_the_owning_service_process(env: Env, categorizer: int) -> None:
    first, end = await publish_subs(env, "owned", 8)
    r = await env.client.post("/api/v1/replays", json={
        "consumer": "categorizer", "from_seq": first, "to_seq": end, "subject": "subreddit.fetched", "by": "owner"})
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    assert r.json()["runner"]["service"] == "categorizer"

    async def done() -> bool:
        return (await env.client.get(f"/api/v1/replays/{rid}")).json()["status"] not in ("starting", "running")

    await until(done, 60, "the categorizer's replay")
    p = (await env.client.get(f"/api/v1/replays/{rid}")).json()
    assert p["status"] == "completed", p
    # (the live categorizer in that process tagged them first: the replay finds them unchanged)
    assert (p["total"], p["processed"], p["handled"] + p["skipped"], p["dead_lettered"]) == (8, 8, 8, 0)
    assert p["consumer"] == "categorizer:categorizer" and p["started_by"] == "owner"
    # the process that ran it: the b9-categorizer subprocess, not this one (where the gateway runs)
    runner = p["runner"]
    assert runner["service"] == "categorizer" and runner["replica"] == REPLICA
    assert runner["pid"] == categorizer and runner["pid"] != os.getpid()


async def test_the_same_replay_requested_twice_runs_once(env: Env, categorizer: int) -> None:
    # two replicas share the command consumer: the subprocess and one serving replays in this process
    cat = CSettings(nats_url=env.settings.nats_url, b9_namespace=env.settings.b9_namespace, metrics_port=-1,
                    replica_id="categorizer-in-test")
    async with replays_only(CATEGORIZER, cat):
        await requested_twice_runs_once(env)


async def requested_twice_runs_once(env: Env) -> None:
    first, end = await publish_subs(env, "twice", 5)
    kv = await replays_kv(env.rt.js, env.rt.topology)
    rid = "01J00000000000000000000000"
    watcher = await kv.watch(rid)
    cmd = REPLAY_COMMANDS["categorizer"](replay_id=rid, from_seq=first, to_seq=end, requested_by="twice")
    # two distinct events carrying one replay id (JetStream's duplicate window would drop the second
    # copy of one event id; the owner's claim must drop a command that gets past it)
    await env.rt.publisher.publish(cmd, id_=f"{rid}-a")
    await env.rt.publisher.publish(cmd, id_=f"{rid}-b")
    statuses: list[str] = []

    async def collect() -> None:
        async for entry in watcher:
            if entry is not None and entry.value:
                statuses.append(msgspec.json.decode(entry.value, type=ReplayRecord).status)

    reader = asyncio.create_task(collect())
    commands = env.rt.topology.stream("COMMANDS")

    async def both_taken() -> bool:
        info = await env.rt.js.consumer_info(commands, "categorizer-replays")
        return info.delivered.consumer_seq >= 2 and not info.num_pending and not info.num_ack_pending

    async def ended() -> bool:
        return "complete" in statuses

    await until(both_taken, 30, "both commands to be taken")
    await until(ended, 30, "the replay to end")
    await asyncio.sleep(1.0)  # a second run would write its claim and progress after the end
    reader.cancel()
    await watcher.stop()
    assert statuses.count("starting") == 1 and statuses[-1] == "complete", statuses
    assert statuses.index("complete") == len(statuses) - 1, statuses
    assert len(await live_replicas(env.rt.js, env.rt.topology, "categorizer")) == 2


async def test_refusals_and_a_missing_owner_reach_the_caller(env: Env, categorizer: int) -> None:
    # refused by the owning service (it knows its consumers): the reason and the field
    r = await env.client.post("/api/v1/replays", json={"consumer": "categorizer:categorizer-commands"})
    assert r.status_code == 422 and "work queue" in r.json()["error"], r.text
    r = await env.client.post("/api/v1/replays", json={"consumer": "categorizer", "subject": "user.fetched"})
    assert r.status_code == 422 and "not consumed by categorizer" in r.json()["error"], r.text
    # no replica of media runs: said at once, nothing waits for an owner that is not there
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    r = await env.client.post("/api/v1/replays", json={"consumer": "media"})
    assert r.status_code == 409 and "no media replica is running" in r.json()["detail"], r.text
    assert loop.time() - t0 < 5


def test_the_gateway_holds_no_other_services_settings() -> None:
    fields = Settings.__struct_fields__
    assert not [f for f in fields if f.startswith(("openai", "persistence", "categorizer", "reddit_client"))]
    assert not hasattr(Settings, "service_env")
    settings = load_settings(Settings, {
        "OPENAI_API_KEY": "sk-not-for-the-gateway", "REDDIT_CLIENT_SECRET": "not-for-the-gateway",
        "DATABASE_URL": "postgresql://b9_reader:r@db/b9", "NATS_URL": "nats://127.0.0.1:4222"})
    assert b"not-for-the-gateway" not in msgspec.json.encode(settings)
    # the gateway's package depends on no other service (its image carries none)
    deps = " ".join(requires("b9-gateway") or [])
    others = ("b9-persistence", "b9-categorizer", "b9-media", "b9-alerts", "b9-reddit", "b9-instagram")
    assert not [o for o in others if o in deps], deps
