"""Contract of ``b9_common.jetstream.natsio`` with the installed nats-py: the bytes written
through the seam are the bytes nats-py's public API writes for the same publish or ack, on a
real client connected to a loopback fake server; ack subjects parse as ``Msg.metadata`` does."""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from b9_common.jetstream import natsio
from b9_common.jetstream.delivery import TERM, WPI, nak_payload
from fake_nats import FakeNats
from nats.aio.client import Client
from nats.aio.msg import Msg

PYPROJECT = Path(__file__).resolve().parents[2] / "libs" / "common" / "pyproject.toml"
SUBJECT = "t1.subreddit.fetched"
REPLY = "_INBOX.zX4kq2.17"
ACK_V1 = "$JS.ACK.t1_SCRAPE.persistence.3.1042.977.1733100000123456789.12"


async def wrote(loopback: FakeNats, nc: Client, action: Callable[[], Awaitable[Any]]) -> tuple[bytes, tuple[int, int]]:
    """The bytes ``action`` put on the wire, and how it moved the client's out counters."""
    mark, msgs, size = loopback.mark(), nc.stats["out_msgs"], nc.stats["out_bytes"]
    await action()
    await nc.flush(timeout=2)
    return loopback.since(mark), (nc.stats["out_msgs"] - msgs, nc.stats["out_bytes"] - size)


def test_the_installed_nats_py_is_in_the_range_the_seam_was_verified_for() -> None:
    assert natsio.verified(), f"nats-py {natsio.installed()} is outside {natsio.VERIFIED}: run this test on it, " \
                              "then move natsio.VERIFIED and the pin in libs/common/pyproject.toml together"
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.startswith("nats-py"))
    low, high = (tuple(int(x) for x in v.split(".")) for v in re.findall(r"[<>]=?\s*([\d.]+)", pin))
    assert (low, high) == natsio.VERIFIED, f"the pin {pin!r} and natsio.VERIFIED differ"


def test_verified_is_a_half_open_range() -> None:
    assert natsio.verified("2.9.0") and natsio.verified("2.16.3")
    assert not natsio.verified("2.8.4") and not natsio.verified("2.17.0") and not natsio.verified("3.0.0")


