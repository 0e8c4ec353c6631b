"""Alerts: rule evaluation throughput through 100 active rules on one process.

    .venv/bin/python bench/bench_alerts.py [--quick] [--json PATH]

100 rules (40 on subreddit.fetched with numeric and list filters, 30 on post.fetched -- 10 of them
with ``any`` filters no index narrows --, 20 on subreddit.discovered with name lists, 10 on
creator.scraped with substring filters); N events of those types, a few % matching. Two figures:
- in-process: decode from bytes + every rule on the event type + notification envelopes built
  (publishing stubbed): the evaluator's own CPU cost;
- through JetStream: the events seeded into SCRAPE, then the alerts consumer's batch handler run by
  b9_common's replay primitive (pull, decode, ack) with notifications really published (acked).
Target: >= 20,000 events/s. The machine is shared: read the numbers as noisy lower bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, print_table, write_json


def rules_and_events(n: int) -> tuple[list[Any], list[Any]]:
    from b9_common.events import Actor, PostsFetched, RedditPost, SubredditDiscovered, SubredditFetched, make_envelope
    from b9_common.events.alerts import AlertRuleCreated
    from b9_common.events.instagram import CreatorScraped

    actor = Actor(id="b", name="bench", role="admin", channel="cli")
    at = datetime.now(UTC) - timedelta(days=1)
    specs: list[tuple[str, dict[str, Any]]] = []
    specs += [("subreddit.fetched", {"subscribers": {"gte": 1_000_000 + 300 * i}, "over18": False}) for i in range(30)]
    specs += [("subreddit.fetched", {"name": {"in": [f"sub{j}" for j in range(i, 10_000, 997)]}}) for i in range(10)]
    specs += [("post.fetched", {"score": {"gte": 40_000 + i}, "num_comments": {"gte": 10}}) for i in range(20)]
    # filters no index can narrow: evaluated against every item
    specs += [("post.fetched", {"any": [{"score": {"gte": 40_900 + i}}, {"title": {"contains": f"w{i}"}}]})
              for i in range(10)]
    specs += [("subreddit.discovered", {"name": {"in": [f"new{j}" for j in range(i, 100_000, 499)]}})
              for i in range(20)]
    specs += [("creator.scraped", {"biography": {"contains": f"crypto{i}"}, "is_private": False}) for i in range(10)]
    rules = [make_envelope("alert_rule.created", AlertRuleCreated(rule_id=f"r{i}", name=f"r{i}", on=on, where=w,
                                                                  cap=10_000, actor=actor), source="bench",
                           occurred_at=at)
             for i, (on, w) in enumerate(specs)]
    now = datetime.now(UTC)
    events: list[Any] = []
    for i in range(n):
        k = i % 4
        if k == 0:
            events.append(SubredditFetched(name=f"sub{i}", subscribers=(i * 7919) % 1_010_000, over18=False))
        elif k == 1:
            posts = [RedditPost(reddit_id=f"p{i}_{j}", subreddit=f"sub{i}", score=(i * 31 + j) % 41_000,
                                num_comments=j, created_utc=now) for j in range(3)]
            events.append(PostsFetched(subreddit=f"sub{i}", posts=posts))
        elif k == 2:
            events.append(SubredditDiscovered(name=f"new{i}"))
        else:
            events.append(CreatorScraped(ig_user_id=str(i), username=f"c{i}", followers_count=(i * 13) % 6_000_000))
    return rules, events


class _Meta:
    def __init__(self) -> None:
        self.consumer, self.timestamp_ns, self.num_delivered = "alerts", time.time_ns(), 1


class _Delivery:
    def __init__(self, type_: str, envelope: Any) -> None:
        self.type, self.envelope, self.meta, self.outcome = type_, envelope, _Meta(), None

    def skip(self, reason: str = "") -> None:
        self.outcome = "skip"


class _Publisher:
    def __init__(self, real: Any) -> None:
        self.real, self.published = real, 0

    def envelope(self, payload: Any, **kw: Any) -> Any:
        return self.real.envelope(payload, **kw)

    async def publish_many(self, envs: list[Any]) -> int:
        self.published += len(envs)
        return len(envs)


async def run(n: int) -> list[Row]:
    from b9_alerts.handler import Evaluator
    from b9_alerts.main import consumer_specs
    from b9_alerts.rules import RuleSet
    from b9_alerts.settings import Settings
    from b9_common.embedded import ensure_nats
    from b9_common.events import encode
    from b9_common.events.catalogue import decoder_for
    from b9_common.replay.runner import Slice, replay
    from b9_common.service import ConsumerDef, connect

    rule_envs, events = rules_and_events(n)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        url, server = await ensure_nats(None, Path(tmp) / "nats")
        try:
            settings = Settings(nats_url=url, b9_namespace=f"bench{uuid.uuid4().hex[:6]}", metrics_port=-1)
            rt = await connect(settings, "bench", "0")
            ruleset = RuleSet()
            for env in rule_envs:
                ruleset.apply(env)
            assert sum(r.active for r in ruleset.rules.values()) == 100
            raw = [(rt.publisher.envelope(e)) for e in events[: min(n, 40_000)]]
            raw_bytes = [(e.type, encode(e)) for e in raw]
            stub = _Publisher(rt.publisher)
            ev = Evaluator(ruleset, stub)  # type: ignore[arg-type]
            c0, t0 = time.process_time(), time.perf_counter()
            for i in range(0, len(raw_bytes), 512):
                ds = [_Delivery(t, decoder_for(t).decode(b)) for t, b in raw_bytes[i:i + 512]]
                await ev.handle(ds)  # type: ignore[arg-type]
            el = time.perf_counter() - t0
            rows.append(Row("in-process: decode + 100 rules + envelopes", len(raw_bytes) / el, "events/s",
                            target=">= 20,000", baseline=20_000, ratio=len(raw_bytes) / el / 20_000,
                            note=f"{len(raw_bytes) / (time.process_time() - c0):,.0f}/cpu-s; "
                                 f"{stub.published} notifications ({ev.matched} matches)"))
            t0 = time.perf_counter()
            for i in range(0, n, 5000):
                await rt.publisher.publish_many(events[i:i + 5000])
            rows.append(Row("seed publish", n / (time.perf_counter() - t0), "events/s"))
            del events, raw, raw_bytes
            gc.collect()
            gc.freeze()
            live = Evaluator(ruleset, rt.publisher)
            spec = consumer_specs(settings)[0][0]  # alerts on SCRAPE, as the service runs it
            cdef = ConsumerDef(spec, batch_handler=live.handle, batch=settings.alerts_batch, batch_concurrency=2)
            c0, t0 = time.process_time(), time.perf_counter()
            report = await replay(rt, cdef, Slice(stream="SCRAPE"))
            el, cpu = time.perf_counter() - t0, time.process_time() - c0
            assert report.complete and report.visited == n, report
            rate = n / el
            rows.append(Row("JetStream replay -> evaluate -> publish notifications", rate, "events/s",
                            target=">= 20,000", baseline=20_000, ratio=rate / 20_000,
                            note=f"{n / cpu:,.0f}/cpu-s; {live.published} notifications published"))
            await rt.close()
        finally:
            if server is not None:
                server.stop()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    n = 20_000 if args.quick else 100_000
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rows = asyncio.run(run(n))
    print_table(f"alerts ({n:,} events, 100 rules)", rows)
    write_json(args.json, "alerts", rows, {"events": n, "rules": 100})


if __name__ == "__main__":
    main()
