"""A replay run by several processes (REPLAY_WORKERS = 2: the replica + one worker subprocess
pulling from the replay's consumer): counts summed and exact, the worker named in the record and
gone at the end; a stop ends `stopped` with a `resume_from` from which the rest completes the
slice; a worker killed mid-replay loses nothing (its messages come back after ack_wait)."""

from __future__ import annotations

import os
import signal

from b9_categorizer.main import SERVICE as CATEGORIZER
from b9_categorizer.settings import Settings as CSettings
from b9_common.replay.jobs import ReplayRequest
from b9_common.replay.log import ReplayRecord, replays_kv
from b9_common.replay.owner import replays_only
from b9_common.replay.request import ask, get, is_active, stop
from b9_common.service import Runtime
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.settings import Settings as PSettings
from nats.js.kv import KeyValue
from rt_helpers import facts, fetchval, publish, sub, until


class TwoProcessPersistence(PSettings, kw_only=True):
    """Persistence's settings plus the replay setting the categorizer has (its default ack_wait,
    30 s, keeps the crash test short); a worker reads them back as PSettings."""

    replay_workers: int = 2


async def gone(pid: int) -> bool:
    """The worker has exited (it does once the replay ended: its record may be written first)."""

    async def exited() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    await until(exited, 20, f"replay worker {pid} to exit")
    return True


async def ended(kv: KeyValue, rid: str, within: float = 120) -> ReplayRecord:
    """The replay's record once it has ended (complete, stopped or failed)."""
    last: list[ReplayRecord] = []

    async def check() -> bool:
        rec = await get(kv, rid)
        last[:] = [rec] if rec is not None else []
        return rec is not None and not is_active(rec)

    await until(check, within, "the replay to end")
    return last[0]


async def run_to_end(rt: Runtime, req: ReplayRequest) -> ReplayRecord:
    kv = await replays_kv(rt.js, rt.topology)
    return await ended(kv, await ask(rt.js, rt.topology, rt.publisher, req, "tester@test"))


async def derived(rt: Runtime) -> int:
    return int((await rt.js.stream_info(rt.topology.stream("DERIVED"))).state.messages)


async def test_two_processes_share_a_categorizer_replay(rt: Runtime, nats_url: str, namespace: str) -> None:
    n = 10_000
    await publish(rt, [(f"w{i}", sub(f"workers{i}", 1000 + i), i / 100) for i in range(n)])
    cat = CSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1, replay_workers=2)
    async with replays_only(CATEGORIZER, cat):
        rec = await run_to_end(rt, ReplayRequest("categorizer"))
    o = rec.outcome
    assert o["status"] == "complete", o
    assert (o["total"], o["visited"], o["handled"], o["dead_lettered"]) == (n, n, n, 0), o
    assert rec.runner["pid"] == os.getpid()
    workers = rec.runner["workers"]
    assert len(workers) == 1 and workers[0] != os.getpid(), rec.runner
    # both processes took part, and together they visited the slice exactly once
    by = {int(k): v for k, v in o["by_process"].items()}
    assert set(by) == {os.getpid(), workers[0]} and all(v > 0 for v in by.values()) and sum(by.values()) == n, by
    assert await derived(rt) == n
    assert await gone(workers[0])  # the worker exits when the replay ends


async def test_a_stopped_two_process_replay_resumes_without_a_gap(
        rt: Runtime, nats_url: str, namespace: str) -> None:
    n = 40_000
    for part in range(4):
        await publish(rt, [(f"r{i}", sub(f"resumed{i}", 1000 + i), i / 1000)
                           for i in range(part * 10_000, (part + 1) * 10_000)])
    cat = CSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1, replay_workers=2)
    kv = await replays_kv(rt.js, rt.topology)
    async with replays_only(CATEGORIZER, cat):
        rid = await ask(rt.js, rt.topology, rt.publisher, ReplayRequest("categorizer"), "tester@test")

        async def moving() -> bool:
            rec = await get(kv, rid)
            return rec is not None and (rec.outcome.get("visited") or 0) > 0

        await until(moving, 60, "the replay to make progress")
        await stop(rt.nc, rt.topology, "categorizer", rid)
        first = await ended(kv, rid, 60)
        o = first.outcome
        assert o["status"] == "stopped", o
        resume = int(o["resume_from"])
        assert 1 <= resume <= n and o["visited"] < n, o
        assert await gone(first.runner["workers"][0])
        rest = await run_to_end(rt, ReplayRequest("categorizer", from_seq=resume, to_seq=n))
    assert rest.outcome["status"] == "complete", rest.outcome
    # nothing of the slice was missed: every subreddit is categorized, each once (ids are
    # deterministic: what both runs handled is one message in DERIVED)
    assert rest.outcome["total"] == n - resume + 1
    assert await derived(rt) == n


async def test_a_killed_worker_loses_nothing(rt: Runtime, nats_url: str, namespace: str, database_url: str) -> None:
    m = 6000
    for part in range(3):  # 24,000 facts: 6,000 subreddits (each twice), users, posts
        await publish(rt, facts(f"k{part}x", m // 3))
    settings = TwoProcessPersistence(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1,
                                     database_url=database_url)
    kv = await replays_kv(rt.js, rt.topology)
    async with replays_only(PERSISTENCE, settings):
        rid = await ask(rt.js, rt.topology, rt.publisher, ReplayRequest("persistence"), "tester@test")

        async def moving() -> bool:
            rec = await get(kv, rid)
            return rec is not None and (rec.outcome.get("visited") or 0) > 0 and bool(rec.runner.get("workers"))

        await until(moving, 60, "the replay to make progress")
        rec = await get(kv, rid)
        assert rec is not None
        worker = rec.runner["workers"][0]
        os.kill(worker, signal.SIGKILL)
        end = await ended(kv, rid)  # what it held comes back after ack_wait (30 s)
    o = end.outcome
    assert o["status"] == "complete" and o["dead_lettered"] == 0, o
    assert o["total"] == 4 * m and 0 < o["visited"] <= 4 * m, o
    for table, expected in (("subreddits", m), ("reddit_users", m), ("reddit_posts", 2 * m)):
        assert await fetchval(database_url, f"SELECT count(*) FROM {table}") == expected, table
    # the newer fact of each subreddit won, whichever process stored which
    wrong = "SELECT count(*) FROM subreddits WHERE subscribers <> 2000 + substring(name from 'x([0-9]+)$')::int"
    assert await fetchval(database_url, wrong) == 0
