"""Service entry point: ``b9-alerts`` (SERVICE is picked up by ``b9 run`` and replays).

Consumers: ``alerts`` on SCRAPE, DERIVED (all but its own types) and DECISIONS (all but rule
changes) evaluates the rules; ``alerts-webhooks`` on DERIVED (``notification.created``) sends
webhooks. Rule changes reach every replica on core NATS (a durable consumer would hand each one
to a single replica).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from b9_common.alerting import insights
from b9_common.alerting.rules import INSIGHTS
from b9_common.errors import DecodeError
from b9_common.events.catalogue import decoder_for, stream_subjects
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.replay.owner import replayable
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef, run
from b9_readmodel import insights as rm_insights
from nats.js.errors import KeyNotFoundError

from b9_alerts import __version__
from b9_alerts.handler import Evaluator
from b9_alerts.rules import RuleSet
from b9_alerts.settings import Settings
from b9_alerts.webhooks import CONSUMER as WEBHOOKS
from b9_alerts.webhooks import Sender

log = logging.getLogger(__name__)
OWN = ("notification.created", "webhook.delivered", "webhook.failed")
RULE_EVENTS = ("alert_rule.created", "alert_rule.updated", "alert_rule.deleted")


def consumer_specs(settings: Settings) -> tuple[list[ConsumerSpec], ConsumerSpec]:
    evaluate = [
        ConsumerSpec(name="alerts", stream=stream, max_deliver=20, ack_wait=settings.alerts_ack_wait,
                     subjects=tuple(t for t in stream_subjects(stream) if t not in OWN + RULE_EVENTS),
                     description=f"alerts: rules over {stream}")
        for stream in ("SCRAPE", "DERIVED", "DECISIONS")
    ]
    webhooks = ConsumerSpec(name=WEBHOOKS, stream="DERIVED", subjects=("notification.created",), max_deliver=20,
                            ack_wait=settings.alerts_ack_wait + settings.alert_webhook_retry_seconds
                            + settings.alert_webhook_timeout,
                            description="alerts: webhook deliveries")
    return evaluate, webhooks


async def bootstrap(settings: Settings, rt: Runtime) -> App:
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=4, command_timeout=30)
    assert pool is not None
    rules = RuleSet()

    async def on_rule(msg: Any) -> None:
        type_ = rt.topology.type_of(msg.subject)
        try:
            rules.apply(decoder_for(type_).decode(msg.data))
        except DecodeError as exc:
            log.warning("undecodable rule change on %s: %s", msg.subject, exc)

    subs = [await rt.nc.subscribe(rt.topology.subject(t), cb=on_rule) for t in RULE_EVENTS]
    await rules.load(pool)  # after subscribing: a change made meanwhile is not missed (newer-wins merges both)

    async def refresh() -> None:
        while True:
            await asyncio.sleep(settings.alerts_rules_refresh)
            try:
                await rules.load(pool)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("rules not reloaded: %s", exc)

    evaluator = Evaluator(rules, rt.publisher)
    await evaluator.preload(pool)

    async def insights_loop() -> None:
        while True:
            await asyncio.sleep(settings.alerts_insights_interval)
            try:
                await evaluate_insights(pool, rt, evaluator)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("insights not evaluated: %s", exc)
    sender = Sender(settings, rules, rt.publisher, pool)
    evaluate, webhooks = consumer_specs(settings)

    async def close() -> None:
        for s in subs:
            try:
                await s.unsubscribe()
            except Exception:  # connection already closing
                pass
        await sender.close()
        await pool.close()

    def status() -> dict[str, Any]:
        return {**evaluator.status(), "delivered": sender.delivered, "failed": sender.failed}

    return App(
        consumers=[
            # two batches in flight: the next is fetched and decoded while one is evaluated (order does not
            # matter: ids are deterministic, a notification two batches both publish is stored once)
            *(ConsumerDef(spec, batch_handler=evaluator.handle, batch=settings.alerts_batch, batch_concurrency=2,
                          batch_wait=0.02) for spec in evaluate),
            # one batch of at most ALERT_WEBHOOK_CONCURRENCY at a time: no delivery waits for a slot (ack_wait)
            ConsumerDef(webhooks, batch_handler=sender.handle, batch=settings.alert_webhook_concurrency,
                        batch_concurrency=1, batch_wait=0.0),
        ],
        # a loop that returns ends the service: the insights loop runs only when it has an interval
        loops=[evaluator.digest_loop, refresh, *([insights_loop] if settings.alerts_insights_interval > 0 else [])],
        closers=[close],
        status=status,
    )


async def evaluate_insights(pool: asyncpg.Pool, rt: Runtime, evaluator: Evaluator) -> int:
    """Rules on insights: computed from the read model only when some active rule watches them."""
    sources = evaluator.rules.by_source
    day = datetime.now(UTC).date().isoformat()
    n = 0
    if INSIGHTS["subreddit.rising"] in sources:
        rows = [dict(r) for r in await rm_insights.rising(pool, 7, 3)]
        n += await evaluator.evaluate_rows(INSIGHTS["subreddit.rising"], rows, day)
    if INSIGHTS["creator.flagged"] in sources:
        control = await rt.topology.control_kv(rt.js)
        try:
            given = msgspec.json.decode((await control.get("insights.authenticity")).value or b"{}",
                                        type=dict[str, float])
        except (KeyNotFoundError, msgspec.DecodeError):
            given = {}
        found = insights.assess([dict(r) for r in await rm_insights.creator_histories(pool)], given)
        rows = [{**a, "signals": [s["signal"] for s in a["signals"]]} for a in found if a["score"] > 0]
        n += await evaluator.evaluate_rows(INSIGHTS["creator.flagged"], rows, day)
    return n


# replayable: also runs replay.requested.alerts (b9_common.replay.owner)
SERVICE = replayable(ServiceDef(name="alerts", version=__version__, settings_cls=Settings, bootstrap=bootstrap))


def main() -> None:
    run(SERVICE)


if __name__ == "__main__":
    main()
