"""Replay primitive: a handler re-run over a slice visits exactly the expected messages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from b9_common.events import Envelope, ScrapeAttempted, SubredditDiscovered
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.replay.runner import Slice, replay
from b9_common.service import ConsumerDef, Runtime


def _spec() -> ConsumerSpec:
    return ConsumerSpec(name="replayed", stream="SCRAPE", subjects=("subreddit.discovered", "scrape.attempted"))


async def _seed(rt: Runtime) -> tuple[datetime, datetime]:
    """10 discovered, pause, 10 discovered + 5 attempts, pause, 10 discovered. Returns the pause times."""
    await rt.publisher.publish_many(SubredditDiscovered(name=f"a{i}") for i in range(10))
    await asyncio.sleep(0.3)
    t1 = datetime.now(UTC)
    await asyncio.sleep(0.3)
    await rt.publisher.publish_many(SubredditDiscovered(name=f"b{i}") for i in range(10))
    await rt.publisher.publish_many(
        ScrapeAttempted(scraper="reddit", target_kind="subreddit", target=f"x{i}", outcome="success")
        for i in range(5)
    )
    await asyncio.sleep(0.3)
    t2 = datetime.now(UTC)
    await asyncio.sleep(0.3)
    await rt.publisher.publish_many(SubredditDiscovered(name=f"c{i}") for i in range(10))
    return t1, t2


def _collector() -> tuple[list[str], ConsumerDef]:
    seen: list[str] = []

    async def handler(env: Envelope[SubredditDiscovered | ScrapeAttempted]) -> None:
        data = env.data
        seen.append(data.name if isinstance(data, SubredditDiscovered) else data.target)

    return seen, ConsumerDef(spec=_spec(), handler=handler)


async def test_replay_by_sequence_visits_exactly_the_range(rt: Runtime) -> None:
    await _seed(rt)
    seen, cdef = _collector()
    report = await replay(rt, cdef, Slice(stream="SCRAPE", from_seq=11, to_seq=20), record_seqs=True)
    assert sorted(report.seqs) == list(range(11, 21))
    assert sorted(seen) == sorted(f"b{i}" for i in range(10))
    assert report.complete and report.handled == 10


async def test_replay_by_time_window_and_subject(rt: Runtime) -> None:
    t1, t2 = await _seed(rt)
    seen, cdef = _collector()
    report = await replay(rt, cdef, Slice(stream="SCRAPE", since=t1, until=t2))
    assert sorted(seen) == sorted([f"b{i}" for i in range(10)] + [f"x{i}" for i in range(5)])
    assert report.complete

    seen2, cdef2 = _collector()
    await replay(rt, cdef2, Slice(stream="SCRAPE", subjects=("scrape.attempted",)))
    assert sorted(seen2) == [f"x{i}" for i in range(5)]

    seen3, cdef3 = _collector()
    await replay(rt, cdef3, Slice(stream="SCRAPE", since=t2))
    assert sorted(seen3) == [f"c{i}" for i in range(10)]


async def test_replay_leaves_no_consumer_behind(rt: Runtime) -> None:
    await _seed(rt)
    _, cdef = _collector()
    await replay(rt, cdef, Slice(stream="SCRAPE"))
    names = [c.name for c in await rt.js.consumers_info(rt.topology.stream("SCRAPE"))]
    assert not [n for n in names if n.startswith("replay-")]
