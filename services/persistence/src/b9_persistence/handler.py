"""The batch handler: group deliveries by type, check, and write each group in one transaction.

- A fact failing a semantic check -> ``d.reject(reason)`` (DLQ); the rest is written.
- The database refusing a group (a data error) -> each delivery of the group is written alone,
  and only the ones the database refuses are rejected.
- The database unreachable (connection errors, shutdown, deadlock, ...) -> ``Retry`` for the
  whole batch with a short growing delay; writes are idempotent so a partial batch is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from b9_common.errors import Retry
from b9_common.events import Envelope
from b9_common.jetstream.delivery import Delivery
from b9_common.ops import tracing

from b9_persistence.checks import check
from b9_persistence.writers_alerts import APPLY as ALERT_DECISIONS
from b9_persistence.writers_alerts import WRITERS as ALERT_WRITERS
from b9_persistence.writers_decisions import APPLY as DECISIONS
from b9_persistence.writers_decisions import ONE_STATEMENT, Pending
from b9_persistence.writers_derived import AFTER_COMMIT as DERIVED_AFTER
from b9_persistence.writers_derived import WRITERS as DERIVED_WRITERS
from b9_persistence.writers_instagram import AFTER_COMMIT as INSTAGRAM_AFTER
from b9_persistence.writers_instagram import WRITERS as INSTAGRAM_WRITERS
from b9_persistence.writers_models import APPLY as MODEL_DECISIONS
from b9_persistence.writers_models import ONE_STATEMENT as MODEL_ONE_STATEMENT
from b9_persistence.writers_reddit import WRITERS as REDDIT_WRITERS

log = logging.getLogger(__name__)

Writer = Callable[[asyncpg.Connection, list[Envelope[Any]]], Awaitable[int]]
WRITERS: dict[str, Writer] = {**REDDIT_WRITERS, **INSTAGRAM_WRITERS, **DERIVED_WRITERS, **ALERT_WRITERS}
# Statements that must see other consumers' committed rows: run after the writer's commit.
AFTER_COMMIT: dict[str, Callable[[asyncpg.Connection, list[Envelope[Any]]], Awaitable[None]]] = {
    **INSTAGRAM_AFTER, **DERIVED_AFTER,
}
DECISIONS = {**DECISIONS, **MODEL_DECISIONS, **ALERT_DECISIONS}
# Writers that are one statement (atomic alone: no transaction, one round trip); the others run in one.
ONE_STATEMENT_DECISIONS = ONE_STATEMENT | MODEL_ONE_STATEMENT

class DatabaseUnavailable(Exception):
    """No connection could be had (refused, not accepting connections, pool closing)."""


TRANSIENT: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now, canceled
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.LockNotAvailableError,
)


# What a single bad fact can cause: the group is retried one by one and only the culprit
# goes to DLQ. Any other database error (schema, programming) retries the whole batch.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.exceptions.ProgramLimitExceededError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT)


def retry_delay(num_delivered: int) -> float:
    """0.5, 1, 2, 4, 5, 5, ... seconds: a short outage is caught up quickly."""
    return float(min(5.0, 0.5 * 2 ** max(0, num_delivered - 1)))


class Persistence:
    """Writes batches of deliveries into the read model through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool,
                 on_decisions: Callable[[list[str], dict[str, str]], Awaitable[None]] | None = None) -> None:
        self.pool = pool
        self.on_decisions = on_decisions  # told the ids of decisions just committed, and of refused ones
        self.rows: dict[str, int] = {}
        self.rejected = 0
        self.db_errors = 0
        self.last_error = ""
        self.batches = 0
        self.deliveries = 0

    def status(self) -> dict[str, Any]:
        return {"batches": self.batches, "deliveries": self.deliveries, "rows": dict(self.rows),
                "rejected": self.rejected, "db_errors": self.db_errors,
                "last_error": self.last_error}

    async def handle(self, deliveries: list[Delivery]) -> None:
        self.batches += 1
        self.deliveries += len(deliveries)
        groups: dict[str, list[Delivery]] = {}
        decisions: list[Delivery] = []
        for d in deliveries:
            if d.type in DECISIONS:
                decisions.append(d)
                continue
            if d.type not in WRITERS:
                d.skip("not persisted")
                continue
            reason = check(d.type, d.data)
            if reason:
                self._reject(d, reason)
                continue
            groups.setdefault(d.type, []).append(d)
        try:
            for type_ in sorted(groups):
                await self._write_group(type_, groups[type_])
            if decisions:
                await self._write_decisions(decisions)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.db_errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            worst = max(d.meta.num_delivered for d in deliveries)
            log.warning("database unavailable, batch will be redelivered: %s", self.last_error)
            raise Retry(f"database unavailable: {self.last_error}", retry_delay(worst)) from exc

    async def _write(self, type_: str, envs: list[Envelope[Any]]) -> int:
        try:
            conn = await self.pool.acquire()
        except Exception as exc:  # any failure to connect is an outage, never the data's fault
            raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            with tracing.span(f"db write {type_}", {"db.system.name": "postgresql", "b9.events": len(envs)}):
                async with conn.transaction():
                    n = await WRITERS[type_](conn, envs)
                after = AFTER_COMMIT.get(type_)
                if after is not None:
                    await after(conn, envs)
        finally:
            await self.pool.release(conn)
        self.rows[type_] = self.rows.get(type_, 0) + n
        return n

    async def _write_group(self, type_: str, ds: list[Delivery]) -> None:
        try:
            await self._write(type_, [d.envelope for d in ds if d.envelope is not None])
            return
        except DATA_ERRORS as exc:
            if len(ds) == 1:
                self._reject(ds[0], f"database refused {type_}: {exc}")
                return
            log.warning("group of %d %s refused (%s): writing one by one", len(ds), type_, exc)
        for d in ds:
            try:
                assert d.envelope is not None
                await self._write(type_, [d.envelope])
            except DATA_ERRORS as exc:
                self._reject(d, f"database refused {type_}: {exc}")

    async def _write_decisions(self, ds: list[Delivery]) -> None:
        """People's decisions, one by one in stream order, each committed on its own.

        Most writers are one statement (one round trip: no transaction or savepoint to open);
        the others run in a transaction of their own. A decision whose entity is not stored yet
        is naked with a delay (``Pending``); one the database refuses goes to DLQ with the
        reason; the others are applied and acked. Each one is idempotent, so a batch cut short
        by an outage is simply redelivered.
        """
        try:
            conn = await self.pool.acquire()
        except Exception as exc:
            raise DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
        applied: list[str] = []
        refused: dict[str, str] = {}
        try:
            for d in ds:
                env = d.envelope
                assert env is not None
                try:
                    if d.type in ONE_STATEMENT_DECISIONS:
                        await DECISIONS[d.type](conn, env)
                    else:
                        async with conn.transaction():
                            await DECISIONS[d.type](conn, env)
                    applied.append(env.id)
                except Pending as exc:
                    d.retry(str(exc), retry_delay(d.meta.num_delivered) * 2)
                except DATA_ERRORS as exc:
                    refused[env.id] = f"database refused {d.type}: {exc}"
                    self._reject(d, refused[env.id])
            self.rows["decisions"] = self.rows.get("decisions", 0) + len(applied)
            # Before the release: giving the connection back resets it, one more round trip.
            if (applied or refused) and self.on_decisions is not None:
                await self.on_decisions(applied, refused)
        finally:
            await self.pool.release(conn)

    def _reject(self, d: Delivery, reason: str) -> None:
        self.rejected += 1
        d.reject(reason)
