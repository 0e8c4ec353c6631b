"""The nats-py seam (``b9_common.jetstream.natsio``) against a real JetStream server: framed
publishes are stored as nats-py's own, ack subjects parse as ``Msg.metadata`` says, batch acks
settle, and a KV bucket's stream and prefix are the ones its public API uses."""

from __future__ import annotations

import asyncio
import json

from b9_common.events import SubredditDiscovered
from b9_common.jetstream import natsio
from b9_common.jetstream.kv import kv_keys
from b9_common.service import Runtime
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, KeyValueConfig


async def test_framed_publishes_are_stored_as_nats_py_stores_its_own(rt: Runtime) -> None:
    subject = rt.topology.subject("subreddit.discovered")
    theirs = rt.publisher.envelope(SubredditDiscovered(name="theirs"))
    await rt.js.publish(subject, b"x", headers={"Nats-Msg-Id": theirs.id})
    ours = [rt.publisher.envelope(SubredditDiscovered(name=f"s{i}")) for i in range(50)]
    assert natsio.can_frame(rt.nc, 100)
    assert await rt.publisher.publish_many(ours) == 50
    stream = rt.topology.stream("SCRAPE")
    first, second = await rt.js.get_msg(stream, 1), await rt.js.get_msg(stream, 2)
    assert first.headers == {"Nats-Msg-Id": theirs.id} and second.headers == {"Nats-Msg-Id": ours[0].id}
    assert second.subject == first.subject == subject
    assert (await rt.js.stream_info(stream)).state.messages == 51


async def test_ack_subjects_of_real_messages_parse_as_msg_metadata_and_batch_acks_settle(rt: Runtime) -> None:
    stream = rt.topology.stream("SCRAPE")
    await rt.publisher.publish_many([SubredditDiscovered(name=f"m{i}") for i in range(20)])
    sub = await rt.js.pull_subscribe(rt.topology.subject("subreddit.discovered"), "seam", stream=stream,
                                     config=ConsumerConfig(ack_wait=30))
    msgs = await sub.fetch(20, timeout=5)
    assert len(msgs) == 20
    for m in msgs:
        meta, theirs = natsio.parse_ack_subject(m.reply), m.metadata
        assert meta is not None
        assert (meta.stream, meta.consumer, meta.num_delivered, meta.stream_seq, meta.consumer_seq,
                meta.num_pending) == (theirs.stream, theirs.consumer, theirs.num_delivered, theirs.sequence.stream,
                                      theirs.sequence.consumer, theirs.num_pending)
        assert abs(meta.timestamp_ns / 1e9 - theirs.timestamp.timestamp()) < 1e-3
    await natsio.write_frames(rt.nc, natsio.ack_frames([m.reply for m in msgs]), len(msgs), 4 * len(msgs))
    await rt.nc.flush()
    for _ in range(50):
        info = await rt.js.consumer_info(stream, "seam")
        if info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.1)
    assert (info.num_ack_pending, info.num_redelivered, info.delivered.stream_seq) == (0, 0, 20)


async def test_a_kv_buckets_stream_and_prefix_are_its_public_ones(rt: Runtime) -> None:
    kv = await rt.js.create_key_value(KeyValueConfig(bucket=rt.topology.bucket("seam"), history=1))
    for key in ("a.1", "a.2", "b.1"):
        await kv.put(key, b"v")
    js, stream, prefix = natsio.kv_parts(kv)
    assert js is rt.js and natsio.bucket_name(kv) == rt.topology.bucket("seam")
    assert stream == f"KV_{rt.topology.bucket('seam')}" and prefix == f"$KV.{rt.topology.bucket('seam')}."
    assert (await rt.js.stream_info(stream)).config.subjects == [f"{prefix}>"]
    assert await kv_keys(kv) == sorted(await kv.keys()) == ["a.1", "a.2", "b.1"]
    assert await kv_keys(kv, "a.") == ["a.1", "a.2"]


async def test_a_raw_subscription_reads_pull_replies_and_statuses_as_a_subscription_does(rt: Runtime) -> None:
    """Messages (with their ``Nats-Msg-Id`` header) and the 100 / 404 / 408 statuses a pull request
    gets, on one inbox read by a nats-py subscription and by ``natsio.subscribe_raw``."""
    stream = rt.topology.stream("SCRAPE")
    await rt.js.add_consumer(stream, ConsumerConfig(durable_name="raw", ack_wait=30,
                                                    filter_subject=rt.topology.subject("subreddit.discovered")))
    inbox = rt.nc.new_inbox()
    theirs: list[tuple[str, str, bytes, dict[str, str] | None]] = []
    ours: list[natsio.RawMsg] = []

    async def collect(msg: Msg) -> None:
        theirs.append((msg.subject, msg.reply, msg.data, msg.headers))

    def collect_raw(subject: bytes, reply: bytes, data: bytes, header_block: bytes | None) -> None:
        ours.append(natsio.RawMsg(subject.decode(), reply.decode(), data, header_block))

    async def ask(request: dict[str, object], until: int, status: str | None = None) -> None:
        await rt.nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.raw", json.dumps(request).encode(), reply=inbox)
        for _ in range(100):
            await asyncio.sleep(0.05)
            last = (theirs[-1][3] or {}) if theirs else {}
            if len(theirs) >= until and len(ours) >= until and (status is None or last.get("Status") == status):
                return

    sub = await rt.nc.subscribe(inbox, cb=collect)
    raw = await natsio.subscribe_raw(rt.nc, inbox, collect_raw)
    await ask({"batch": 1, "no_wait": True}, 1, "404")  # nothing stored yet
    await rt.publisher.publish_many([SubredditDiscovered(name=f"r{i}") for i in range(3)])
    await ask({"batch": 3}, 4)
    await ask({"batch": 2, "expires": 600_000_000, "idle_heartbeat": 200_000_000}, 6, "408")
    await rt.nc.flush()
    assert theirs == [(m.subject, m.reply, m.data, m.headers) for m in ours]
    statuses = [h.get("Status") for _, _, _, h in theirs if h and "Status" in h]
    assert statuses[0] == "404" and statuses[-1] == "408" and "100" in statuses
    assert all(h and "Nats-Msg-Id" in h and natsio.parse_ack_subject(r) for _, r, _, h in theirs[1:4])
    await natsio.unsubscribe_raw(rt.nc, raw)
    await sub.unsubscribe()
