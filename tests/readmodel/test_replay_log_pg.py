"""The replay log writes and reads PostgreSQL through b9_readmodel.replays: a record whose KV copy
is gone is still listed and found, with its end and outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from b9_common.replay.log import ReplayLog, get_record, list_records, new_record, replays_kv
from b9_common.service import Runtime


async def test_records_survive_in_postgresql(rt: Runtime, database_url: str, pool: asyncpg.Pool) -> None:
    log = ReplayLog(rt.js, rt.topology, database_url)
    rec = new_record("persistence:SCRAPE", {"stream": "SCRAPE", "from_seq": 1}, started_by="ann@box")
    await log.save(rec)  # running: inserted
    rec.finished_at, rec.outcome = datetime.now(UTC), {"status": "complete", "handled": 3}
    await log.save(rec)  # ended: updated
    row = await pool.fetchrow("SELECT consumer, outcome->>'status' AS status, finished_at FROM replays WHERE id = $1",
                              rec.id)
    assert row is not None and row["status"] == "complete" and row["finished_at"] is not None
    await (await replays_kv(rt.js, rt.topology)).delete(rec.id)  # only PostgreSQL has it now
    found = await get_record(rt.js, rt.topology, rec.id, database_url)
    assert found is not None and found.outcome == {"status": "complete", "handled": 3}
    assert found.slice == {"stream": "SCRAPE", "from_seq": 1} and found.started_by == "ann@box"
    listed = await list_records(rt.js, rt.topology, database_url)
    assert [r.id for r in listed] == [rec.id] and listed[0].finished_at is not None
