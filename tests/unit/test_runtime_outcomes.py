"""``b9_common.testing`` maps a handler's result as the consumer runtime does (errors.py): ack,
skip, nak with a delay, DLQ with the reason; and its fakes behave like the adapters they replace."""

from __future__ import annotations

import pytest
from b9_common.errors import PublishError, Reject, Retry, Skip
from b9_common.events import Envelope, SubredditFetched
from b9_common.jetstream.delivery import Delivery
from b9_common.jetstream.dlq import ORIGINAL_SEQ, REASON
from b9_common.jetstream.topology import ConsumerSpec, Topology
from b9_common.ops.requests import Reporter, RequestBook
from b9_common.testing import FakeKV, FakePublisher, Raw, Run, run_batch, run_handler
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

FACT = SubredditFetched(name="pics", title="Pictures", subscribers=1000)
SPEC = ConsumerSpec(name="persistence", stream="SCRAPE", subjects=("subreddit.fetched",), max_deliver=4)


def raising(exc: Exception | None):  # type: ignore[no-untyped-def]
    async def handler(env: Envelope[SubredditFetched]) -> None:
        assert env.data == FACT
        if exc is not None:
            raise exc
    return handler


@pytest.mark.parametrize(("exc", "outcome", "reply"), [
    (None, "ack", b"+ACK"),
    (Skip("stale"), "skip", b"+ACK"),
    (Retry("upstream down", 7.5), "retry", b'-NAK {"delay": 7500000000}'),
    (Reject("bad name"), "dlq", b"+TERM"),
])
async def test_handler_results_map_to_replies(exc: Exception | None, outcome: str, reply: bytes) -> None:
    out = await run_handler(raising(exc), FACT, spec=SPEC)
    assert (out.outcome, out.reply) == (outcome, reply)
    assert out.reason == ("" if exc is None else str(exc))


async def test_a_retry_without_delay_backs_off_with_the_deliveries() -> None:
    outs = [await run_handler(raising(Retry("down")), FACT, spec=SPEC, num_delivered=n) for n in (1, 2, 3)]
    assert [o.delay for o in outs] == [1.0, 2.0, 4.0]


async def test_an_unexpected_exception_is_a_retry_naming_it() -> None:
    out = await run_handler(raising(KeyError("x")), FACT, spec=SPEC)
    assert (out.outcome, out.reason, out.delay) == ("retry", "KeyError: 'x'", 1.0)


async def test_the_last_delivery_of_a_retry_goes_to_dlq_with_the_reason() -> None:
    pub = FakePublisher(Topology("t1"))
    out = await run_handler(raising(Retry("db down")), FACT, spec=SPEC, num_delivered=4, publisher=pub,
                            topology=Topology("t1"))
    assert (out.outcome, out.reply) == ("dlq", b"+TERM")
    assert out.reason == "max deliveries (4) exhausted: db down"
    assert out.dlq is not None and pub.sent == [out.dlq]
    assert out.dlq.subject == "t1.dlq.subreddit.fetched"
    assert out.dlq.headers[REASON] == out.reason and out.dlq.headers[ORIGINAL_SEQ] == "1"
    assert b'"name":"pics"' in out.dlq.data


async def test_undecodable_bytes_and_unknown_subjects_go_to_dlq_without_the_handler() -> None:
    called: list[object] = []

    async def handler(env: Envelope[SubredditFetched]) -> None:
        called.append(env)

    bad = await run_handler(handler, Raw("subreddit.fetched", b'{"id": 1}'), spec=SPEC)
    unknown = await run_handler(handler, Raw("no.such.event", b"{}"), spec=SPEC)
    assert (bad.outcome, unknown.outcome) == ("dlq", "dlq") and not called
    assert unknown.reason == "unknown subject 'no.such.event'"
    assert bad.dlq is not None and bad.dlq.data == b'{"id": 1}'


async def test_a_batch_error_settles_only_what_the_handler_left_unmarked() -> None:
    async def handler(ds: list[Delivery]) -> None:
        ds[0].reject("bad one")
        ds[1].skip("old")
        raise Retry("database unavailable", 0.5)

    outs = await run_batch(handler, [FACT, FACT, FACT], spec=SPEC)
    assert [(o.outcome, o.reason) for o in outs] == [
        ("dlq", "bad one"), ("skip", "old"), ("retry", "database unavailable")]
    assert outs[2].delay == 0.5


async def test_an_unexpected_batch_error_retries_the_skipped_too_but_keeps_the_rejected() -> None:
    async def handler(ds: list[Delivery]) -> None:
        ds[0].reject("bad one")
        ds[1].skip("old")
        raise RuntimeError("bug")

    outs = await run_batch(handler, [FACT, FACT, FACT], spec=SPEC)
    assert [o.outcome for o in outs] == ["dlq", "retry", "retry"]
    assert outs[2].reason == "RuntimeError: bug"


async def test_a_run_takes_its_settings_as_one_object() -> None:
    out = await run_handler(raising(Retry("down")), FACT, Run(spec=SPEC, num_delivered=2, backoff=lambda n: 9.0))
    assert out.delay == 9.0


async def test_the_fake_publisher_captures_what_subscribers_would_decode() -> None:
    pub = FakePublisher(Topology("t1"), source="cat@1")
    env = await pub.publish(FACT, id_="e1")
    assert await pub.publish_many([FACT, pub.envelope(FACT, id_="e3")]) == 2
    assert [s.subject for s in pub.sent] == ["t1.subreddit.fetched"] * 3
    assert pub.sent[0].headers == {"Nats-Msg-Id": "e1"} and pub.envelopes[0] == env
    assert pub.payloads("subreddit.fetched") == [FACT] * 3 and env.source == "cat@1"
    pub.fail = "no stream"
    with pytest.raises(PublishError, match="no stream"):
        await pub.publish(FACT)


async def test_the_fake_kv_keeps_revisions_and_compare_and_set() -> None:
    kv = FakeKV()
    first = await kv.create("a", b"1")
    with pytest.raises(KeyWrongLastSequenceError):
        await kv.create("a", b"2")
    with pytest.raises(KeyWrongLastSequenceError):
        await kv.update("a", b"2", last=first + 1)
    await kv.update("a", b"2", last=first)
    assert (await kv.get("a")).value == b"2" and await kv.keys() == ["a"]
    await kv.delete("a")
    with pytest.raises(KeyNotFoundError):
        await kv.get("a")
    await kv.create("a", b"3")  # a deleted key can be created again
    kv.fail = "bucket away"
    with pytest.raises(NatsTimeout):
        await kv.get("a")


async def test_requests_are_reported_into_the_fake_kv() -> None:
    book = RequestBook(FakeKV())  # type: ignore[arg-type]
    record, new = await book.open({"id": "r1", "kind": "subreddit", "target": "pics"})
    assert new and record["status"] == "queued"
    await Reporter(book, "rep-1").set("r1", "done", result={"n": 1})
    assert (await book.get("r1") or {})["status"] == "done"
    _, again = await book.open({"id": "r2", "kind": "subreddit", "target": "pics"})
    assert again  # the first one is done: a new request opens
