"""Replay tooling: events/s of `b9 replay` for persistence and for the categorizer's rule path.

    .venv/bin/python bench/bench_replay.py [--quick] [--json PATH]

Runs the CLI's own replay path: ``b9_common.cli.replay_cmd.replay_main`` publishes
``replay.requested.<service>`` and follows the record with the live rich progress bar (a
terminal console on stderr), while a replica of the service serving replays only
(``b9_common.replay.owner.replays_only``, in this process) claims it, resolves and counts the
slice and runs the real batch handler through an ephemeral consumer, writing the record to KV
+ PostgreSQL. The replay's duration is read from its record (bootstrap and counting excluded).

- categorizer: N subreddit.fetched built from the recorded Reddit fixtures (names made
  unique) through the rule path, which publishes subreddit.categorized (acked). Target
  >= 20,000 events/s. The `b9 replay` row runs in ``--workers`` processes (the replica +
  REPLAY_WORKERS - 1 worker subprocesses, ``b9_common.replay.crew``; their start-up beyond the
  counting of the slice is in the record's seconds); the engine row without the progress bar
  (``run_replay``) in this 1 process.
- persistence: subreddit.fetched + user.fetched + posts.fetched (10 posts each) facts into
  PostgreSQL (the first replay into an empty database, then a second one over the same rows).

Uses NATS_URL / DATABASE_URL when they answer (NATS >= 2.10), else embedded servers.
The machine is shared with other workers: read the numbers as noisy lower bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "categorizer"))

from common import Row, print_table, scratch_stack, write_json  # noqa: E402

T0 = datetime(2025, 3, 1, tzinfo=UTC)


async def _cli_replay(sdef: Any, settings: Any, target: str, cli: Any, **kw: Any) -> dict[str, Any]:
    from b9_common.cli import replay_cmd
    from b9_common.replay.jobs import ReplayRequest
    from b9_common.replay.log import list_records
    from b9_common.replay.owner import replays_only
    from b9_common.service import connect
    from rich.console import Console

    replay_cmd.console = Console(file=sys.stderr, force_terminal=True, width=120)
    c0 = time.process_time()
    async with replays_only(sdef, settings):
        gc.collect()
        gc.freeze()  # as a served replica does after its bootstrap (serve(freeze_heap=True))
        try:
            code = await replay_cmd.replay_main(ReplayRequest(target, **kw), cli)
        finally:
            gc.unfreeze()
    cpu = time.process_time() - c0
    assert code == 0, code
    rt = await connect(settings, "bench", "0")
    try:
        rec = (await list_records(rt.js, rt.topology, cli.database_url, limit=1))[0]
    finally:
        await rt.close()
    return {**rec.outcome, "cpu": cpu}


def _persistence_facts(publisher: Any, n: int) -> list[Any]:
    from b9_common.events import PostsFetched, RedditPost, SubredditFetched, UserFetched

    out = []
    for i in range(n // 3):
        at = T0 + timedelta(minutes=i)
        name = f"bench{i}"
        out.append(publisher.envelope(SubredditFetched(name=name, title=name, subscribers=1000 + i, over18=True),
                                      id_=f"s{i}", occurred_at=at))
        out.append(publisher.envelope(UserFetched(username=f"u{i}", link_karma=i, total_karma=2 * i),
                                      id_=f"u{i}", occurred_at=at))
        posts = [RedditPost(reddit_id=f"p{i}x{j}", subreddit=name, author=f"u{i}", title="t", score=j,
                            created_utc=at) for j in range(10)]
        out.append(publisher.envelope(PostsFetched(listing="subreddit_top_week", subreddit=name, posts=posts),
                                      id_=f"p{i}", occurred_at=at))
    return out


async def run(n_cat: int, n_persist: int, workers: int) -> list[Row]:
    from b9_categorizer.main import SERVICE as CATEGORIZER
    from b9_categorizer.settings import Settings as CSettings
    from b9_common.cli.settings import CliSettings
    from b9_common.replay.jobs import ReplayRequest, run_replay
    from b9_common.service import connect
    from b9_persistence.main import SERVICE as PERSISTENCE
    from b9_persistence.settings import Settings as PSettings
    from cat_data import real_subreddits
    from msgspec.structs import replace

    rows: list[Row] = []
    async with scratch_stack("b9-bench-replay-") as stack:
        nats_url, url = stack.nats_url, stack.url
        # categorizer, rule path
        ns = f"benchc{uuid.uuid4().hex[:6]}"
        cs = CSettings(nats_url=nats_url, b9_namespace=ns, metrics_port=-1, replay_workers=workers)
        cli = CliSettings(nats_url=nats_url, b9_namespace=ns, database_url=url)
        rt = await connect(cs, "bench", "0")
        base = real_subreddits()
        events = [replace(base[i % len(base)], name=f"{base[i % len(base)].name[:40]}_{i}") for i in range(n_cat)]
        for i in range(0, n_cat, 5000):
            await rt.publisher.publish_many(events[i:i + 5000])
        # A real `b9 replay` process does not hold the seeded events (they would slow its GC).
        del events, base
        gc.collect()
        out = await _cli_replay(CATEGORIZER, cs, "categorizer", cli)
        assert out["handled"] == n_cat, out
        rate = n_cat / out["seconds"]
        rows.append(Row(f"categorizer rules path, progress bar on, {workers} process(es)", rate, "events/s",
                        target=">= 20,000", baseline=20_000, ratio=rate / 20_000,
                        note=f"{n_cat:,} subreddit.fetched; REPLAY_WORKERS={workers}; "
                             f"{n_cat / out['cpu']:,.0f}/cpu-s of this process incl. bootstrap"))
        c0 = time.process_time()
        gc.freeze()  # as `b9 replay` does (it is the same replay minus the bar)
        try:
            bare = await run_replay(CATEGORIZER, cs, ReplayRequest("categorizer"))
        finally:
            gc.unfreeze()
        cpu = time.process_time() - c0
        assert bare.report is not None and bare.report.visited == n_cat
        rows.append(Row("categorizer rules path, no progress bar, 1 process", n_cat / bare.elapsed, "events/s",
                        note=f"{n_cat / cpu:,.0f}/cpu-s incl. bootstrap"))
        await rt.close()

        # persistence, mixed facts
        ns = f"benchp{uuid.uuid4().hex[:6]}"
        ps = PSettings(nats_url=nats_url, b9_namespace=ns, metrics_port=-1, database_url=url)
        cli = CliSettings(nats_url=nats_url, b9_namespace=ns, database_url=url)
        rt = await connect(ps, "bench", "0")
        envs = _persistence_facts(rt.publisher, n_persist)
        n_envs = len(envs)
        for i in range(0, n_envs, 5000):
            await rt.publisher.publish_many(envs[i:i + 5000])
        del envs
        gc.collect()
        for label in ("into an empty database", "again over the same rows"):
            out = await _cli_replay(PERSISTENCE, ps, "persistence", cli)
            assert out["handled"] == n_envs, out
            rows.append(Row(f"persistence, progress bar on, {label}", n_envs / out["seconds"], "events/s",
                            note=f"{n_envs:,} facts (posts.fetched carry 10 posts); "
                                 f"{n_envs / out['cpu']:,.0f}/cpu-s of the replay process"))
        await rt.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--workers", type=int, default=2, help="REPLAY_WORKERS of the categorizer replica")
    args = ap.parse_args()
    n_cat, n_persist = (20_000, 6_000) if args.quick else (60_000, 30_000)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rows = asyncio.run(run(n_cat, n_persist, args.workers))
    print_table(f"replay tooling ({n_cat:,} categorizer / {n_persist:,} persistence events)", rows)
    write_json(args.json, "replay", rows, {"categorizer_events": n_cat, "persistence_events": n_persist})


if __name__ == "__main__":
    main()
