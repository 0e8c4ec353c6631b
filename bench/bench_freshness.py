"""End-to-end freshness: from a fact's publish to its row visible through the API, and to its
event reaching a browser over the live feed (SSE), under a sustained mixed load.

    .venv/bin/python bench/bench_freshness.py [--scale 3x] [--rate 5000] [--seconds 300]
        [--probes 20] [--feed-subject user.fetched] [--plain-page] [--cluster] [--quick] [--json PATH]

On the scale's database (``scale_stack``: loaded once, reused; 3x by default) the persistence
service and the gateway (2 workers) run as their own processes in a fresh namespace. A load
generator (its own process, ``--generate``) publishes ``--rate`` events/s for ``--seconds``:
40 % ``user.fetched``, 35 % ``subreddit.fetched``, 25 % ``posts.fetched`` (10 posts each), keys
among the loaded users and subreddits (updates, as rescrapes are). Meanwhile ``--probes`` per
second ``user.fetched`` facts for new users ``fr<run>_<i>`` are published, each timed from just
before its publish to

- **API**: the first answer of ``GET /api/v1/users?q=fr<run>&sort=last_scraped`` (polled every
  ``--poll-ms``, 20 ms: the poll interval is part of the figure) that lists it;
- **browser**: its event arriving in Chromium (logged in, ``EventSource`` on
  ``/api/v1/events?subject=<feed subject>``, arrival stamped in the page with ``Date.now()``).
  The feed drops events for a client that falls behind: probes that never arrive are counted.
  The page is the dashboard (its own unfiltered live feed running too), or with
  ``--plain-page`` a plain page of the gateway (same session, no dashboard scripts);
- **SSE client**: the same feed read by aiohttp (the server's part, without a browser).

``--cluster``: three local nats-server nodes (infra/nats's configs, each service as its own
user), streams at 3 replicas; compare with a run without it.
``--quick``: 0.01x, 300 events/s for 15 s, 5 probes/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import socket
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_gateway as bg
import freshness_probe as fp
import scale_stack
from common import RESULTS, Row, print_table, write_json

log = logging.getLogger("bench.freshness")


# -- the load generator (its own process) --------------------------------------------------
async def generate(nats_url: str, ns: str, scale: str, rate: int, seconds: float) -> dict[str, Any]:
    from b9_common.events import PostsFetched, RedditPost, SubredditFetched, UserFetched
    from b9_common.service import connect
    from b9_common.settings import CommonSettings
    from b9_persistence.seed import BASE, scale_counts, subreddit_name, username

    n = scale_counts(scale)
    replicas = int(os.environ.get("STREAM_REPLICAS", "1"))
    rt = await connect(CommonSettings(nats_url=nats_url, b9_namespace=ns, stream_replicas=replicas), "bench-load", "0")
    r, pub = random.Random(7), rt.publisher
    tick, sent, k = 0.05, 0, 0
    t0 = time.monotonic()
    try:
        while (now := time.monotonic() - t0) < seconds:
            batch = []
            for _ in range(int(rate * (now + tick)) - sent):
                x, k = r.random(), k + 1
                if x < 0.40:
                    i = r.randrange(n["users"])
                    batch.append(pub.envelope(UserFetched(username=username(i), link_karma=r.randrange(10**6))))
                elif x < 0.75:
                    batch.append(pub.envelope(SubredditFetched(name=subreddit_name(r.randrange(n["subreddits"])),
                                                               subscribers=r.randrange(10**7))))
                else:
                    sub = subreddit_name(r.randrange(n["subreddits"]))
                    posts = [RedditPost(reddit_id=f"fl{k:x}_{j}", subreddit=sub, created_utc=BASE,
                                        score=r.randrange(1000)) for j in range(10)]
                    batch.append(pub.envelope(PostsFetched(subreddit=sub, posts=posts)))
            if batch:
                sent += await pub.publish_many(batch)
            await asyncio.sleep(max(0.0, t0 + now + tick - time.monotonic()))
        took = time.monotonic() - t0
    finally:
        await rt.close()
    return {"sent": sent, "seconds": round(took, 1), "rate": round(sent / took)}


USERS = ("persistence", "gateway", "admin")


async def three_nodes(work: Path, keep: list[Any]) -> dict[str, str]:
    """Three nats-server nodes (tests/cluster/_cluster.py), streams provisioned at 3 replicas;
    NATS URLs per user. The cluster is stopped with ``keep``'s processes."""
    from b9_common.jetstream.topology import Topology
    from bench_cluster import Cluster, provision

    cluster = Cluster(work / "cluster", max_file_store="40GB")
    await cluster.start()
    keep.append(_Stops(cluster))
    nc = await cluster.connect("admin")
    try:
        await provision(nc.jetstream(), Topology("", replicas=3))
    finally:
        await nc.close()
    return {u: cluster.url(u) for u in USERS}


