"""Persistence end-to-end ingest vs a bare asyncpg COPY of the same rows, in one run.

    .venv/bin/python bench/bench_persistence.py [--quick] [--posts-events N] [--subs N]
                                                [--[no-]seed-full] [--json PATH]

NATS: NATS_URL (>= 2.10) else an embedded nats-server. PostgreSQL: DATABASE_URL or the local
default when it answers, else an embedded pgserver. A fresh database and namespace per run.
End-to-end = first publish -> the persistence consumer has settled every message (each ack
follows the commit of its batch). Baseline = one asyncpg COPY of the same rows into copies of
the tables with the same indexes (LIKE ... INCLUDING ALL, trigram and tsvector GIN included).
The subreddit row's note splits the CPU per event (service process, this database's PostgreSQL
backends) when both run on this machine. The machine is shared: numbers are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

import asyncpg
import nats.js.errors
from b9_common.events import PostsFetched, RedditPost, SubredditFetched
from b9_common.service import Runtime, connect, serve
from b9_common.settings import CommonSettings
from b9_persistence.main import SERVICE
from b9_persistence.seed import BASE, seed
from b9_persistence.settings import Settings
from b9_persistence.writers_reddit import POST_COLS, SNAP_COLS, SUB_COLS, _sub_row
from common import Row, print_table, scratch_stack, write_json


def post(n: int) -> RedditPost:
    return RedditPost(reddit_id=f"b{n:x}", subreddit=f"sub{n % 5000}", author=f"user{n % 90000}",
                      title=f"post number {n}", score=n % 997, num_comments=n % 37,
                      upvote_ratio=0.9, created_utc=BASE, content_type="image", posting_hour=3,
                      posting_day_of_week=2, post_length=12, has_thumbnail=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a local process (0 when it cannot be read)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_now(conn: asyncpg.Connection, proc: asyncio.subprocess.Process | None) -> dict[str, float]:
    """CPU seconds so far of the service process and of this database's backends (by pid)."""
    pids = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    out = {f"pg{r[0]}": cpu_seconds(r[0]) for r in pids}
    out["service"] = cpu_seconds(proc.pid) if proc is not None else 0.0
    out["bench"] = time.process_time()
    return out


def cpu_note(before: dict[str, float], after: dict[str, float], n: int, who: str) -> str:
    """``who`` = the client: the service process (end to end) or this process (the bare COPY)."""
    pg = sum(v - before.get(k, 0.0) for k, v in after.items() if k.startswith("pg"))
    client = after[who] - before[who]
    return f"CPU us/event: {who} {client * 1e6 / n:.0f}, PostgreSQL {pg * 1e6 / n:.0f}"


async def consumer_ready(rt: Runtime, stream: str, within: float = 120) -> None:
    """Wait for the service's durable consumer (a loaded machine starts the service slowly)."""
    deadline = time.monotonic() + within
    while True:
        try:
            await rt.js.consumer_info(rt.topology.stream(stream), "persistence")
            return
        except nats.js.errors.NotFoundError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def drained(rt: Runtime, stream: str, within: float = 1800) -> None:
    s = rt.topology.stream(stream)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        info = await rt.js.consumer_info(s, "persistence")
        last = (await rt.js.stream_info(s)).state.last_seq
        if not info.num_pending and not info.num_ack_pending and info.delivered.stream_seq >= last:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("persistence did not drain")


async def run(args: argparse.Namespace) -> list[Row]:
    async with scratch_stack("b9-bench-persist-") as stack:
        return await measure(args, stack.nats_url, stack.url)


