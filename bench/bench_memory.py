"""Resident memory of every b9 service, idle and under ingest.

    .venv/bin/python bench/bench_memory.py [--quick] [--events N] [--json PATH]

Starts an embedded nats-server and PostgreSQL under a temporary directory, provisions the
topology and migrations, then every service's console script (``b9-<service>``) as its own
process, the way ``b9 up`` does: ``MEDIA_STORE_URL=file://...``, ``REDDIT_USER_AGENT`` and
``GATEWAY_API_KEY`` set, no Instagram or OpenAI key. Every upstream base URL points at a
closed loopback port, so nothing leaves the machine.

Idle: RSS (VmRSS from /proc, process + its children, e.g. media's image workers) once
every service has a heartbeat and has settled. Ingest: N events (half ``subreddit.fetched``,
half ``posts.fetched`` of 10 posts) are published while the services run; the peak RSS per
service is sampled every 0.5 s until persistence has stored everything. RSS counts shared
pages in each process, so the sum is an upper bound of what the machine spends.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
import nats
from b9_common.db import migrate
from b9_common.embedded import EmbeddedNats, EmbeddedPostgres
from b9_common.events import PostsFetched, RedditPost, SubredditFetched
from b9_common.events.envelope import make_envelope
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology
from b9_common.ops.metrics import free_port
from common import Row, print_table, write_json

SERVICES = ["persistence", "categorizer", "media", "reddit-scraper", "instagram-scraper", "gateway"]
BIN = Path(sys.executable).parent
IDLE_TARGET_MB = 400.0


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(p.name))
    return kids


def tree_rss_mb(pid: int, kids: dict[int, list[int]]) -> float:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss_kb(p)
        todo.extend(kids.get(p, []))
    return total / 1024


@dataclass
class Stack:
    root: Path
    procs: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    nats: EmbeddedNats | None = None
    pg: EmbeddedPostgres | None = None
    nats_url: str = ""
    db_url: str = ""

    async def start_backends(self) -> None:
        self.nats = EmbeddedNats(self.root / "nats")
        await asyncio.to_thread(self.nats.start)
        self.nats_url = self.nats.url
        nc = await nats.connect(self.nats_url)
        await Topology().provision(nc.jetstream())
        await nc.close()
        self.pg = EmbeddedPostgres(self.root / "pg", cleanup="delete")
        self.db_url = await asyncio.to_thread(self.pg.start)
        conn = await asyncpg.connect(self.db_url)
        await migrate(conn)
        await conn.close()

    def env(self, name: str) -> dict[str, str]:
        closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("INSTAGRAM_", "OPENAI_", "REDDIT_", "B9_", "AWS_", "S3_"))}
        env.update(NATS_URL=self.nats_url, DATABASE_URL=self.db_url,
                   MEDIA_STORE_URL=(self.root / "media").as_uri(), GATEWAY_API_KEY="bench-memory-api-key-0123456789",
                   GATEWAY_PORT=str(free_port()), REDDIT_USER_AGENT="b9-bench/0.1 (memory benchmark)",
                   REDDIT_API_BASE=closed, REDDIT_TOKEN_URL=f"{closed}/api/v1/access_token",
                   INSTAGRAM_API_BASE=closed, METRICS_PORT="-1", LOG_LEVEL="WARNING",
                   REPLICA_ID=f"{name}-1", PYTHONUNBUFFERED="1")
        return env

    async def start_services(self) -> None:
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        for name in SERVICES:
            out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
            self.procs[name] = await asyncio.create_subprocess_exec(
                str(BIN / f"b9-{name}"), env=self.env(name), stdout=out, stderr=out,
                start_new_session=True)
            out.close()

    async def wait_heartbeats(self, timeout: float = 90.0) -> set[str]:
        nc = await nats.connect(self.nats_url)
        kv = await Topology().heartbeat_kv(nc.jetstream())
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(seen) < len(SERVICES):
            for name in SERVICES:
                try:
                    await kv.get(f"{name}.{name}-1")
                    seen.add(name)
                except Exception:
                    pass
            dead = [n for n, p in self.procs.items() if p.returncode is not None]
            if dead:
                tails = {n: (self.root / "logs" / f"{n}.log").read_text()[-1500:] for n in dead}
                raise RuntimeError(f"services exited: {dead}: {tails}")
            await asyncio.sleep(0.5)
        await nc.close()
        return seen

    def sample(self) -> dict[str, float]:
        kids = children_map()
        return {n: tree_rss_mb(p.pid, kids) for n, p in self.procs.items() if p.returncode is None}

    async def stop(self) -> None:
        for p in self.procs.values():
            if p.returncode is None:
                p.terminate()
        for p in self.procs.values():
            try:
                await asyncio.wait_for(p.wait(), 20)
            except TimeoutError:
                p.kill()
                await p.wait()
        if self.nats:
            self.nats.stop()
        if self.pg:
            await asyncio.to_thread(self.pg.stop)


def facts(n: int) -> list[object]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    half = n // 2
    out: list[object] = []
    for i in range(half):
        sub = SubredditFetched(name=f"bench_mem_{i}", title=f"Bench subreddit {i}",
                               public_description="memory benchmark", subscribers=1000 + i)
        out.append(make_envelope("subreddit.fetched", sub, source="bench@0", id_=f"mem-s-{i}",
                                 occurred_at=base + timedelta(seconds=i)))
    for i in range(n - half):
        posts = [RedditPost(reddit_id=f"m{i}_{j}", subreddit=f"bench_mem_{i % max(half, 1)}",
                            author=f"user{j}", title="post", created_utc=base) for j in range(10)]
        out.append(make_envelope("posts.fetched", PostsFetched(listing="other", posts=posts),
                                 source="bench@0", id_=f"mem-p-{i}", occurred_at=base))
    return out


async def ingest(stack: Stack, n: int, timeout: float) -> tuple[dict[str, float], float, int]:
    """Publish ``n`` facts, sample RSS until stored; (peak per service, seconds, rows stored)."""
    peak: dict[str, float] = {}
    nc = await nats.connect(stack.nats_url)
    pub = Publisher(nc.jetstream(), Topology(), "bench@0", timeout=30)
    conn = await asyncpg.connect(stack.db_url)
    want_posts = (n - n // 2) * 10
    t0 = time.monotonic()
    task = asyncio.create_task(pub.publish_many(facts(n)))
    stored = 0
    while time.monotonic() - t0 < timeout:
        for k, v in stack.sample().items():
            peak[k] = max(peak.get(k, 0.0), v)
        stored = await conn.fetchval("SELECT (SELECT count(*) FROM subreddits)"
                                     " + (SELECT count(*) FROM reddit_posts)")
        if task.done() and stored >= n // 2 + want_posts:
            break
        await asyncio.sleep(0.5)
    await task
    seconds = time.monotonic() - t0
    await conn.close()
    await nc.close()
    return peak, seconds, stored


async def run(n: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="b9-mem-") as tmp:
        stack = Stack(Path(tmp))
        try:
            await stack.start_backends()
            await stack.start_services()
            seen = await stack.wait_heartbeats()
            await asyncio.sleep(10)  # settle: first cycles, imports, pools
            idle = stack.sample()
            peak, seconds, stored = await ingest(stack, n, timeout=300)
        finally:
            await stack.stop()
    rows = [Row(f"idle RSS: {s}", round(idle.get(s, 0.0), 1), "MB",
                note="" if s in seen else "no heartbeat") for s in SERVICES]
    rows.append(Row("idle RSS: all b9 services", round(sum(idle.values()), 1), "MB",
                    f"<= {IDLE_TARGET_MB:.0f}"))
    rows += [Row(f"peak RSS under ingest: {s}", round(peak.get(s, 0.0), 1), "MB") for s in SERVICES]
    rows.append(Row("peak RSS under ingest: all (sum of peaks)", round(sum(peak.values()), 1), "MB"))
    rows.append(Row(f"ingest of {n:,} facts ({stored:,} rows) stored in", round(seconds, 1), "s"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 events instead of 50,000")
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--json")
    args = ap.parse_args()
    n = args.events or (10_000 if args.quick else 50_000)
    rows = asyncio.run(run(n))
    print_table("memory (RSS per service, idle and under ingest)", rows)
    write_json(args.json, "memory", rows)


if __name__ == "__main__":
    main()
