"""The scale databases of bench_scale and bench_freshness: ``b9scale_<scale>``, loaded once by
``b9 seed``'s generator through JetStream and the persistence service (its own process, as
deployed), and recorded in ``b9_meta`` (key ``bench_scale``: the scale, when, ingest figures,
disk) so a later run reuses a loaded scale instead of seeding it again.

NATS: ``NATS_URL`` or the local server (>= 2.10), else an embedded one. PostgreSQL:
``DATABASE_URL`` or the local server, else an embedded pgserver kept under ``.b9/bench-pg``
(as bench_gateway: the data survive between runs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from b9_common.db import migrate
from b9_common.embedded import EmbeddedPostgres, ensure_nats
from b9_common.service import Runtime, connect
from b9_common.settings import CommonSettings
from b9_persistence.seed import scale_counts, seed
from rss import RssSampler, postgres_pids

log = logging.getLogger("bench.scale")
ROOT = Path(__file__).resolve().parent.parent
META_KEY = "bench_scale"
STREAMS = ("SCRAPE", "DERIVED", "DECISIONS", "COMMANDS", "DLQ")


@dataclass
class Stack:
    nats_url: str
    admin_url: str
    url: str  # the scale's database
    db: str
    keep: list[Any] = field(default_factory=list)  # embedded servers to stop

    def close(self) -> None:
        for k in self.keep:
            k.stop()


def db_name(scale: str) -> str:
    return "b9scale_" + scale.replace(".", "_")


async def open_stack(scale: str, work: Path) -> Stack:
    """The servers, and the scale's database (created and migrated when missing)."""
    keep: list[Any] = []
    nats_url, nats_server = await ensure_nats(os.environ.get("NATS_URL") or "nats://127.0.0.1:4222", work / "nats")
    if nats_server is not None:
        keep.append(nats_server)
    admin_url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        admin = await asyncpg.connect(admin_url, timeout=3)
    except (OSError, asyncpg.PostgresError):
        pg = EmbeddedPostgres(ROOT / ".b9" / "bench-pg", cleanup="stop")
        admin_url = await asyncio.to_thread(pg.start)
        keep.append(pg)
        admin = await asyncpg.connect(admin_url)
    db = db_name(scale)
    base, _, query = admin_url.partition("?")  # keep ?host=... of an embedded server
    url = f"{base.rpartition('/')[0]}/{db}" + (f"?{query}" if query else "")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
            await admin.execute(f'CREATE DATABASE "{db}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return Stack(nats_url, admin_url, url, db, keep)


async def loaded(url: str, scale: str) -> dict[str, Any] | None:
    """What the load of ``scale`` recorded, or None when this database does not hold it."""
    conn = await asyncpg.connect(url)
    try:
        raw = await conn.fetchval("SELECT value FROM b9_meta WHERE key = $1", META_KEY)
    finally:
        await conn.close()
    doc = json.loads(raw) if raw else None
    return doc if doc and doc.get("scale") == scale and doc.get("complete") else None


async def pending(rt: Runtime) -> int:
    """Messages persistence has not settled yet, over every stream it reads."""
    total = 0
    for s in ("SCRAPE", "DERIVED", "DECISIONS"):
        stream = rt.topology.stream(s)
        last = (await rt.js.stream_info(stream)).state.last_seq
        for ci in await rt.js.consumers_info(stream):
            if ci.name.startswith("persistence"):
                behind = max(0, last - ci.delivered.stream_seq)
                total += ci.num_pending + ci.num_ack_pending + behind
    return total


def start_persistence(nats_url: str, ns: str, url: str, **extra: str) -> Any:
    import subprocess

    env = dict(os.environ, NATS_URL=nats_url, B9_NAMESPACE=ns, DATABASE_URL=url, METRICS_PORT="-1",
               LOG_LEVEL="WARNING", **extra)
    return subprocess.Popen([str(Path(sys.executable).parent / "b9-persistence")], env=env,
                            start_new_session=True)


def _bar(phase: str, done: int, total: int) -> None:
    """A one-line progress bar on stderr (the bench's output stays a table)."""
    width = 30
    fill = int(width * done / total) if total else width
    sys.stderr.write(f"\r  {phase:<16} [{'#' * fill}{'.' * (width - fill)}] {done:,}/{total:,}   ")
    sys.stderr.flush()


async def load(stack: Stack, scale: str, keep_streams: bool = False) -> dict[str, Any]:
    """Seed ``scale`` through JetStream with persistence running; returns (and records) the
    ingest figures, the disk used and the peak resident memory seen while it ran."""
    ns = f"scale{uuid.uuid4().hex[:6]}"
    proc = start_persistence(stack.nats_url, ns, stack.url)
    settings = CommonSettings(nats_url=stack.nats_url, b9_namespace=ns)
    rt = await connect(settings, "bench-seed", "0")
    conn = await asyncpg.connect(stack.url)
    pg = postgres_pids(stack.admin_url)
    sampler = RssSampler({"persistence": lambda: [proc.pid], "seed generator (bench process)": lambda: [os.getpid()],
                          "postgres (all backends)": lambda: pg})
    try:
        for _ in range(100):  # persistence's consumers exist before the first fact
            if await _has_consumer(rt):
                break
            await asyncio.sleep(0.2)
        db0 = await conn.fetchval("SELECT pg_database_size(current_database())")
        sampler.start()
        t0 = time.perf_counter()
        counts = await seed(rt.publisher, scale, progress=_bar)
        t_pub = time.perf_counter() - t0
        sys.stderr.write("\n")
        log.info("published %s events in %.0f s, waiting for persistence", f"{sum(counts.values()):,}", t_pub)
        first = None
        while (left := await pending(rt)) > 0:
            if proc.poll() is not None:
                raise RuntimeError(f"persistence exited ({proc.returncode}) with {left} messages unsettled")
            first = first or left
            _bar("storing", first - left, first)
            await asyncio.sleep(1.0)
        t_stored = time.perf_counter() - t0
        sys.stderr.write("\n")
        await sampler.stop()
        for t in ("subreddits", "subreddit_snapshots", "reddit_posts", "reddit_users", "instagram_creators",
                  "instagram_media", "creator_follower_history"):  # as autovacuum would have by now
            await conn.execute(f"VACUUM (ANALYZE) {t}")
        js_bytes = {s: (await rt.js.stream_info(rt.topology.stream(s))).state.bytes for s in STREAMS}
        if await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            await conn.execute("CHECKPOINT")
        db1 = await conn.fetchval("SELECT pg_database_size(current_database())")
        posts_table = await conn.fetchval("SELECT pg_total_relation_size('reddit_posts')")
        n = scale_counts(scale)
        events = sum(counts.values())
        doc = {
            "scale": scale, "complete": True, "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "counts": n, "events": events, "events_by_phase": counts,
            "publish_s": round(t_pub, 1), "stored_s": round(t_stored, 1),
            "events_per_s": round(events / t_stored), "posts_per_s": round(n["posts"] / t_stored),
            "pg_bytes": db1 - db0, "pg_posts_table_bytes": posts_table, "js_bytes": js_bytes,
            "rss_peak_mb": sampler.peaks_mb(),
        }
        await conn.execute("INSERT INTO b9_meta (key, value) VALUES ($1, $2) "
                           "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", META_KEY, json.dumps(doc))
        await stop_process(proc)
        if not keep_streams:  # the facts are stored: do not keep 10x's stream files around
            for s in STREAMS:
                await rt.js.delete_stream(rt.topology.stream(s))
        return doc
    finally:
        await sampler.stop()
        await conn.close()
        await rt.close()
        await stop_process(proc)


async def refresh_viral(url: str) -> tuple[int, float]:
    """One ``viral_refresh()`` now, as persistence's refresher (b9_persistence.viral_refresh) does
    every ``VIRAL_REFRESH_S`` once a load has drained (it waits while a backlog drains, and the
    gateway computes live on a snapshot older than 6 h): (rows kept, seconds)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET jit = off")
        t0 = time.perf_counter()
        n: int = await conn.fetchval("SELECT viral_refresh(2000)", timeout=900)
        return n, time.perf_counter() - t0
    finally:
        await conn.close()


async def stop_process(proc: Any) -> None:
    """SIGTERM, then SIGKILL after 60 s (a no-op once it has exited)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        await asyncio.to_thread(proc.wait, 60)
    except Exception:
        proc.kill()
        await asyncio.to_thread(proc.wait, 10)


async def _has_consumer(rt: Runtime) -> bool:
    try:
        return any(ci.name.startswith("persistence")
                   for ci in await rt.js.consumers_info(rt.topology.stream("SCRAPE")))
    except Exception:
        return False


async def reset(stack: Stack) -> None:
    """Forget the recorded load (the next run seeds again into a fresh database)."""
    admin = await asyncpg.connect(stack.admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{stack.db}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{stack.db}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(stack.url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
