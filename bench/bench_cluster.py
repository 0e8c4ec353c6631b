"""Ingest on three nats-server nodes with streams at 3 replicas, as a ratio to one node, with
the SCRAPE stream's leader killed during the seed: 0 lost.

    .venv/bin/python bench/bench_cluster.py [--scale 3x] [--kill-at 0.3] [--down 10] [--quick] [--json PATH]

Each run: a fresh database, the persistence service as its own process, ``b9 seed``'s
generator publishing ``--scale`` (default 3x; ``--quick`` 0.01x) and the time from the first
publish to everything stored. One node: an embedded nats-server, streams at 1 replica. Three
nodes: the production configs of infra/nats on loopback (``tests/cluster/_cluster.py``: auth,
routes; persistence and the seed connect as their own users to all three), streams provisioned
at 3 replicas; when ``--kill-at`` of the events are published, the node leading SCRAPE gets
SIGKILL and comes back ``--down`` seconds later. A chunk whose publish fails is published again
(same event ids: JetStream's duplicate window and persistence's upserts make that safe).
Afterwards every table is counted against the seed's sizes: lost rows fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import shutil
import socket
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "cluster"))

import asyncpg  # noqa: E402
import scale_stack  # noqa: E402
from _cluster import Cluster  # noqa: E402
from common import RESULTS, Row, print_table, write_json  # noqa: E402

log = logging.getLogger("bench.cluster")


def expected(scale: str) -> dict[str, int]:
    from b9_persistence.seed import scale_counts

    n = scale_counts(scale)
    return {"subreddits": n["subreddits"], "reddit_users": n["users"], "reddit_posts": n["posts"],
            "instagram_creators": n["creators"], "instagram_media": 24 * n["creators"],
            "creator_follower_history": 4 * n["creators"], "subreddit_snapshots": 2 * n["subreddits"]}


async def publish_all(rt: Any, scale: str, on_progress: Any) -> tuple[int, int]:
    """Every phase of the seed, chunk by chunk, a failed chunk retried; (events, retries)."""
    from b9_persistence.seed import CHUNK, plan

    p = plan(rt.publisher, scale)
    sent = retries = 0
    for _, make, _ in p.phases:
        it = make()
        while chunk := list(itertools.islice(it, CHUNK)):
            for attempt in itertools.count():
                try:
                    await rt.publisher.publish_many(chunk)
                    break
                except Exception as exc:
                    if attempt >= 120:
                        raise
                    retries += 1
                    log.info("chunk refused (%s), again in 0.5 s", exc)
                    await asyncio.sleep(0.5)
            sent += len(chunk)
            await on_progress(sent)
    return sent, retries


async def one_run(scale: str, nodes: int, kill: bool, args: argparse.Namespace, work: Path,
                  stack: scale_stack.Stack) -> dict[str, Any]:
    from b9_common.embedded import EmbeddedNats
    from b9_common.jetstream.topology import Topology
    from b9_common.service import connect
    from b9_common.settings import CommonSettings

    db = f"b9cluster_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(stack.admin_url)
    await admin.execute(f'CREATE DATABASE "{db}"')
    url = stack.url.replace(f"/{stack.db}", f"/{db}")
    cluster: Any = None
    single: EmbeddedNats | None = None
    proc = None
    try:
        conn = await asyncpg.connect(url)
        from b9_common.db import migrate

        await migrate(conn)
        if nodes == 3:
            cluster = Cluster(work / f"cluster-{db}", max_file_store="40GB")  # the tests' 1GB holds 0.25x
            await cluster.start()
            nc = await cluster.connect("admin")
            await provision(nc.jetstream(), Topology("", replicas=3))
            await nc.close()
            p_url, seed_url, ns = cluster.url("persistence"), cluster.url("admin"), ""
        else:
            single = EmbeddedNats(work / f"nats-{db}")
            await asyncio.to_thread(single.start)
            p_url = seed_url = single.url
            ns = f"cl{uuid.uuid4().hex[:6]}"
        proc = scale_stack.start_persistence(p_url, ns, url, STREAM_REPLICAS=str(3 if nodes == 3 else 1))
        rt = await connect(CommonSettings(nats_url=seed_url, b9_namespace=ns, stream_replicas=3 if nodes == 3 else 1),
                           "bench-seed", "0")
        killed: dict[str, Any] = {}
        events_expected = await _count_events(scale)

        async def on_progress(sent: int) -> None:
            if kill and cluster is not None and not killed and sent >= args.kill_at * events_expected:
                leader = (await rt.js.stream_info(rt.topology.stream("SCRAPE"))).cluster.leader
                n = cluster.index_of(leader)
                cluster.kill(n)
                killed.update(node=leader, at_event=sent, at_s=round(time.perf_counter() - t0, 1))
                log.info("killed %s (SCRAPE's leader) at event %s", leader, f"{sent:,}")
                asyncio.get_running_loop().call_later(args.down, lambda: asyncio.ensure_future(cluster.restart(n)))

        await asyncio.sleep(2.0)
        t0 = time.perf_counter()
        sent, retries = await publish_all(rt, scale, on_progress)
        t_pub = time.perf_counter() - t0
        while (left := await scale_stack.pending(rt)) > 0:
            if proc.poll() is not None:
                raise RuntimeError(f"persistence exited ({proc.returncode}) with {left} unsettled")
            await asyncio.sleep(1.0)
        t_stored = time.perf_counter() - t0
        want = expected(scale)
        got = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in want}
        await rt.close()
        await conn.close()
        return {"nodes": nodes, "events": sent, "retries": retries, "publish_s": round(t_pub, 1),
                "stored_s": round(t_stored, 1), "events_per_s": round(sent / t_stored), "killed": killed,
                "lost": {t: want[t] - got[t] for t in want if got[t] < want[t]}, "rows": got}
    finally:
        if proc is not None:
            await scale_stack.stop_process(proc)
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)
        if single is not None:
            single.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


async def _count_events(scale: str) -> int:
    """Events the seed publishes (generated once without publishing)."""
    from b9_persistence.seed import plan

    class _Ids:
        def envelope(self, payload: Any, id_: str | None = None, occurred_at: Any = None) -> Any:
            return id_

    def count() -> int:
        p = plan(_Ids(), scale)
        return sum(1 for _, make, _ in p.phases for _ in make())

    return await asyncio.to_thread(count)


async def provision(js: Any, topology: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            await topology.provision(js)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def run(args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="b9-bench-cluster-"))
    stack = await scale_stack.open_stack("cluster", work)  # the servers; the runs make their own databases
    try:
        one = await one_run(args.scale, 1, False, args, work, stack)
        three = await one_run(args.scale, 3, False, args, work, stack)
        fault = await one_run(args.scale, 3, True, args, work, stack)
    except BaseException:
        kept = Path(tempfile.mkdtemp(prefix="b9-bench-cluster-logs-"))
        for i, f in enumerate(sorted(work.rglob("*.log"))):
            shutil.copy(f, kept / f"{i:02d}-{f.parent.name}-{f.name}")
        log.error("the run failed: the nats-server logs are kept in %s", kept)
        raise
    finally:
        admin = await asyncpg.connect(stack.admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{stack.db}" WITH (FORCE)')
        await admin.close()
        stack.close()
        shutil.rmtree(work, ignore_errors=True)
    ratio = three["events_per_s"] / one["events_per_s"]
    runs = {"one node": one, "three nodes": three, "three nodes, leader killed": fault}
    rows = [Row(f"{args.scale} seed, {name}: publish -> stored", r["stored_s"], "s",
                note=f"{r['events']:,} events, {r['events_per_s']:,}/s, {r['retries']} chunks retried"
                     + (f", killed {r['killed']}" if r["killed"] else "")) for name, r in runs.items()]
    rows += [
        Row("ingest, three nodes R3 vs one node", three["events_per_s"], "events/s", ">= 0.5x one node",
            one["events_per_s"], round(ratio, 2)),
        Row("rows lost, leader killed (every table vs the seed's sizes)", sum(fault["lost"].values()), "count",
            "0", note=json.dumps({k: r["lost"] for k, r in runs.items()})),
        Row("rows lost, no fault", sum(one["lost"].values()) + sum(three["lost"].values()), "count", "0"),
    ]
    return rows, {"one_node": one, "three_nodes": three, "three_nodes_leader_killed": fault}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default=None, help="default 3x; --quick 0.01x")
    ap.add_argument("--kill-at", type=float, default=0.3, help="share of the events published before the kill")
    ap.add_argument("--down", type=float, default=10.0, help="seconds the killed node stays down")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.scale = args.scale or ("0.01x" if args.quick else "3x")
    rows, extra = asyncio.run(run(args))
    print_table(f"cluster ingest ({args.scale})", rows)
    path = args.json or str(RESULTS / f"cluster-{datetime.now(UTC):%Y-%m-%d}-{socket.gethostname()}.json")
    RESULTS.mkdir(exist_ok=True)
    write_json(path, "cluster", rows, {"scale": args.scale, **extra})
    print(json.dumps({"written": path}), file=sys.stderr)


if __name__ == "__main__":
    main()
