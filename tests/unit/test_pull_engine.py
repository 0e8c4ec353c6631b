"""The pull engine's bookkeeping (``jetstream/pull.py``), fed the messages and status lines a
server sends (as the bytes the parser hands ``natsio.subscribe_raw``): what is owed, buffered,
handed out, and when it asks again, and which idle worker is woken."""

from __future__ import annotations

import asyncio
import time

import pytest
from b9_common.jetstream.pull import PENDING_MSGS, PullEngine


def engine(outstanding: int = 0) -> PullEngine:
    e = PullEngine(None, "t1_SCRAPE", "persistence", batch=8)  # type: ignore[arg-type]
    e.outstanding = outstanding
    return e


def status(code: str, **headers: str) -> dict[str, str]:
    return {"Status": code, **headers}


def fact(e: PullEngine, i: int) -> None:
    """Deliver event ``i`` as the parser would: subject, reply, data, no header block."""
    e._on_raw(b"t1.subreddit.fetched", b"$JS.ACK.t1_SCRAPE.persistence.1.%d.%d.1.0" % (i, i), b'{"i": %d}' % i, None)


def status_line(e: PullEngine, block: bytes) -> None:
    e._on_raw(e._inbox.encode(), b"", b"", block)


async def test_an_idle_heartbeat_changes_nothing_owed() -> None:
    e = engine(10)
    status_line(e, b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 0\r\nNats-Last-Stream: 0\r\n\r\n")
    assert e.outstanding == 10 and not e._wake.is_set() and not e.buffer


@pytest.mark.parametrize(("code", "pending", "left"), [("408", "7", 3), ("404", "10", 0), ("409", "3", 7)])
async def test_an_ended_request_drops_what_it_still_owed(code: str, pending: str, left: int) -> None:
    e = engine(10)
    status_line(e, b"NATS/1.0 %s Request Ended\r\n%s: %s\r\nNats-Pending-Bytes: 0\r\n\r\n"
                % (code.encode(), PENDING_MSGS.encode(), pending.encode()))
    assert e.outstanding == left and e._wake.is_set() and not e.buffer


async def test_a_message_with_headers_and_no_data_is_a_message_not_a_status() -> None:
    e = engine(4)
    e._on_raw(b"t1.subreddit.fetched", b"$JS.ACK.t1_SCRAPE.persistence.1.1.1.1.0", b"",
              b"NATS/1.0\r\nNats-Msg-Id: a\r\n\r\n")
    assert e.outstanding == 3 and len(e.buffer) == 1
    assert e.buffer[0].headers == {"Nats-Msg-Id": "a"} and e.buffer[0].data == b""


async def test_a_request_ended_without_a_count_forgets_everything_owed() -> None:
    e = engine(10)
    e._on_status(status("409", Description="Consumer Deleted"))
    assert e.outstanding == 0


async def test_no_responders_backs_off_a_quarter_second() -> None:
    e = engine(10)
    e._on_status(status("503"))
    assert e.outstanding == 0 and 0.2 < e._retry_at - time.monotonic() <= 0.25


async def test_a_message_is_buffered_and_wakes_exactly_one_idle_worker() -> None:
    e = engine(4)
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    e.waiters.extend([first, second])
    fact(e, 1)
    assert e.outstanding == 3 and len(e.buffer) == 1 and e.ready.is_set()
    assert first.done() and first.result() is True and not second.done() and e.woken == 1
    msg = e.buffer[0]
    assert (msg.subject, msg.reply, msg.data, msg.headers) == (
        "t1.subreddit.fetched", "$JS.ACK.t1_SCRAPE.persistence.1.1.1.1.0", b'{"i": 1}', None)
    fact(e, 2)  # a worker is already on its way: the burst does not wake the next one
    assert not second.done() and e.woken == 1
    e.woken -= 1  # the first worker runs and takes a message, leaving one: it wakes the next
    e.buffer.popleft()
    e.wake_one()
    assert second.done() and e.woken == 1


async def test_stop_wakes_every_idle_worker_without_counting_them_woken() -> None:
    e = engine()
    loop = asyncio.get_running_loop()
    futs = [loop.create_future() for _ in range(3)]
    e.waiters.extend(futs)
    e.wake_all()
    assert [f.result() for f in futs] == [False] * 3 and e.woken == 0 and not e.waiters


async def test_a_batch_waiting_for_a_full_buffer_is_told_when_it_fills_or_a_request_ends() -> None:
    e = engine(8)
    e.fill_target = 3
    for i in range(2):
        fact(e, i)
    assert not e.filled.is_set()
    fact(e, 2)
    assert e.filled.is_set()
    e.filled.clear()
    e._on_status(status("408", **{PENDING_MSGS: "5"}))
    assert e.filled.is_set()


async def test_taken_messages_count_as_busy_until_settled() -> None:
    e = engine()
    for i in range(6):
        fact(e, i)
    taken = e.take(4)
    assert len(taken) == 4 and e.busy == 4 and len(e.buffer) == 2
    e._wake.clear()
    e.settled(4)
    assert e.busy == 0 and e._wake.is_set()
    assert len(e.take(10)) == 2 and not e.ready.is_set()


async def test_a_message_arriving_after_stop_is_handed_back_at_once() -> None:
    sent: list[tuple[str, bytes]] = []

    class Conn:
        async def publish(self, subject: str, payload: bytes) -> None:
            sent.append((subject, payload))

    e = PullEngine(Conn(), "t1_SCRAPE", "persistence", batch=8)  # type: ignore[arg-type]
    e.outstanding = 2
    await e.stop()
    fact(e, 7)
    await e.unsubscribe()  # waits for the hand-backs
    assert sent == [("$JS.ACK.t1_SCRAPE.persistence.1.7.7.1.0", b"-NAK")] and not e.buffer
