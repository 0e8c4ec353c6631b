"""Replays through the real persistence service: time windows, subjects, stop and resume."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from b9_common.replay.jobs import ReplayRequest, run_replay
from b9_common.replay.log import list_records
from b9_common.replay.runner import ReplayReport
from b9_common.service import Runtime
from b9_persistence.main import SERVICE as PERSISTENCE
from rt_helpers import facts, fetchval, psettings, publish, sub, user


async def _names(url: str, table: str, col: str) -> list[str]:
    rows = await fetchval(url, f"SELECT coalesce(array_agg({col} ORDER BY {col}), '{{}}') FROM {table}")
    return list(rows)


async def _three_phases(rt: Runtime) -> tuple[datetime, datetime]:
    await publish(rt, [(f"a{i}", sub(f"a{i}"), i) for i in range(10)] + [(f"ua{i}", user(f"ua{i}"), i)
                                                                          for i in range(5)])
    await asyncio.sleep(0.3)
    t1 = datetime.now(UTC)
    await asyncio.sleep(0.3)
    await publish(rt, [(f"b{i}", sub(f"b{i}"), i) for i in range(10)] + [(f"ub{i}", user(f"ub{i}"), i)
                                                                          for i in range(5)])
    await asyncio.sleep(0.3)
    t2 = datetime.now(UTC)
    await asyncio.sleep(0.3)
    await publish(rt, [(f"c{i}", sub(f"c{i}"), i) for i in range(10)])
    return t1, t2


async def test_time_window_visits_exactly_that_window(
        rt: Runtime, nats_url: str, namespace: str, database_url: str) -> None:
    t1, t2 = await _three_phases(rt)
    settings = psettings(nats_url, namespace, database_url)
    res = await run_replay(PERSISTENCE, settings, ReplayRequest("persistence", since=t1, until=t2),
                           database_url=database_url)
    assert res.report is not None and res.report.complete and res.resume_from is None
    assert res.resolved.counts["subreddit.fetched"] == 10 and res.resolved.total == 15
    assert res.report.visited == 15 and res.report.handled == 15
    assert await _names(database_url, "subreddits", "name") == sorted(f"b{i}" for i in range(10))
    assert await _names(database_url, "reddit_users", "username") == sorted(f"ub{i}" for i in range(5))


async def test_subject_filter_visits_only_that_subject(
        rt: Runtime, nats_url: str, namespace: str, database_url: str) -> None:
    t1, _ = await _three_phases(rt)
    settings = psettings(nats_url, namespace, database_url)
    res = await run_replay(PERSISTENCE, settings,
                           ReplayRequest("persistence:persistence", stream="SCRAPE", subjects=("user.fetched",)),
                           database_url=database_url)
    assert res.report is not None and res.report.visited == 10 and res.resolved.total == 10
    assert await fetchval(database_url, "SELECT count(*) FROM subreddits") == 0
    assert await fetchval(database_url, "SELECT count(*) FROM reddit_users") == 10
    # time and subject together
    res2 = await run_replay(PERSISTENCE, settings, ReplayRequest("persistence", subjects=("subreddit.fetched",),
                                                                 since=t1), database_url=database_url)
    assert res2.report is not None and res2.report.visited == 20
    names = await _names(database_url, "subreddits", "name")
    assert names == sorted([f"b{i}" for i in range(10)] + [f"c{i}" for i in range(10)])


async def test_sequence_slice_and_dry_run(rt: Runtime, nats_url: str, namespace: str, database_url: str) -> None:
    await _three_phases(rt)  # seqs 1-15 phase a, 16-30 phase b, 31-40 phase c
    settings = psettings(nats_url, namespace, database_url)
    dry = await run_replay(PERSISTENCE, settings, ReplayRequest("persistence", from_seq=16, to_seq=30, dry_run=True))
    assert dry.report is None and dry.resolved.counts["subreddit.fetched"] == 10
    assert dry.resolved.counts["user.fetched"] == 5 and dry.resolved.total == 15
    assert await fetchval(database_url, "SELECT count(*) FROM subreddits") == 0
    res = await run_replay(PERSISTENCE, settings, ReplayRequest("persistence", from_seq=16, to_seq=30))
    assert res.report is not None and res.report.visited == 15
    assert await _names(database_url, "subreddits", "name") == sorted(f"b{i}" for i in range(10))


async def test_stop_midway_then_resume_covers_everything(
        rt: Runtime, nats_url: str, namespace: str, database_url: str) -> None:
    await publish(rt, facts("r", 150))  # 600 events
    settings = psettings(nats_url, namespace, database_url)
    stop = asyncio.Event()

    def progress(report: ReplayReport, total: int) -> None:
        if report.visited >= 200:
            stop.set()

    res = await run_replay(PERSISTENCE, settings, ReplayRequest("persistence", rate=400.0), progress=progress,
                           stop=stop, database_url=database_url)
    assert res.report is not None and not res.report.complete
    assert res.resume_from is not None and 1 < res.resume_from <= 600
    assert 200 <= res.report.visited < 600
    assert await fetchval(database_url, "SELECT count(*) FROM reddit_users") < 150
    records = await list_records(rt.js, rt.topology, database_url)
    assert records[0].status == "stopped" and records[0].outcome["resume_from"] == res.resume_from
    rest = await run_replay(PERSISTENCE, settings,
                            ReplayRequest("persistence", from_seq=res.resume_from, to_seq=res.resolved.end),
                            database_url=database_url)
    assert rest.report is not None and rest.report.complete
    assert rest.report.visited + res.report.visited >= 600
    assert await fetchval(database_url, "SELECT count(*) FROM subreddits") == 150
    assert await fetchval(database_url, "SELECT count(*) FROM reddit_users") == 150
    assert await fetchval(database_url, "SELECT count(*) FROM reddit_posts") == 300
    # the newer fact won although the older one was stored later
    assert await fetchval(database_url, "SELECT min(subscribers) FROM subreddits") == 2000
