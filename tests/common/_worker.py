"""A consumer process for the shutdown tests: records every handled event id in a file.

usage: _worker.py NATS_URL NAMESPACE OUT_FILE CONCURRENCY HANDLER_DELAY ACK_WAIT
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from b9_common.events import Envelope, SubredditDiscovered
from b9_common.jetstream.consumer import Consumer
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.service import connect
from b9_common.settings import CommonSettings


async def main() -> None:
    url, ns, out, conc, delay, ack_wait = sys.argv[1:7]
    rt = await connect(CommonSettings(nats_url=url, b9_namespace=ns, metrics_port=-1), "worker", "0")
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    in_flight = 0

    async def handler(env: Envelope[SubredditDiscovered]) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            await asyncio.sleep(float(delay))
            os.write(fd, f"{env.data.name}\n".encode())
        finally:
            in_flight -= 1

    spec = ConsumerSpec(name="worker", stream="SCRAPE", subjects=("subreddit.discovered",),
                        ack_wait=float(ack_wait), max_deliver=100)
    c = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, handler=handler,
                 concurrency=int(conc), batch=int(conc))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await c.start()

    async def report() -> None:
        while True:
            sys.stdout.write(f"inflight {in_flight}\n")
            sys.stdout.flush()
            await asyncio.sleep(0.05)

    reporter = asyncio.create_task(report())
    await stop.wait()
    reporter.cancel()
    await c.stop(grace=30)
    await rt.close()
    os.close(fd)
    sys.stdout.write("drained\n")
    sys.stdout.flush()


asyncio.run(main())
