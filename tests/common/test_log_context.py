"""A log line about one message carries that message's event id, never the previous one's
(the media service's "dead-lettered" line for an event with no id showed the event before it)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from b9_common.events import Envelope, ScrapeAttempted
from b9_common.jetstream.consumer import Consumer
from b9_common.jetstream.delivery import Delivery
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops.logs import JsonFormatter
from b9_common.service import Runtime


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


async def _wait_for(cond, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _run(rt: Runtime, name: str, batch: bool) -> list[dict[str, object]]:
    async def handler(env: Envelope[ScrapeAttempted]) -> None:
        logging.getLogger("test.handler").info("handled")

    async def batch_handler(ds: list[Delivery]) -> None:
        logging.getLogger("test.handler").info("handled %d", len(ds))

    spec = ConsumerSpec(name=name, stream="SCRAPE", subjects=("scrape.attempted",), max_deliver=2, ack_wait=5.0)
    kw = {"batch_handler": batch_handler, "batch": 1} if batch else {"handler": handler, "concurrency": 1}
    consumer = Consumer(rt.nc, rt.js, rt.topology, spec, publisher=rt.publisher, **kw)  # type: ignore[arg-type]
    lines = Lines()
    logger = logging.getLogger("b9_common.jetstream.consumer")
    logger.addHandler(lines)
    await consumer.start()
    try:
        await rt.publisher.publish(ScrapeAttempted(scraper="reddit", target_kind="subreddit", target="a",
                                                   outcome="success"))
        await _wait_for(lambda: consumer.counts["ack"] == 1)
        # no envelope id at all: rejected at decoding, dead-lettered
        await rt.js.publish(rt.topology.subject("scrape.attempted"), b'{"type": "scrape.attempted"}')
        await _wait_for(lambda: consumer.counts["dlq"] == 1)
    finally:
        await consumer.stop(5)
        logger.removeHandler(lines)
    return lines.lines


@pytest.mark.parametrize("batch", [False, True], ids=["per-event", "batch"])
async def test_a_dead_letter_without_an_id_carries_no_event_id(rt: Runtime, batch: bool) -> None:
    lines = await _run(rt, "logctx", batch)
    dead = [line for line in lines if str(line["msg"]).startswith("dead-lettered")]
    assert len(dead) == 1, lines
    assert "event_id" not in dead[0], dead[0]
    assert dead[0]["subject"] == rt.topology.subject("scrape.attempted"), dead[0]