@pytest.mark.parametrize("headers", [
    [("Nats-Msg-Id", "01JDZ8W6Q2X3T4V5B6N7M8K9PA")],
    [("Nats-Msg-Id", " 3f2a-uuid-like "), ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")],
])
@pytest.mark.parametrize("data", [b'{"id":"x","data":{}}', b"", b"\x00\xff" * 5000])
async def test_hpub_is_the_frame_publish_writes(loopback: FakeNats, nc: Client, headers: list[tuple[str, str]],
                                                data: bytes) -> None:
    expected, counted = await wrote(loopback, nc, lambda: nc.publish(SUBJECT, data, reply=REPLY, headers=dict(headers)))
    hdr = natsio.headers(headers)
    assert hdr is not None
    frame = natsio.hpub(SUBJECT.encode(), REPLY, hdr, data)
    got, ours = await wrote(loopback, nc, lambda: natsio.write_frames(nc, frame, 1, len(data)))
    assert got == expected and expected.startswith(b"HPUB ")
    assert ours == counted == (1, len(data))


async def test_frames_joined_in_one_write_are_the_publishes_one_by_one(loopback: FakeNats, nc: Client) -> None:
    msgs = [(f"t1.posts.fetched.{i}", f"{REPLY[:-2]}{i}", str(i) * 40, b"x" * i) for i in range(5)]

    async def one_by_one() -> None:
        for subject, reply, mid, data in msgs:
            await nc.publish(subject, data, reply=reply, headers={"Nats-Msg-Id": mid})

    expected, counted = await wrote(loopback, nc, one_by_one)
    hdrs = [natsio.msg_id_headers(m) for _, _, m, _ in msgs]
    joined = b"".join(natsio.hpub(s.encode(), r, h, d) for (s, r, _, d), h in zip(msgs, hdrs, strict=True) if h)
    size = sum(len(m[3]) for m in msgs)
    got, ours = await wrote(loopback, nc, lambda: natsio.write_frames(nc, joined, len(msgs), size))
    assert got == expected and ours == counted


@pytest.mark.parametrize("value", ["line\nbreak", "caf\u00e9", "tab\there"])
def test_headers_leave_values_nats_py_would_rewrite_to_publish(value: str) -> None:
    assert natsio.headers([("Nats-Msg-Id", value)]) is None and natsio.msg_id_headers(value) is None


@pytest.mark.parametrize("traceparent", [None, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"])
def test_the_msg_id_fast_path_is_the_general_header_block(traceparent: str | None) -> None:
    pairs = [("Nats-Msg-Id", " 01JDZ8W6Q2X3T4V5B6N7M8K9PA ")] + ([("traceparent", traceparent)] if traceparent else [])
    assert natsio.msg_id_headers(pairs[0][1], traceparent) == natsio.headers(pairs)


async def test_batch_acks_are_the_acks_publish_writes(loopback: FakeNats, nc: Client) -> None:
    replies = [ACK_V1.replace(".3.1042.", f".1.{1000 + i}.") for i in range(4)]

    async def one_by_one() -> None:
        for r in replies:
            await nc.publish(r, b"+ACK")

    expected, counted = await wrote(loopback, nc, one_by_one)
    got, ours = await wrote(loopback, nc, lambda: natsio.write_frames(nc, natsio.ack_frames(replies), 4, 16))
    assert got == expected and ours == counted


@pytest.mark.parametrize(("reply_with", "ours"), [
    (lambda m: m.nak(delay=4), nak_payload(4.0)),
    (lambda m: m.nak(delay=0.25), nak_payload(0.25)),
    (lambda m: m.nak(), nak_payload(None)),
    (lambda m: m.term(), TERM),
    (lambda m: m.in_progress(), WPI),
])
async def test_settling_replies_are_what_msg_methods_send(loopback: FakeNats, nc: Client,
                                                          reply_with: Callable[[Msg], Awaitable[None]],
                                                          ours: bytes) -> None:
    msg = Msg(_client=nc, subject=SUBJECT, reply=ACK_V1, data=b"{}")
    expected, _ = await wrote(loopback, nc, lambda: reply_with(msg))
    got, _ = await wrote(loopback, nc, lambda: nc.publish(ACK_V1, ours))
    assert got == expected
    assert natsio.pub(ACK_V1, ours) == expected


async def test_can_frame_only_while_connected_and_within_max_payload(nc: Client) -> None:
    assert natsio.can_frame(nc, 1024) and natsio.can_frame(nc, nc.max_payload)
    assert not natsio.can_frame(nc, nc.max_payload + 1)
    await nc.close()
    assert not natsio.can_frame(nc, 10)


async def test_client_of_a_jetstream_context_is_its_connection(nc: Client) -> None:
    assert natsio.client_of(nc.jetstream()) is nc


@pytest.mark.parametrize("reply", [
    ACK_V1,
    "$JS.ACK.hub.a1b2c3.t1_SCRAPE.persistence.3.1042.977.1733100000123456789.12",
    "$JS.ACK._.a1b2c3.t1_SCRAPE.persistence.3.1042.977.1733100000123456789.12.x9Zr",
])
def test_ack_subjects_parse_as_msg_metadata_does(reply: str) -> None:
    meta, theirs = natsio.parse_ack_subject(reply), natsio.message(SUBJECT, b"", reply).metadata
    assert meta is not None
    assert (meta.stream, meta.consumer, meta.num_delivered, meta.stream_seq, meta.consumer_seq, meta.num_pending) == (
        theirs.stream, theirs.consumer, theirs.num_delivered, theirs.sequence.stream, theirs.sequence.consumer,
        theirs.num_pending)
    assert abs(meta.timestamp_ns / 1e9 - theirs.timestamp.timestamp()) < 1e-3


@pytest.mark.parametrize("reply", [
    "", "_INBOX.abc", "$JS.ACK.s.c.1.2.3", "$JS.ACK.s.c.x.2.3.4.5", "$JS.API.s.c.1.2.3.4.5",
])
def test_what_is_not_an_ack_subject_has_no_metadata(reply: str) -> None:
    assert natsio.parse_ack_subject(reply) is None


def test_message_is_a_msg_as_a_subscription_delivers_it() -> None:
    msg = natsio.message(SUBJECT, b"{}", ACK_V1, {"Nats-Msg-Id": "a"})
    assert (msg.subject, msg.data, msg.reply, msg.headers) == (SUBJECT, b"{}", ACK_V1, {"Nats-Msg-Id": "a"})
    assert msg.metadata.sequence.stream == 1042


@pytest.mark.parametrize("block", [
    b"NATS/1.0\r\nNats-Msg-Id: 01JDZ8W6Q2X3T4V5B6N7M8K9PA\r\n\r\n",
    b"NATS/1.0\r\nNats-Msg-Id: a\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n",
    b"NATS/1.0\r\nk:v\r\nspaced name: x\r\nno colon\r\ncaf\xc3\xa9: n\r\nv: caf\xc3\xa9 \xff\r\nurl: a:b:c\r\n\r\n",
    b"NATS/1.0 404 No Messages\r\n\r\n",
    b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 7\r\nNats-Pending-Bytes: 7168\r\n\r\n",
    b"NATS/1.0 409 Consumer Deleted\r\n\r\n",
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1016\r\nNats-Last-Stream: 1024\r\n\r\n",
    b"NATS/1.0 503\r\n\r\n",
    b"NATS/1.0 abc\r\n\r\n",
    b"NATS/1.0\r\n\r\n",
])
async def test_header_blocks_parse_as_the_client_parses_them(block: bytes) -> None:
    assert natsio.parse_headers(block) == await Client()._process_headers(block)
    assert natsio.RawMsg("s", "", b"", block).headers == await Client()._process_headers(block)


async def test_a_raw_subscription_gets_what_a_subscription_gets(loopback: FakeNats, nc: Client) -> None:
    """The fake server answers a publish with a reply subject on it (a JetStream error ``MSG``, or a
    503 status ``HMSG`` for a subject without a stream): once to a nats-py subscription, once to a raw one."""
    loopback.jetstream = True
    loopback.no_stream.add("t1.nowhere")
    loopback.refuse.add(SUBJECT)
    theirs: list[Msg] = []
    ours: list[natsio.RawMsg] = []

    async def collect(msg: Msg) -> None:
        theirs.append(msg)

    def collect_raw(subject: bytes, reply: bytes, data: bytes, header_block: bytes | None) -> None:
        ours.append(natsio.RawMsg(subject.decode(), reply.decode(), data, header_block))

    sub = await nc.subscribe("_INBOX.theirs.*", cb=collect)
    raw = await natsio.subscribe_raw(nc, "_INBOX.ours.*", collect_raw)
    before = nc.stats["in_msgs"]
    for i, subject in enumerate([SUBJECT, "t1.nowhere", SUBJECT]):
        for inbox in ("theirs", "ours"):
            await nc.publish(subject, b"%d" % i, reply=f"_INBOX.{inbox}.{i}")
    for _ in range(100):
        await nc.flush(timeout=2)
        if len(theirs) == len(ours) == 3:
            break
        await asyncio.sleep(0.01)
    assert [(m.subject.replace("theirs", "ours"), m.reply, m.data, m.headers) for m in theirs] == [
        (m.subject, m.reply, m.data, m.headers) for m in ours]
    assert ours[1].headers == {"Status": "503"} and ours[0].data.startswith(b'{"error"')
    assert nc.stats["in_msgs"] - before == 6
    await natsio.unsubscribe_raw(nc, raw)
    await nc.publish(SUBJECT, b"late", reply="_INBOX.ours.9")
    await nc.flush(timeout=2)
    assert len(ours) == 3 and raw._id not in natsio._raw_routes(nc)
    await sub.unsubscribe()


async def test_a_raw_callback_that_raises_does_not_reach_the_parser(loopback: FakeNats, nc: Client) -> None:
    loopback.jetstream = True
    calls: list[bytes] = []

    def broken(subject: bytes, reply: bytes, data: bytes, header_block: bytes | None) -> None:
        calls.append(data)
        raise RuntimeError("bug")

    await natsio.subscribe_raw(nc, "_INBOX.ours.*", broken)
    for i in range(2):
        await nc.publish(SUBJECT, b"x", reply=f"_INBOX.ours.{i}")
    for _ in range(100):
        await nc.flush(timeout=2)
        if len(calls) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(calls) == 2 and nc.is_connected
