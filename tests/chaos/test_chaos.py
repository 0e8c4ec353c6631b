"""Chaos: the same facts stored without faults and under SIGKILLs and server restarts
must leave identical tables; every poison fact ends in DLQ with its reason.

A no-fault run stores the facts first (namespace ``chaosref``, database ``chaos_ref``); then the
fault run (``chaosrun``/``chaos_run``) publishes them again, spread over time, while the driver
SIGKILLs and restarts the persistence, categorizer and media processes (the real console
scripts), restarts nats-server once and PostgreSQL once (same port, same data directories).
When every consumer is drained, both databases are compared row by row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from pathlib import Path

import asyncpg
import nats
import pytest
from b9_common.events import CreatorScraped, Envelope
from b9_common.events.catalogue import EVENTS
from b9_common.jetstream.topology import Topology
from chaos_compare import compare, show_row, table_digest
from chaos_driver import Progress, expected_dlq, faults, publish, read_dlq
from chaos_facts import FactSet, generate
from chaos_stack import WORKERS, Servers, Workers, media_origin, wait_drained

log = logging.getLogger("chaos")


# What a worker's log shows when it died of its own error (not the driver's SIGKILL): a
# traceback outside the JSON log lines (an uncaught exception on stderr), or asyncio saying a
# task died unseen. Handled errors are JSON lines (their tracebacks inside) and do not count.
ASYNCIO_MARKS = ("Task exception was never retrieved", "Exception in callback",
                 "Task was destroyed but it is pending")


def crash_lines(run: Workers) -> list[str]:
    out = []
    for name in WORKERS:
        path = run.root / "logs" / f"{run.namespace}-{name}.log"
        for line in path.read_text(errors="replace").splitlines():
            raw = not line.lstrip().startswith("{")
            if (raw and "Traceback (most recent call last)" in line) or any(
                    m in line for m in ASYNCIO_MARKS):
                out.append(f"{name}: {line[:300]}")
    return out


def with_db(url: str, db: str) -> str:
    base, _, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{db}" + (f"?{query}" if query else "")


def media_urls(facts: FactSet) -> set[str]:
    urls: set[str] = set()
    for e in facts.items:
        data = getattr(e, "data", None)
        if isinstance(data, CreatorScraped):
            if data.profile_pic_url:
                urls.add(data.profile_pic_url)
            for m in data.posts:
                urls.update(m.image_urls)
    return urls


async def provision(url: str, *namespaces: str) -> None:
    nc = await nats.connect(url)
    for ns in namespaces:
        await Topology(namespace=ns).provision(nc.jetstream())
    await nc.close()


async def check_reference(url: str, facts: FactSet) -> None:
    """The no-fault run really stored things (so the comparison means something)."""
    conn = await asyncpg.connect(url)
    try:
        stored = {r["source_url"] for r in await conn.fetch(
            "SELECT source_url FROM media_assets WHERE status = 'stored' AND source_url LIKE 'http://127.0.0.1%'")}
        assert stored == media_urls(facts), "media service did not store every image"
        envs = [e for e in facts.items if isinstance(e, Envelope)]
        fetched = {e.data.name for e in envs if e.type == "subreddit.fetched"}
        tagged = await conn.fetchval(
            "SELECT count(DISTINCT subject) FROM categorizations WHERE model <> 'chaos' AND subject_kind = 'subreddit'")
        assert tagged == len(fetched), "categorizer did not categorize every fetched subreddit"
        attempts = sum(1 for e in envs if e.type == "scrape.attempted")
        assert await conn.fetchval("SELECT count(*) FROM scrape_attempts") == attempts
        decided = {e.id for e in envs if EVENTS[e.type].stream == "DECISIONS"}
        assert decided, "the generator published no decisions"
        logged = {r[0] for r in await conn.fetch("SELECT id FROM decision_log")}
        assert logged == decided, "persistence did not apply every decision"
        assert await conn.fetchval("SELECT count(*) FROM subreddits WHERE review_decision_id IS NOT NULL")
        assert await conn.fetchval("SELECT count(*) FROM models")
    finally:
        await conn.close()


@pytest.mark.slow
async def test_chaos_kills_and_restarts_lose_and_duplicate_nothing(chaos_size: int, chaos_root: Path) -> None:
    tmp_path = chaos_root
    servers = Servers(tmp_path)
    await servers.start()
    origin, media_base = await media_origin()
    facts = generate(chaos_size, media_base)
    admin = await servers.connect()
    for db in ("chaos_ref", "chaos_run"):
        await admin.execute(f"CREATE DATABASE {db}")
    await admin.close()
    ref_url, run_url = with_db(servers.pg_url, "chaos_ref"), with_db(servers.pg_url, "chaos_run")
    nats_url = servers.nats.url
    await provision(nats_url, "chaosref", "chaosrun")
    drain_timeout = 150 + chaos_size / 200
    run = Workers("chaosrun", nats_url, run_url, tmp_path, media_base)
    try:
        t0 = time.monotonic()
        ref = Workers("chaosref", nats_url, ref_url, tmp_path, media_base)
        await ref.start()
        await publish(nats_url, "chaosref", facts, Progress(len(facts.items)))
        await wait_drained(nats_url, "chaosref", drain_timeout)
        await ref.stop()
        t_ref = time.monotonic() - t0
        await check_reference(ref_url, facts)

        t0 = time.monotonic()
        await run.start()
        progress = Progress(len(facts.items))
        spread = min(max(chaos_size / 600, 20.0), 240.0)
        pub_task = asyncio.create_task(publish(nats_url, "chaosrun", facts, progress, seconds=spread))
        fault_log = await faults(run, servers, progress)
        await pub_task
        await wait_drained(nats_url, "chaosrun", drain_timeout)
        t_run = time.monotonic() - t0
        await run.stop()
    except BaseException:
        log.error("chaos: worker logs\n%s", run.log_tail())
        raise
    finally:
        await run.stop()
        await origin.cleanup()

    diffs = await compare(ref_url, run_url)
    dlq = await read_dlq(nats_url, "chaosrun")
    conn = await asyncpg.connect(run_url)
    digests = {d.table: await table_digest(conn, d.table) for d in diffs}
    await conn.close()

    summary = [
        f"chaos: {chaos_size} facts ({len(facts.poison)} poison); no-fault run {t_ref:.1f}s, "
        f"fault run {t_run:.1f}s; kills {run.kills}; worker exits not caused by the driver: "
        f"{run.unexpected}; publish retries: {progress.retries}; server restarts "
        f"{fault_log.restarts}; unacked at each kill {fault_log.in_flight}",
        *(f"chaos: fault {line}" for line in fault_log.events),
        *(f"chaos: {d.line()} digest {digests[d.table]}" for d in diffs),
        f"chaos: DLQ entries {len(dlq)} (poison expected {len(expected_dlq(facts))})",
    ]
    for line in summary:
        log.info("%s", line)
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "chaos_summary.txt").write_text("\n".join(summary) + "\n")

    bad = [d for d in diffs if not d.identical]
    if bad:
        first = next(d for d in bad)
        key = (first.differ or first.lost or first.extra)[0]
        detail = (await show_row(ref_url, first.table, key), await show_row(run_url, first.table, key))
        await servers.stop()
        pytest.fail("tables differ after faults:\n" + "\n".join(d.line() for d in bad)
                    + f"\nfirst: {first.table} {key}\n ref: {detail[0]}\n run: {detail[1]}")
    await servers.stop()
    # the faults happened as claimed: every worker killed, each server restarted, and kills
    # interrupted work in flight (unacked messages at the moment of the SIGKILL)
    assert {w: run.kills.get(w, 0) >= 1 for w in WORKERS} == dict.fromkeys(WORKERS, True), run.kills
    assert fault_log.restarts == {"nats": 1, "postgres": 1}, fault_log.restarts
    assert all(max(fault_log.in_flight.get(w, [0])) > 0 for w in WORKERS), fault_log.in_flight
    # no worker exited or crashed on its own (only the driver's SIGKILLs ended processes)
    assert run.unexpected == [], run.unexpected
    assert not crash_lines(run), crash_lines(run)
    # each poison fact exactly once per consumer reading it (a multiset: duplicates count)
    got = Counter((eid, consumer) for eid, consumer, _ in dlq)
    want = expected_dlq(facts)
    assert got == want, f"DLQ: missing {sorted((want - got).elements())[:5]}, " \
                        f"unexpected or duplicated {sorted((got - want).elements())[:5]}"
    assert all(reason for _, _, reason in dlq), "a DLQ entry without a reason"