class _Stops:
    """A cluster in the list of processes stopped at the end."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster

    def poll(self) -> int | None:
        return None

    def terminate(self) -> None:
        self.cluster.stop()

    def wait(self, timeout: float | None = None) -> int:
        return 0


# -- the measurement -------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> list[Row]:
    from b9_common.ops.metrics import free_port

    work = Path(tempfile.mkdtemp(prefix="b9-bench-fresh-"))
    stack = await scale_stack.open_stack(args.scale, work)
    procs: list[Any] = []
    try:
        if await scale_stack.loaded(stack.url, args.scale) is None:
            log.info("seeding %s into %s first", args.scale, stack.db)
            await scale_stack.load(stack, args.scale)
        ns, urls, replicas = f"fresh{uuid.uuid4().hex[:6]}", dict.fromkeys(USERS, stack.nats_url), "1"
        if args.cluster:  # three nodes, production configs and users, streams at 3 replicas
            ns, urls, replicas = "", await three_nodes(work, procs), "3"
        procs.append(scale_stack.start_persistence(urls["persistence"], ns, stack.url, STREAM_REPLICAS=replicas))
        port = free_port()
        env = {"NATS_URL": urls["gateway"], "DATABASE_URL": stack.url, "GATEWAY_API_KEY": bg.KEY,
               "GATEWAY_RATE_LIMIT": "0", "B9_NAMESPACE": ns, "METRICS_PORT": "-1", "STREAM_REPLICAS": replicas,
               "MEDIA_STORE_URL": f"file://{work / 'media'}", "LOG_LEVEL": "WARNING"}
        procs += bg.start_server("b9_gateway.asgi:create", port, env, True)
        base = f"http://127.0.0.1:{port}"
        await bg.wait_up(f"{base}/api/v1/users?per_page=1", port, bg.WORKERS)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--generate", "--ns", ns,
               "--scale", args.scale, "--rate", str(args.rate), "--seconds", str(args.seconds)]
        gen_env = dict(os.environ, B9_BENCH_NATS_URL=urls["admin"], STREAM_REPLICAS=replicas)
        probe = fp.Probes(urls["admin"], ns, base, bg.KEY, args.feed_subject, args.poll_ms / 1000,
                          args.plain_page, int(replicas))
        async with probe:
            gen = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, env=gen_env)
            await probe.run(args.probes, args.seconds)
            out, _ = await gen.communicate()
            await probe.settle(10.0)
        load = json.loads(out.decode().strip().splitlines()[-1])
        return rows_of(args, probe, load)
    finally:
        for p in reversed(procs):  # the servers (a cluster) last
            await scale_stack.stop_process(p)
        stack.close()
        shutil.rmtree(work, ignore_errors=True)


def rows_of(args: argparse.Namespace, probe: fp.Probes, load: dict[str, Any]) -> list[Row]:
    sent = len(probe.sent)
    load_note = f"load {load['rate']:,}/s asked {args.rate:,}/s for {load['seconds']} s on {args.scale}"
    rows = [Row("load generator rate achieved", load["rate"], "events/s", f">= {args.rate * 0.95:.0f}",
                note=load_note)]
    for name, kind, p99_target in (("API", "api", "< 500"), ("browser (SSE)", "browser", "< 1000"),
                                   ("SSE client (aiohttp, no browser)", "sse client", "")):
        lat = probe.latencies(kind)
        seen = f"{len(lat)} of {sent} probes seen"
        rows.append(Row(f"publish -> {name} p50", fp.pct(lat, 50), "ms", "< 50", note=seen))
        rows.append(Row(f"publish -> {name} p99", fp.pct(lat, 99), "ms", p99_target, note=seen))
        rows.append(Row(f"probes never seen: {name}", sent - len(lat), "count", "0"))
    rows.append(Row("live feed: events dropped for the browser", probe.dropped, "count",
                    note=f"subject {args.feed_subject}"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default=None, help="database scale (default 3x; quick 0.01x)")
    ap.add_argument("--rate", type=int, default=None, help="load events/s (default 5000; quick 300)")
    ap.add_argument("--seconds", type=float, default=None, help="load duration (default 300; quick 15)")
    ap.add_argument("--probes", type=float, default=None, help="probe facts per second (default 20; quick 5)")
    ap.add_argument("--poll-ms", type=float, default=20.0, help="API poll interval")
    ap.add_argument("--feed-subject", default="user.fetched", help="the browser's live feed filter")
    ap.add_argument("--plain-page", action="store_true",
                    help="the browser listens from a plain page of the gateway, not the dashboard")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cluster", action="store_true", help="three local nats-server nodes, streams at 3 replicas")
    ap.add_argument("--ns", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.scale = args.scale or ("0.01x" if args.quick else "3x")
    args.rate = args.rate or (300 if args.quick else 5000)
    args.seconds = args.seconds or (15.0 if args.quick else 300.0)
    args.probes = args.probes or (5.0 if args.quick else 20.0)
    if args.generate:
        url = os.environ["B9_BENCH_NATS_URL"]
        print(json.dumps(asyncio.run(generate(url, args.ns, args.scale, args.rate, args.seconds))))
        return
    rows = asyncio.run(run(args))
    nodes = "three nodes, R3" if args.cluster else "one node"
    print_table(f"freshness ({args.scale}, {args.rate:,} events/s for {args.seconds:.0f} s, {nodes})", rows)
    kind = "freshness-cluster" if args.cluster else "freshness"
    path = args.json or str(RESULTS / f"{kind}-{datetime.now(UTC):%Y-%m-%d}-{socket.gethostname()}.json")
    RESULTS.mkdir(exist_ok=True)
    write_json(path, "freshness", rows, {"scale": args.scale, "rate": args.rate, "seconds": args.seconds,
                                         "probes_per_s": args.probes, "poll_ms": args.poll_ms,
                                         "feed_subject": args.feed_subject, "cluster": args.cluster,
                                         "plain_page": args.plain_page})
    print(json.dumps({"written": path}), file=sys.stderr)


if __name__ == "__main__":
    main()
