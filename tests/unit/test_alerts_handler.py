"""The alerts evaluator through the fakes: matching, ids, replays, caps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from b9_alerts.handler import Evaluator, notification_id
from b9_alerts.rules import RuleSet
from b9_common.events import Actor, SubredditFetched
from b9_common.events.alerts import AlertRuleCreated
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.testing import FakePublisher, run_batch

ANN = Actor(id="a1", name="ann", role="reviewer", channel="api")
LIVE = ConsumerSpec(name="alerts", stream="SCRAPE", subjects=(), max_deliver=20)
REPLAY = ConsumerSpec(name="replay-alerts-1", stream="SCRAPE", subjects=(), max_deliver=20)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)  # before the runner's stream time (2023)


def evaluator(made: datetime = LONG_AGO, **rule: Any) -> tuple[Evaluator, FakePublisher]:
    pub = FakePublisher()
    rules = RuleSet()
    fields = {"rule_id": "r1", "name": "big", "on": "subreddit.fetched",
              "where": {"subscribers": {"gte": 10_000}}, **rule}
    assert rules.apply(pub.envelope(AlertRuleCreated(actor=ANN, **fields), occurred_at=made))
    return Evaluator(rules, pub), pub


async def test_a_matching_event_makes_one_notification_and_a_redelivery_none() -> None:
    ev, pub = evaluator()
    big, small = SubredditFetched(name="pics", subscribers=50_000), SubredditFetched(name="tiny", subscribers=10)
    outs = await run_batch(ev.handle, [big, small], spec=LIVE)
    assert [o.outcome for o in outs] == ["ack", "ack"]
    [note] = pub.payloads("notification.created")
    assert (note.rule_id, note.entity, note.occurrence, note.replayed) == ("r1", "pics", "once", False)
    assert pub.envelopes[0].id == notification_id("r1", "pics", "once")
    await run_batch(ev.handle, [big], spec=LIVE, num_delivered=2)
    assert len(pub.sent) == 1


async def test_events_no_rule_watches_are_skipped() -> None:
    ev, pub = evaluator(on="subreddit.categorized")
    outs = await run_batch(ev.handle, [SubredditFetched(name="pics", subscribers=50_000)], spec=LIVE)
    assert [(o.outcome, o.reason) for o in outs] == [("skip", "no rule watches it")] and pub.sent == []


async def test_a_rule_sees_only_events_stored_after_it_unless_replayed() -> None:
    ev, pub = evaluator(datetime(2030, 1, 1, tzinfo=UTC))
    big = SubredditFetched(name="pics", subscribers=50_000)
    await run_batch(ev.handle, [big], spec=LIVE)
    assert pub.sent == []
    await run_batch(ev.handle, [big], spec=REPLAY)
    [note] = pub.payloads("notification.created")
    assert note.replayed


async def test_past_the_cap_matches_are_held_for_the_digest() -> None:
    ev, pub = evaluator(repeat="every", cap=2, window_seconds=60)
    subs = [SubredditFetched(name=f"s{i}", subscribers=20_000) for i in range(5)]
    await run_batch(ev.handle, subs, spec=LIVE)
    assert [n.entity for n in pub.payloads("notification.created")] == ["s0", "s1"]
    assert ev.suppressed == 3 and ev.windows["r1"].sample == ["s2", "s3", "s4"]


async def test_a_batch_whose_notifications_cannot_be_published_is_retried() -> None:
    ev, pub = evaluator()
    pub.fail = "stream away"
    [out] = await run_batch(ev.handle, [SubredditFetched(name="pics", subscribers=50_000)], spec=LIVE)
    assert out.outcome == "retry" and "stream away" in out.reason
    assert ev.seen == {}  # not remembered: the redelivery publishes it
