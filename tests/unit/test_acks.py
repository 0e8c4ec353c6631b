"""The per-event runtime's ack writer (``jetstream/acks.py``) on a real client and a loopback
server: the acks of one event-loop turn go out as one write, byte for byte what one
``publish(reply, b"+ACK")`` each would send; ``close`` writes what is left; a closed connection
costs a warning, not an exception (the server redelivers)."""

from __future__ import annotations

import asyncio

from b9_common.jetstream.acks import Acks
from fake_nats import FakeNats
from nats.aio.client import Client

REPLIES = [f"$JS.ACK.t1_SCRAPE.alerts.1.{i}.{i}.1733100000123456789.0" for i in range(1, 6)]


async def sent(loopback: FakeNats, nc: Client, mark: int) -> bytes:
    await nc.flush(timeout=2)
    return loopback.since(mark)


async def test_the_acks_of_one_turn_are_one_write_of_what_publish_sends(loopback: FakeNats, nc: Client) -> None:
    mark = loopback.mark()
    for r in REPLIES:
        await nc.publish(r, b"+ACK")
    expected = await sent(loopback, nc, mark)
    acks = Acks(nc, "alerts")
    acks.start()
    mark, before = loopback.mark(), nc.stats["out_msgs"]
    for r in REPLIES:
        acks.add(r)
    await asyncio.sleep(0)  # the writer runs after this turn
    await asyncio.sleep(0)
    assert acks.writes == 1 and not acks.replies
    assert await sent(loopback, nc, mark) == expected and nc.stats["out_msgs"] - before == len(REPLIES)
    await acks.close()


async def test_close_writes_what_is_left(loopback: FakeNats, nc: Client) -> None:
    acks = Acks(nc, "alerts")
    acks.start()
    mark = loopback.mark()
    acks.add(REPLIES[0])
    await acks.close()
    assert await sent(loopback, nc, mark) == b"PUB %s  4\r\n+ACK\r\n" % REPLIES[0].encode()


async def test_acks_on_a_closed_connection_are_dropped_with_a_warning(nc: Client, caplog) -> None:  # type: ignore[no-untyped-def]
    acks = Acks(nc, "alerts")
    await nc.close()
    acks.add(REPLIES[0])
    await acks.close()
    assert "could not ack 1 messages" in caplog.text
