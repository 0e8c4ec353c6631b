"""Stand-ins run through the real service runtime (``serve``) on the cluster.

- ``PERSISTENCE``: used until b9_persistence ships ``SERVICE``; it writes scrape attempts the
  way the read model defines them (``scrape_attempts`` keyed by event id, ``scraper_daily``
  counting only rows actually inserted), so duplicates would show in PostgreSQL.
- ``scraper(...)``: a reddit-scraper replica without Reddit: it takes
  ``scrape.requested.reddit`` commands from the work queue and publishes one
  ``scrape.attempted`` fact per command, with an id derived from the command (a re-run
  after a redelivery publishes the same id, which JetStream drops).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import asyncpg
from b9_common.delivery import Delivery
from b9_common.events import Envelope, RedditScrapeRequested, ScrapeAttempted
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef
from b9_common.settings import CommonSettings
from b9_common.topology import ConsumerSpec

INSERT = """
WITH rows AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],
                         $7::timestamptz[])
        AS t(fact_id, scraper, target_kind, target, outcome, calls, fact_at)
), ins AS (
    INSERT INTO scrape_attempts (fact_id, scraper, target_kind, target, outcome, calls, fact_at)
    SELECT * FROM rows ON CONFLICT (fact_id) DO NOTHING
    RETURNING scraper, fact_at, outcome, calls
)
INSERT INTO scraper_daily (scraper, day, outcome, attempts, calls)
SELECT scraper, (fact_at AT TIME ZONE 'UTC')::date, outcome, count(*), sum(calls) FROM ins
GROUP BY 1, 2, 3
ON CONFLICT (scraper, day, outcome) DO UPDATE
SET attempts = scraper_daily.attempts + EXCLUDED.attempts,
    calls = scraper_daily.calls + EXCLUDED.calls
"""


class StandinSettings(CommonSettings, kw_only=True):  # type: ignore[call-arg]
    database_url: str = ""


async def _persistence(settings: StandinSettings, rt: Runtime) -> App:
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=4)
    assert pool is not None

    async def write(batch: list[Delivery]) -> None:
        envs: list[Envelope[Any]] = [d.envelope for d in batch if d.envelope is not None]
        cols: list[list[Any]] = [[] for _ in range(7)]
        for e in envs:
            a: ScrapeAttempted = e.data
            for col, v in zip(
                cols,
                (e.id, a.scraper, a.target_kind, a.target, a.outcome, a.calls, e.occurred_at),
                strict=True,
            ):
                col.append(v)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(INSERT, *cols)

    spec = ConsumerSpec(
        name="persistence-attempts", stream="SCRAPE", subjects=("scrape.attempted",)
    )
    return App(consumers=[ConsumerDef(spec, batch_handler=write, batch=256)], closers=[pool.close])


PERSISTENCE = ServiceDef(
    name="persistence", version="standin", settings_cls=StandinSettings, bootstrap=_persistence
)


def scraper(handled: Counter[str]) -> ServiceDef:
    async def bootstrap(settings: CommonSettings, rt: Runtime) -> App:
        async def handle(env: Envelope[RedditScrapeRequested]) -> None:
            await rt.publisher.publish(
                ScrapeAttempted(
                    scraper="reddit",
                    target_kind="subreddit",
                    target=env.data.name,
                    outcome="success",
                    calls=1,
                    replica=rt.replica,
                ),
                id_=f"attempt-{env.id}",
            )
            handled[rt.replica] += 1

        spec = ConsumerSpec(
            name="reddit-scraper-commands", stream="COMMANDS", subjects=("scrape.requested.reddit",)
        )
        return App(consumers=[ConsumerDef(spec, handler=handle, concurrency=16)])

    return ServiceDef(
        name="reddit-scraper", version="standin", settings_cls=CommonSettings, bootstrap=bootstrap
    )