async def measure(args: argparse.Namespace, nats_url: str, url: str) -> list[Row]:
    ns = f"bench{uuid.uuid4().hex[:6]}"
    rows: list[Row] = []
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    proc: asyncio.subprocess.Process | None = None
    try:
        conn = await asyncpg.connect(url)
        # The service runs as its own process (as deployed): the producer here does not share
        # its event loop. --in-process measures both in one process instead.
        if args.in_process:
            settings = Settings(nats_url=nats_url, b9_namespace=ns, metrics_port=-1, database_url=url)
            task = asyncio.create_task(serve(SERVICE, settings, stop=stop))
        else:
            env = dict(os.environ, NATS_URL=nats_url, B9_NAMESPACE=ns, DATABASE_URL=url,
                       METRICS_PORT="-1", LOG_LEVEL="WARNING")
            proc = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "b9-persistence"), env=env)
        rt = await connect(CommonSettings(nats_url=nats_url, b9_namespace=ns), "bench", "0")
        await consumer_ready(rt, "SCRAPE")

        n_posts = args.posts_events * 100
        envs = [rt.publisher.envelope(PostsFetched(posts=[post(e * 100 + j) for j in range(100)]))
                for e in range(args.posts_events)]
        t0 = time.perf_counter()
        await rt.publisher.publish_many(envs)
        t_pub = time.perf_counter() - t0
        await drained(rt, "SCRAPE")
        dt = time.perf_counter() - t0
        assert await conn.fetchval("SELECT count(*) FROM reddit_posts") == n_posts
        e2e_posts = n_posts / dt

        # Baseline: the same rows, one bare COPY into an identically indexed table.
        await conn.execute("CREATE TABLE bench_posts (LIKE reddit_posts INCLUDING ALL)")
        records = [(p.reddit_id, p.subreddit, p.author, p.title, p.selftext, p.url, p.permalink,
                    p.domain, p.score, p.num_comments, p.upvote_ratio, p.over_18, p.spoiler,
                    p.stickied, p.is_self, p.is_video, p.is_gallery, p.is_crosspost,
                    p.link_flair_text, p.thumbnail, p.created_utc, p.content_type, p.post_length,
                    p.posting_hour, p.posting_day_of_week, p.has_thumbnail,
                    p.comment_to_upvote_ratio, "other", BASE, env.id)
                   for env in envs for p in env.data.posts]
        t0 = time.perf_counter()
        await conn.copy_records_to_table("bench_posts", records=records, columns=list(POST_COLS))
        copy_rate = n_posts / (time.perf_counter() - t0)
        rows.append(Row("posts.fetched e2e (publish->committed)", e2e_posts, "rows/s",
                        ">= 50,000", copy_rate, e2e_posts / copy_rate,
                        note=f"{n_posts} rows, publish took {t_pub:.1f}s"))
        rows.append(Row("bare asyncpg COPY, same rows", copy_rate, "rows/s"))

        subs = [rt.publisher.envelope(SubredditFetched(name=f"bsub{i}", subscribers=i,
                                                       title="t", public_description="d" * 200))
                for i in range(args.subs)]
        cpu0 = await cpu_now(conn, proc)
        t0 = time.perf_counter()
        await rt.publisher.publish_many(subs)
        t_pub = time.perf_counter() - t0
        await drained(rt, "SCRAPE")
        dt = time.perf_counter() - t0
        e2e_cpu = cpu_note(cpu0, await cpu_now(conn, proc), args.subs,
                           "service" if proc is not None else "bench")  # in-process: both
        assert await conn.fetchval("SELECT count(*) FROM subreddits") == args.subs
        # Baseline: the same subreddit and snapshot rows, bare COPY into identically indexed
        # tables (what the writer stages, without the merge, the decode or the transport).
        await conn.execute("CREATE TABLE bench_subs (LIKE subreddits INCLUDING ALL)")
        await conn.execute("CREATE TABLE bench_snaps (LIKE subreddit_snapshots INCLUDING ALL)")
        sub_rows = [_sub_row(e) for e in subs]
        snap_rows = [(e.data.name, e.occurred_at, e.id, e.data.subscribers, e.data.active_users,
                      e.data.metrics.posts_sampled, e.data.metrics.avg_upvotes_per_post,
                      e.data.metrics.engagement, e.data.metrics.subreddit_score) for e in subs]
        cpu0 = await cpu_now(conn, proc)
        t0 = time.perf_counter()
        await conn.copy_records_to_table("bench_subs", records=sub_rows, columns=list(SUB_COLS))
        await conn.copy_records_to_table("bench_snaps", records=snap_rows, columns=list(SNAP_COLS))
        copy_subs = args.subs / (time.perf_counter() - t0)
        copy_cpu = cpu_note(cpu0, await cpu_now(conn, proc), args.subs, "bench")
        rows.append(Row("subreddit.fetched e2e (publish->committed)", args.subs / dt, "events/s",
                        ">= 10,000", copy_subs, args.subs / dt / copy_subs,
                        note=f"{args.subs} events (+ snapshot rows), publish took {t_pub:.1f}s; "
                             f"{e2e_cpu}"))
        rows.append(Row("bare asyncpg COPY, same subreddit + snapshot rows", copy_subs, "events/s",
                        note=copy_cpu))

        if args.seed_full:
            t0 = time.perf_counter()
            counts = await seed(rt.publisher, "full")
            t_pub = time.perf_counter() - t0
            await drained(rt, "SCRAPE", within=3600)
            await drained(rt, "DERIVED", within=3600)
            dt = time.perf_counter() - t0
            rows.append(Row("seed --scale full, publish only", t_pub, "s", "",
                            note=str(counts)))
            rows.append(Row("seed --scale full, publish -> all stored", dt, "s", "< 300"))
        await rt.close()
        await conn.close()
    finally:
        stop.set()
        await asyncio.sleep(0)
        if proc is not None and proc.returncode is None:
            proc.terminate()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 60)
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 60)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--posts-events", type=int, default=None)
    ap.add_argument("--subs", type=int, default=None)
    ap.add_argument("--seed-full", action=argparse.BooleanOptionalAction, default=None,
                    help="also time `b9 seed --scale full` (default: on unless --quick)")
    ap.add_argument("--in-process", action="store_true", help="run the service in the bench's own process")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.posts_events is None:
        args.posts_events = 100 if args.quick else 2000
    if args.seed_full is None:
        args.seed_full = not args.quick
    if args.subs is None:
        args.subs = 2000 if args.quick else 20_000
    rows = asyncio.run(run(args))
    print_table("persistence", rows)
    write_json(args.json, "persistence", rows)


if __name__ == "__main__":
    main()
