"""The publisher over the nats-py seam, against the loopback fake JetStream (no server): bulk
publishes are framed and counted, duplicates acked, every failure a ``PublishError`` naming it."""

from __future__ import annotations

import pytest
from b9_common.errors import PublishError
from b9_common.events import SubredditDiscovered
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology
from fake_nats import FakeNats
from nats.aio.client import Client

SUBJECT = "t1.subreddit.discovered"


def publisher(nc: Client, **kw: float) -> Publisher:
    return Publisher(nc.jetstream(), Topology("t1"), "tests@0", **kw)  # type: ignore[arg-type]


async def test_a_bulk_publish_is_framed_by_the_seam_and_every_ack_counted(loopback: FakeNats, nc: Client) -> None:
    pub = publisher(nc, window=16)
    envs = [pub.envelope(SubredditDiscovered(name=f"s{i}")) for i in range(300)]
    mark = loopback.mark()
    assert await pub.publish_many(envs) == 300
    assert [s for s, _ in loopback.stored] == [SUBJECT] * 300
    for env, (_, stored) in zip(envs, loopback.stored, strict=True):
        assert stored.startswith(b"NATS/1.0\r\nNats-Msg-Id: %s\r\n\r\n{" % env.id.encode())
    assert loopback.since(mark).count(b"HPUB " + SUBJECT.encode()) == 300


async def test_duplicates_are_acknowledged_and_not_stored_twice(loopback: FakeNats, nc: Client) -> None:
    pub = publisher(nc)
    envs = [pub.envelope(SubredditDiscovered(name=f"s{i}")) for i in range(40)]
    assert await pub.publish_many(envs) == 40
    assert await pub.publish_many(envs[:10]) == 10
    assert len(loopback.stored) == 40


async def test_refused_publishes_fail_the_batch_once_it_is_settled(loopback: FakeNats, nc: Client) -> None:
    loopback.refuse.add(SUBJECT)
    with pytest.raises(PublishError, match=r"5 of 5 publishes failed: .*refused t1.subreddit.discovered"):
        await publisher(nc).publish_many([SubredditDiscovered(name=f"s{i}") for i in range(5)])
    with pytest.raises(PublishError, match=r"JetStream refused t1\.subreddit\.discovered: refused"):
        await publisher(nc).publish(SubredditDiscovered(name="one"))


async def test_a_subject_no_stream_takes_is_named(loopback: FakeNats, nc: Client) -> None:
    loopback.no_stream.add(SUBJECT)
    with pytest.raises(PublishError, match="no stream accepts the subject"):
        await publisher(nc).publish_many([SubredditDiscovered(name="a")])
    with pytest.raises(PublishError, match=r"no stream accepts t1\.subreddit\.discovered"):
        await publisher(nc, timeout=1).publish(SubredditDiscovered(name="b"))


async def test_acks_that_stop_coming_fail_the_batch(loopback: FakeNats, nc: Client) -> None:
    loopback.hold = True
    with pytest.raises(PublishError, match=r"JetStream stopped acking \(3 publishes unacknowledged"):
        await publisher(nc, timeout=0.3).publish_many([SubredditDiscovered(name=f"s{i}") for i in range(3)])


async def test_an_id_nats_py_must_check_goes_through_its_publish(loopback: FakeNats, nc: Client) -> None:
    pub = publisher(nc)
    odd = pub.envelope(SubredditDiscovered(name="odd"), id_="caf\u00e9-1")
    assert await pub.publish_many([odd, SubredditDiscovered(name="plain")]) == 2
    assert len(loopback.stored) == 2 and loopback.stored[0][1].startswith(b"NATS/1.0\r\nNats-Msg-Id: caf")
