"""The replay log's queries on the real ``replays`` table: insert, update of the end, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from b9_readmodel import replays


async def test_save_updates_the_row_and_reads_come_back_typed(pool: asyncpg.Pool) -> None:
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    await replays.save_replay(pool, "r1", "persistence:SCRAPE", {"stream": "SCRAPE"}, "ann@box", t0, None,
                              {"status": "running"})
    await replays.save_replay(pool, "r2", "alerts:DERIVED", {"stream": "DERIVED", "from_seq": 5}, "bob@box",
                              t0 + timedelta(hours=1), None, {"status": "running"})
    end = t0 + timedelta(minutes=3)
    await replays.save_replay(pool, "r1", "persistence:SCRAPE", {"stream": "SCRAPE", "to_seq": 9}, "ann@box", t0,
                              end, {"status": "complete", "handled": 9})
    got = await replays.replay(pool, "r1")
    assert got == replays.ReplayRow("r1", "persistence:SCRAPE", {"stream": "SCRAPE", "to_seq": 9}, "ann@box", t0,
                                    end, {"status": "complete", "handled": 9})
    assert await replays.replay(pool, "nope") is None
    assert [r.id for r in await replays.newest_replays(pool, 10)] == ["r2", "r1"]
    assert [r.id for r in await replays.newest_replays(pool, 1)] == ["r2"]
    await pool.execute("INSERT INTO replays (id, consumer, slice, started_at) VALUES ('r0', 'c', '{}', $1)",
                       t0 - timedelta(days=1))
    old = await replays.replay(pool, "r0")
    assert old is not None and old.outcome is None and old.started_by is None
