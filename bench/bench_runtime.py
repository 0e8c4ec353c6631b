"""Consumer runtime vs the hand-written pull loop vs raw nats-py fetch vs FastStream, and the
publisher, in one run.

    .venv/bin/python bench/bench_runtime.py [--n 50000] [--quick] [--rounds 1] [--json PATH]

1 KB events on a fresh embedded nats-server 2.15 (file storage). Each consumer reads the
same N messages through its own durable consumer and acks each one. The hand-written pull loop
is the method of PERFORMANCE.md (a core subscription with a callback on an inbox,
``$JS.API.CONSUMER.MSG.NEXT`` requests half a batch ahead, ``nc.publish(reply, b"")`` acks,
status messages by hand): the ceiling a runtime on nats-py's core client can approach. With
``--rounds`` > 1 the runtime and the loop alternate, each on a fresh durable consumer, and the
medians are reported (the machine is shared: alternating keeps the ratio honest).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
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


async def bench_runtime(nc, js, topo: Topology, pub: Publisher, n: int,  # type: ignore[no-untyped-def]
                        durable: str = "bench-runtime") -> float:
    done = asyncio.Event()
    count = 0

    async def handler(env: Envelope[SubredditFetched]) -> None:
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    spec = ConsumerSpec(name=durable, stream="SCRAPE", subjects=("subreddit.fetched",))
    c = Consumer(nc, js, topo, spec, publisher=pub, handler=handler, batch=1000, concurrency=256)
    t0 = time.perf_counter()
    await c.start()
    await done.wait()
    rate = n / (time.perf_counter() - t0)
    await c.stop()
    return rate


async def bench_loop(nc, js, topo: Topology, n: int, durable: str = "bench-loop",  # type: ignore[no-untyped-def]
                     batch: int = 1000) -> float:
    """The hand-written pull loop: no envelope decode, no handler outcomes, ack each."""
    from nats.js.api import AckPolicy, ConsumerConfig

    t0 = time.perf_counter()
    stream = topo.stream("SCRAPE")
    await js.add_consumer(stream, ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                                 filter_subject=topo.subject("subreddit.fetched"),
                                                 max_ack_pending=20_000))
    api = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
    inbox = nc.new_inbox()
    done = asyncio.Event()
    state = {"got": 0, "owed": 0}

    async def ask(k: int) -> None:
        body = json.dumps({"batch": k, "expires": 5_000_000_000, "idle_heartbeat": 1_000_000_000}).encode()
        state["owed"] += k
        await nc.publish(api, body, reply=inbox)

    async def on_msg(msg) -> None:  # type: ignore[no-untyped-def]
        hdrs = msg.headers
        if hdrs and not msg.data and "Status" in hdrs:
            if hdrs["Status"] != "100":  # 404 / 408 / 409: the request ended, ask again
                pending = hdrs.get("Nats-Pending-Messages")
                state["owed"] = max(0, state["owed"] - int(pending)) if pending else 0
                await ask(batch - state["owed"])
            return
        await nc.publish(msg.reply, b"")
        state["got"] += 1
        state["owed"] -= 1
        if state["got"] >= n:
            done.set()
        elif state["owed"] <= batch // 2:
            await ask(batch - state["owed"])

    sub = await nc.subscribe(inbox, cb=on_msg, pending_msgs_limit=-1, pending_bytes_limit=-1)
    await ask(batch)
    await done.wait()
    rate = n / (time.perf_counter() - t0)
    await sub.unsubscribe()
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
    ap.add_argument("--rounds", type=int, default=1, help="alternate runtime / loop this many times")
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
            ours_runs, loop_runs = [], []
            for r in range(max(1, args.rounds)):
                first, second = (bench_runtime, bench_loop) if r % 2 == 0 else (bench_loop, bench_runtime)
                for fn in (first, second):
                    if fn is bench_runtime:
                        ours_runs.append(await bench_runtime(nc, js, topo, pub, n, f"bench-runtime-{r}"))
                    else:
                        loop_runs.append(await bench_loop(nc, js, topo, n, f"bench-loop-{r}"))
            ours, loop = statistics.median(ours_runs), statistics.median(loop_runs)
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
        Row("consumer runtime vs hand-written pull loop", ours, "events/s", ">= 0.7x loop", loop, ours / loop,
            "baseline: the PERFORMANCE.md pull loop on the core client, ack each"),
        Row("hand-written pull loop (core client) + ack", loop, "events/s"),
        Row("raw nats-py fetch(1000) + ack", raw, "events/s"),
    ]
    if fs:
        rows.append(Row("FastStream PullSub(1000) per message", fs, "events/s", "peer", raw, fs / raw))
    name = f"consumer runtime ({n:,} events of {size} B)"
    print_table(name, rows)
    if len(ours_runs) > 1:
        sys.stderr.write(f"runtime rounds: {[round(x) for x in ours_runs]}\n"
                         f"loop rounds: {[round(x) for x in loop_runs]}\n")
    write_json(args.json, "runtime", rows, {"events": n, "event_bytes": size, "rounds": len(ours_runs)})


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
