"""Drain on SIGTERM loses nothing and doubles nothing; SIGKILL still delivers at least once;
the consumer survives a NATS server restart."""

from __future__ import annotations

import asyncio
import collections
import signal
import sys
from pathlib import Path

from b9_common.events import Envelope, SubredditDiscovered
from b9_common.jetstream.consumer import Consumer
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.service import Runtime, connect
from b9_common.settings import CommonSettings

WORKER = Path(__file__).with_name("_worker.py")


async def _start_worker(url: str, ns: str, out: Path, conc: int, delay: float, ack_wait: float):
    return await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), url, ns, str(out), str(conc), str(delay), str(ack_wait),
        stdout=asyncio.subprocess.PIPE,
    )


async def _wait_inflight(proc, at_least: int, timeout: float = 30) -> None:
    async def read() -> None:
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise AssertionError("worker exited early")
            if line.startswith(b"inflight") and int(line.split()[1]) >= at_least:
                return

    await asyncio.wait_for(read(), timeout)


async def _publish(rt: Runtime, n: int, prefix: str = "s") -> None:
    await rt.publisher.publish_many(SubredditDiscovered(name=f"{prefix}{i}") for i in range(n))


def _lines(out: Path) -> collections.Counter[str]:
    return collections.Counter(out.read_text().split()) if out.exists() else collections.Counter()


async def _drain_rest(url: str, ns: str, out: Path, total: int) -> None:
    proc = await _start_worker(url, ns, out, 200, 0.0, 2.0)
    try:
        for _ in range(600):
            if sum(_lines(out).values()) >= total and len(_lines(out)) >= total:
                break
            await asyncio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.communicate()


async def test_sigterm_with_1000_in_flight_loses_none_and_doubles_none(rt: Runtime, nats_url: str,
                                                                        namespace: str, tmp_path: Path) -> None:
    total = 3000
    await _publish(rt, total)
    out = tmp_path / "handled.txt"
    proc = await _start_worker(nats_url, namespace, out, 1000, 1.0, 30.0)
    await _wait_inflight(proc, 1000)
    proc.send_signal(signal.SIGTERM)
    stdout, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0 and b"drained" in stdout
    first = _lines(out)
    assert sum(first.values()) >= 1000  # the in-flight ones finished
    await _drain_rest(nats_url, namespace, out, total)
    counts = _lines(out)
    assert len(counts) == total, f"lost {total - len(counts)}"
    assert max(counts.values()) == 1, "handled twice: " + str([k for k, v in counts.items() if v > 1][:5])


async def test_sigkill_still_handles_every_message_at_least_once(rt: Runtime, nats_url: str,
                                                                  namespace: str, tmp_path: Path) -> None:
    total = 1500
    await _publish(rt, total)
    out = tmp_path / "handled.txt"
    proc = await _start_worker(nats_url, namespace, out, 500, 0.5, 2.0)
    await _wait_inflight(proc, 500)
    proc.kill()
    await proc.wait()
    await _drain_rest(nats_url, namespace, out, total)
    assert len(_lines(out)) == total


async def test_consumer_keeps_consuming_after_server_restart(own_nats, namespace: str) -> None:
    settings = CommonSettings(nats_url=own_nats.url, b9_namespace=namespace, metrics_port=-1)
    rt = await connect(settings, "tests", "0")
    got: set[str] = set()

    async def handler(env: Envelope[SubredditDiscovered]) -> None:
        got.add(env.data.name)

    spec = ConsumerSpec(name="restart", stream="SCRAPE", subjects=("subreddit.discovered",))
    c = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, handler=handler, heartbeat=0.5)
    await c.start()
    await _publish(rt, 100, "a")
    for _ in range(200):
        if len(got) == 100:
            break
        await asyncio.sleep(0.05)
    assert len(got) == 100
    await asyncio.to_thread(own_nats.stop)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(own_nats.start)
    for _ in range(200):  # wait for the client to reconnect
        if rt.nc.is_connected:
            break
        await asyncio.sleep(0.05)
    await _publish(rt, 100, "b")
    for _ in range(400):
        if len(got) == 200:
            break
        await asyncio.sleep(0.05)
    assert len(got) == 200, f"only {len(got)} of 200 after restart"
    await c.stop()
    await rt.close()
