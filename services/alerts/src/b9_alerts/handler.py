"""Rule evaluation: events from SCRAPE / DERIVED / DECISIONS -> ``notification.created``.

- One notification per (rule, entity, occurrence): its event id is ``notification_id(...)`` (the
  ``Nats-Msg-Id`` too), occurrence ``once`` for ``repeat: once`` rules, the event id for ``every``;
  redeliveries dedupe on the stream's duplicate window and on persistence's primary key, and a
  bounded set of ids this process published skips the publish altogether.
- A rule sees the events stored after it was made (the stream time of the delivery). A replay (any
  consumer but our durables) sees every event, marks its notifications ``replayed`` (never sent as
  webhooks) and is not capped.
- Per rule, at most ``cap`` notifications per ``window_seconds`` (counted per process); the rest of
  the window becomes one digest notification (count + up to 20 entities) when the window ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import msgspec
from b9_common.events import Envelope
from b9_common.events.alerts import NotificationCreated
from b9_common.jetstream.delivery import Delivery
from b9_common.jetstream.publisher import Publisher
from b9_readmodel.alerts import newest_notification_ids

from b9_alerts.rules import Rule, RuleSet

log = logging.getLogger(__name__)
DURABLES = frozenset({"alerts", "alerts-webhooks"})
SAMPLE = 20
SEEN_MAX = 200_000


def notification_id(rule_id: str, entity: str, occurrence: str) -> str:
    return "n" + hashlib.sha256(f"{rule_id}\x00{entity}\x00{occurrence}".encode()).hexdigest()[:31]


@dataclass
class Window:
    rule: Rule
    started: float  # monotonic
    started_at: datetime
    count: int = 0
    suppressed: int = 0
    sample: list[str] = field(default_factory=list)


class Evaluator:
    def __init__(self, rules: RuleSet, publisher: Publisher) -> None:
        self.rules, self.publisher = rules, publisher
        self.windows: dict[str, Window] = {}
        self.ended: list[Window] = []
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.matched = self.published = self.suppressed = self.digests = 0

    def status(self) -> dict[str, Any]:
        return {"rules": sum(r.active for r in self.rules.rules.values()), "matched": self.matched,
                "published": self.published, "suppressed": self.suppressed, "digests": self.digests}

    def _admit(self, rule: Rule, entity: str) -> bool:
        now = time.monotonic()
        w = self.windows.get(rule.id)
        if w is None or now - w.started >= rule.window_seconds:
            if w is not None and w.suppressed:
                self.ended.append(w)
            w = self.windows[rule.id] = Window(rule, now, datetime.now(UTC))
        w.count += 1
        if w.count <= rule.cap:
            return True
        w.suppressed += 1
        self.suppressed += 1
        if len(w.sample) < SAMPLE:
            w.sample.append(entity)
        return False

    async def handle(self, deliveries: list[Delivery]) -> None:
        out: list[Envelope[Any]] = []
        batch_ids: set[str] = set()
        by_source = self.rules.by_source
        for d in deliveries:
            env = d.envelope
            targets = by_source.get(d.type) if env is not None else None
            if not targets or env is None:
                d.skip("no rule watches it")
                continue
            replayed = d.meta.consumer not in DURABLES
            stored_ns = d.meta.timestamp_ns or int(env.occurred_at.timestamp() * 1e9)
            full: dict[str, Any] | None = None  # the whole payload as plain data, made on the first match
            for target, matcher in targets:
                for i, (entity, f) in enumerate(target.items(matcher.project(env.data))):
                    for rule in matcher.candidates(f):
                        if (not replayed and stored_ns < rule.created_ns) or not rule.predicate(f):  # type: ignore[misc]
                            continue
                        self.matched += 1
                        occurrence = "once" if rule.repeat == "once" else env.id
                        nid = notification_id(rule.id, entity, occurrence)
                        if nid in self.seen or nid in batch_ids:
                            continue
                        if not replayed and not self._admit(rule, entity):
                            continue
                        batch_ids.add(nid)
                        if full is None:
                            full = msgspec.to_builtins(env.data)
                        _, whole = next(islice(target.items(full), i, None))
                        note = NotificationCreated(
                            rule_id=rule.id, rule_name=rule.name, on=rule.on, entity=entity, occurrence=occurrence,
                            title=target.title(entity, whole), link=target.link(entity, whole), event_id=env.id,
                            event_type=env.type, event_at=env.occurred_at, fields=_small(whole), replayed=replayed)
                        out.append(self.publisher.envelope(note, id_=nid, trace=env.trace))
        if out:
            await self.publisher.publish_many(out)  # raises: the whole batch is redelivered
            self.published += len(out)
            self._remember(batch_ids)

    async def evaluate_rows(self, source: str, rows: list[dict[str, Any]], day: str) -> int:
        """Insight rows (``b9_common.alerting.insights``) against the rules on ``source``: the same matching,
        caps and ids as events; occurrence ``once`` or, for ``repeat: every``, the UTC day."""
        targets = self.rules.by_source.get(source)
        out: list[Envelope[Any]] = []
        batch_ids: set[str] = set()
        for target, matcher in targets or ():
            for row in rows:
                for entity, f in target.items(row):
                    for rule in matcher.candidates(f):
                        if not rule.predicate(f):  # type: ignore[misc]
                            continue
                        self.matched += 1
                        occurrence = "once" if rule.repeat == "once" else day
                        nid = notification_id(rule.id, entity, occurrence)
                        if nid in self.seen or nid in batch_ids or not self._admit(rule, entity):
                            continue
                        batch_ids.add(nid)
                        out.append(self.publisher.envelope(NotificationCreated(
                            rule_id=rule.id, rule_name=rule.name, on=rule.on, entity=entity, occurrence=occurrence,
                            title=target.title(entity, f), link=target.link(entity, f), event_type=source,
                            fields=_small(f)), id_=nid))
        if out:
            await self.publisher.publish_many(out)
            self.published += len(out)
            self._remember(batch_ids)
        return len(out)

    async def preload(self, pool: Any) -> int:
        """The ids of the newest notifications already stored: a restart does not publish them again
        (nor count them against a cap)."""
        rows = await newest_notification_ids(pool, SEEN_MAX)
        self._remember({r["id"] for r in reversed(rows)})
        return len(rows)

    def _remember(self, ids: set[str]) -> None:
        for i in ids:
            self.seen[i] = None
        while len(self.seen) > SEEN_MAX:
            self.seen.popitem(last=False)

    async def flush_digests(self) -> None:
        """Publish the digests of windows that ended (called every half second)."""
        now = time.monotonic()
        for rid, w in list(self.windows.items()):
            if now - w.started >= w.rule.window_seconds:
                del self.windows[rid]
                if w.suppressed:
                    self.ended.append(w)
        while self.ended:
            w = self.ended[0]
            rule = w.rule
            nid = notification_id(rule.id, "digest", w.started_at.isoformat())
            note = NotificationCreated(
                rule_id=rule.id, rule_name=rule.name, on=rule.on, entity="digest", occurrence=w.started_at.isoformat(),
                title=f"{rule.name}: {w.suppressed} more matches in {rule.window_seconds} s (cap {rule.cap})",
                link="/#/alerts", digest=True, count=w.suppressed, entities=list(w.sample))
            await self.publisher.publish_envelope(self.publisher.envelope(note, id_=nid))
            self.ended.pop(0)
            self.digests += 1

    async def digest_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                await self.flush_digests()
            except Exception as exc:  # NATS away: the digest stays queued and is tried again
                log.warning("digest not published yet: %s", exc)


def _small(fields: dict[str, Any]) -> dict[str, Any]:
    """The event's scalar fields (lists and objects left out): enough for a message, small to store."""
    return {k: v for k, v in fields.items()
            if not isinstance(v, list | dict) and not (isinstance(v, str) and len(v) > 500)}
