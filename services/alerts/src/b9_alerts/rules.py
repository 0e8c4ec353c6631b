"""The rules in force, indexed by the event type they watch.

Loaded from ``alert_rules`` (read-only) at start and every ``ALERTS_RULES_REFRESH`` seconds, and
changed at once by the ``alert_rule.*`` events every replica hears on core NATS. Both paths apply
newer-wins on ``(decided_at, decision_id)``, and a deleted rule stays deleted (tombstone), so the
order in which an event and a reload arrive does not matter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from b9_common.alerting.rules import TARGETS, Predicate, Target, WhereError, compile_where
from b9_common.events import Envelope
from b9_readmodel import alerts as rm_alerts

from b9_alerts.index import Matcher
from b9_alerts.project import projector

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIELDS = ("name", "on", "where", "webhook", "slack", "repeat", "cap", "window_seconds", "paused")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    on: str
    where: dict[str, Any]
    webhook: str | None
    slack: bool
    repeat: str
    cap: int
    window_seconds: int
    paused: bool
    created_at: datetime
    decided: tuple[datetime, str]  # (decided_at, decision_id) of the last change
    deleted: bool = False
    predicate: Predicate | None = field(default=None, compare=False)
    created_ns: int = field(default=0, compare=False)  # created_at in unix ns (against the stream time)

    @property
    def active(self) -> bool:
        return not self.deleted and not self.paused and self.predicate is not None and self.on in TARGETS


def _compiled(rule: Rule) -> Rule:
    if rule.deleted or rule.on not in TARGETS:
        return replace(rule, predicate=None)
    try:
        return replace(rule, predicate=compile_where(rule.where),
                       created_ns=(rule.created_at - EPOCH) // timedelta(microseconds=1) * 1000)
    except WhereError as exc:
        log.warning("alert rule %s has a filter that does not compile (%s): inactive", rule.id, exc)
        return replace(rule, predicate=None)


class RuleSet:
    def __init__(self) -> None:
        self.rules: dict[str, Rule] = {}
        # source event type -> [(target, the active rules on it)]
        self.by_source: dict[str, list[tuple[Target, Matcher]]] = {}

    def get(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)

    def _put(self, rule: Rule) -> bool:
        old = self.rules.get(rule.id)
        if old is not None and (old.decided >= rule.decided or (old.deleted and not rule.deleted)):
            return False
        self.rules[rule.id] = _compiled(rule)
        return True

    def _reindex(self) -> None:
        index: dict[str, dict[str, tuple[Target, list[Rule]]]] = {}
        for rule in self.rules.values():
            if rule.active:
                target = TARGETS[rule.on]
                index.setdefault(target.source, {}).setdefault(target.name, (target, []))[1].append(rule)
        self.by_source = {src: [(t, Matcher(rs, projector(t, [r.where for r in rs]))) for t, rs in by_target.values()]
                          for src, by_target in index.items()}

    async def load(self, pool: asyncpg.Pool) -> int:
        found = await rm_alerts.all_rules(pool)
        for r in found:
            self._put(Rule(id=r["id"], name=r["name"], on=r["on_type"], where=msgspec.json.decode(r["where_json"]),
                           webhook=r["webhook"], slack=r["slack"], repeat=r["repeat"], cap=r["cap"],
                           window_seconds=r["window_seconds"], paused=r["paused"], created_at=r["created_at"],
                           decided=(r["decided_at"], r["decision_id"]), deleted=r["deleted_at"] is not None))
        self._reindex()
        return len(found)

    def apply(self, env: Envelope[Any]) -> bool:
        """An ``alert_rule.*`` decision; True when it changed the rules in force."""
        d, at = env.data, (env.occurred_at, env.id)
        old = self.rules.get(d.rule_id)
        if env.type == "alert_rule.created":
            if old is not None:
                return False
            rule = Rule(id=d.rule_id, name=d.name, on=d.on, where=d.where, webhook=d.webhook or None, slack=d.slack,
                        repeat=d.repeat, cap=d.cap, window_seconds=d.window_seconds, paused=d.paused,
                        created_at=env.occurred_at, decided=at)
        elif env.type == "alert_rule.updated":
            if old is None or old.deleted:
                return False
            changes = {k: getattr(d, k) for k in FIELDS if getattr(d, k) is not None}
            if "webhook" in changes:
                changes["webhook"] = changes["webhook"] or None
            rule = replace(old, decided=at, **changes)
        elif env.type == "alert_rule.deleted":
            base = old or Rule(id=d.rule_id, name=d.name or "", on="", where={}, webhook=None, slack=False,
                               repeat="once", cap=1, window_seconds=1, paused=True, created_at=env.occurred_at,
                               decided=at)
            rule = replace(base, decided=at, deleted=True)
        else:
            return False
        changed = self._put(rule)
        if changed:
            self._reindex()
        return changed
