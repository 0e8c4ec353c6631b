"""The pull engine's bookkeeping (``jetstream/pull.py``), fed the messages and status lines a
server sends: what is owed, buffered, handed out, and when it asks again."""

from __future__ import annotations

import asyncio
import time

import pytest
from b9_common.jetstream.natsio import message
from b9_common.jetstream.pull import PENDING_MSGS, PullEngine


def engine(outstanding: int = 0) -> PullEngine:
    e = PullEngine(None, "t1_SCRAPE", "persistence", batch=8)  # type: ignore[arg-type]
    e.outstanding = outstanding
    return e


def status(code: str, **headers: str) -> dict[str, str]:
    return {"Status": code, **headers}


def fact(i: int) -> object:
    return message("t1.subreddit.fetched", b'{"i": %d}' % i, f"$JS.ACK.t1_SCRAPE.persistence.1.{i}.{i}.1.0")


async def test_an_idle_heartbeat_changes_nothing_owed() -> None:
    e = engine(10)
    await e._on_msg(message(e._inbox, b"", "", status("100", Description="Idle Heartbeat")))
    assert e.outstanding == 10 and not e._wake.is_set()


@pytest.mark.parametrize(("code", "pending", "left"), [("408", "7", 3), ("404", "10", 0), ("409", "3", 7)])
async def test_an_ended_request_drops_what_it_still_owed(code: str, pending: str, left: int) -> None:
    e = engine(10)
    await e._on_msg(message(e._inbox, b"", "", status(code, **{PENDING_MSGS: pending})))
    assert e.outstanding == left and e._wake.is_set()


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
    await e._on_msg(fact(1))  # type: ignore[arg-type]
    assert e.outstanding == 3 and len(e.buffer) == 1 and e.ready.is_set()
    assert first.done() and not second.done()


async def test_a_batch_waiting_for_a_full_buffer_is_told_when_it_fills_or_a_request_ends() -> None:
    e = engine(8)
    e.fill_target = 3
    for i in range(2):
        await e._on_msg(fact(i))  # type: ignore[arg-type]
    assert not e.filled.is_set()
    await e._on_msg(fact(2))  # type: ignore[arg-type]
    assert e.filled.is_set()
    e.filled.clear()
    e._on_status(status("408", **{PENDING_MSGS: "5"}))
    assert e.filled.is_set()


async def test_taken_messages_count_as_busy_until_settled() -> None:
    e = engine()
    for i in range(6):
        await e._on_msg(fact(i))  # type: ignore[arg-type]
    taken = e.take(4)
    assert len(taken) == 4 and e.busy == 4 and len(e.buffer) == 2
    e._wake.clear()
    e.settled(4)
    assert e.busy == 0 and e._wake.is_set()
    assert len(e.take(10)) == 2 and not e.ready.is_set()
