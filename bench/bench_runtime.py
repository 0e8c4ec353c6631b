"""Consumer runtime vs raw nats-py fetch vs FastStream, and the publisher, in one run.

    .venv/bin/python bench/bench_runtime.py [--n 50000] [--quick] [--json PATH]

1 KB events on a fresh embedded nats-server 2.15 (file storage). Each consumer reads the
same N messages through its own durable consumer and acks each one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nats
from b9_common.embedded import EmbeddedNats
from b9_common.events import Envelope, SubredditFetched, encode
from b9_common.jetstream.consumer import Consumer
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import ConsumerSpec, Topology
from common import Row, print_table, write_json


def payload(i: int) -> SubredditFetched:
    return SubredditFetched(name=f"sub{i}", title="A subreddit", subscribers=i,
                            public_description="x" * 330)


async def bench_publish(pub: Publisher, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    await pub.publish_many(payload(i) for i in range(n))
    bulk = n / (time.perf_counter() - t0)
    m = min(n, 5000)
    t0 = time.perf_counter()
    for i in range(m):
        await pub.publish(payload(n + i))
    single = m / (time.perf_counter() - t0)
    return bulk, single


async def bench_runtime(nc, js, topo: Topology, pub: Publisher, n: int) -> float:  # type: ignore[no-untyped-def]
    done = asyncio.Event()
    count = 0

    async def handler(env: Envelope[SubredditFetched]) -> None:
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    spec = ConsumerSpec(name="bench-runtime", stream="SCRAPE", subjects=("subreddit.fetched",))
    c = Consumer(nc, js, topo, spec, publisher=pub, handler=handler, batch=1000, concurrency=256)
    t0 = time.perf_counter()
    await c.start()
    await done.wait()
    rate = n / (time.perf_counter() - t0)
    await c.stop()
    return rate


async def bench_raw(js, topo: Topology, n: int) -> float:  # type: ignore[no-untyped-def]
    sub = await js.pull_subscribe(topo.subject("subreddit.fetched"), durable="bench-raw",
                                  stream=topo.stream("SCRAPE"))
    got = 0
    t0 = time.perf_counter()
    while got < n:
        msgs = await sub.fetch(1000, timeout=5)
        for m in msgs:
            await m.ack()
        got += len(msgs)
    return n / (time.perf_counter() - t0)


async def bench_faststream(url: str, topo: Topology, n: int) -> float:
    from faststream.nats import JStream, NatsBroker, PullSub

    broker = NatsBroker(url, logger=None)
    done = asyncio.Event()
    count = 0

    @broker.subscriber(topo.subject("subreddit.fetched"), stream=JStream(topo.stream("SCRAPE"), declare=False),
                       durable="bench-faststream", pull_sub=PullSub(1000))
    async def handle(body: dict) -> None:  # FastStream decodes the JSON body (as our runtime does)
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    t0 = time.perf_counter()
    await broker.start()
    await done.wait()
    rate = n / (time.perf_counter() - t0)
    await broker.stop()
    return rate


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--skip-faststream", action="store_true")
    args = ap.parse_args()
    n = 10_000 if args.quick else args.n
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedNats(Path(tmp))
        server.start()
        try:
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            topo = Topology()
            await topo.provision(js)
            pub = Publisher(js, topo, "bench@0")
            size = len(encode(pub.envelope(payload(1))))
            bulk, single = await bench_publish(pub, n)
            ours = await bench_runtime(nc, js, topo, pub, n)
            raw = await bench_raw(js, topo, n)
            fs = None
            if not args.skip_faststream:
                try:
                    fs = await asyncio.wait_for(bench_faststream(server.url, topo, n), 120)
                except TimeoutError:
                    sys.stderr.write("FastStream did not consume the events within 120 s\n")
            await nc.close()
        finally:
            server.stop()
    rows = [
        Row("publisher publish_many (bounded in-flight)", bulk, "events/s", ">= 40,000", single, bulk / single,
            "baseline: one awaited publish at a time"),
        Row("consumer runtime (handler + ack each)", ours, "events/s", ">= 20,000 and >= 0.7x raw", raw, ours / raw,
            "baseline: raw nats-py fetch(1000) + ack"),
        Row("raw nats-py fetch(1000) + ack", raw, "events/s"),
    ]
    if fs:
        rows.append(Row("FastStream PullSub(1000) per message", fs, "events/s", "peer", raw, fs / raw))
    name = f"consumer runtime ({n:,} events of {size} B)"
    print_table(name, rows)
    write_json(args.json, "runtime", rows, {"events": n, "event_bytes": size})


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
