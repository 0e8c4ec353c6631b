"""Service entry point: migrations, the asyncpg pool and the two durable consumers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import msgspec
from b9_common.db import migrate
from b9_common.events.catalogue import stream_subjects
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.replay.owner import replayable
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef, run

from b9_persistence import __version__
from b9_persistence.handler import Persistence
from b9_persistence.settings import Settings
from b9_persistence.staging import init_connection
from b9_persistence.viral_refresh import ViralRefresher

log = logging.getLogger(__name__)

CONSUMER = "persistence"
# A database outage must not send facts to DLQ: with delays capped at 5 s this allows
# about 80 minutes of outage before a message is dead-lettered.
MAX_DELIVER = 1000


STREAMS = ("SCRAPE", "DERIVED", "DECISIONS")


def consumer_specs() -> list[ConsumerSpec]:
    """One durable consumer per stream persistence keeps in the read model (a rebuild reads the same)."""
    return [
        ConsumerSpec(name=CONSUMER, stream=stream, subjects=tuple(stream_subjects(stream)),
                     max_deliver=MAX_DELIVER, ack_wait=60.0,
                     description=f"persistence: {stream} -> PostgreSQL")
        for stream in STREAMS
    ]


async def open_pool(settings: Settings, *, wait: float = 60.0) -> asyncpg.Pool:
    """Apply migrations and open the pool, waiting for the database up to ``wait`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            conn = await asyncpg.connect(settings.database_url, timeout=5)
            try:
                await migrate(conn)
            finally:
                await conn.close()
            pool = await asyncpg.create_pool(
                settings.database_url, min_size=1, max_size=settings.database_pool_size,
                init=init_connection, command_timeout=120,
            )
            assert pool is not None
            return pool
        except (TimeoutError, OSError, asyncpg.PostgresConnectionError,
                asyncpg.exceptions.CannotConnectNowError) as exc:
            if loop.time() > deadline:
                raise ConnectionError(f"DATABASE_URL: cannot reach the database: {exc}") from exc
            log.warning("database not reachable yet: %s", exc)
            await asyncio.sleep(1.0)


async def bootstrap(settings: Settings, rt: Runtime) -> App:
    pool = await open_pool(settings)
    applied_subject = rt.topology.decisions_applied_subject()

    async def announce(stored: list[str], refused: dict[str, str]) -> None:
        # Core NATS, best effort: the gateway waits for these to answer "stored" (or the reason
        # it was refused) at once; it falls back to reading decision_log when one is missed.
        await rt.nc.publish(applied_subject, msgspec.json.encode({"stored": stored, "refused": refused}))

    persistence = Persistence(pool, on_decisions=announce)

    def status() -> dict[str, Any]:
        return persistence.status()

    # busy or not by rows written, not deliveries: a posts.fetched carries up to 100 posts
    viral = ViralRefresher(settings.database_url, settings.viral_refresh_s,
                           settings.viral_snapshot_min_subreddits, lambda: sum(persistence.rows.values()))

    return App(
        consumers=[
            ConsumerDef(spec, batch_handler=persistence.handle,
                        batch=settings.persistence_batch_size,
                        # decisions apply in stream order: one batch at a time
                        batch_concurrency=1 if spec.stream == "DECISIONS"
                        else settings.persistence_batch_concurrency,
                        batch_wait=0.0 if spec.stream == "DECISIONS" else 0.02)
            for spec in consumer_specs()
        ],
        loops=[viral.run],
        closers=[pool.close],
        status=status,
    )


# replayable: also runs replay.requested.persistence (b9_common.replay.owner)
SERVICE = replayable(ServiceDef(name="persistence", version=__version__, settings_cls=Settings,
                                bootstrap=bootstrap))


def main() -> None:
    run(SERVICE)


if __name__ == "__main__":
    main()
