"""Small pieces of the replay tooling: time parsing, resume tracking, pacing, outcome mapping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from b9_common.errors import Reject, Retry, Skip
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.replay.jobs import ReplayError, pick_consumer, split_target
from b9_common.replay.slices import parse_time
from b9_common.replay.wrap import Pacer, Tracker, as_batch
from b9_common.service import App, ConsumerDef

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_parse_time_relative_and_iso() -> None:
    assert parse_time("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_time("30m", NOW) == NOW - timedelta(minutes=30)
    assert parse_time("1d", NOW) == NOW - timedelta(days=1)
    assert parse_time("90s ago", NOW) == NOW - timedelta(seconds=90)
    assert parse_time("2025-02-01T10:00:00Z") == datetime(2025, 2, 1, 10, tzinfo=UTC)
    assert parse_time("2025-02-01T10:00:00+02:00") == datetime(2025, 2, 1, 8, tzinfo=UTC)
    assert parse_time("2025-02-01") == datetime(2025, 2, 1, tzinfo=UTC)  # naive means UTC
    with pytest.raises(ValueError, match="not a time"):
        parse_time("yesterday-ish")


def test_tracker_resumes_from_lowest_unsettled() -> None:
    t = Tracker()
    assert t.resume_from(7) == 7
    t.start([10, 11, 12, 13])
    t.settle([10, 12, 13])
    assert t.resume_from(7) == 11
    t.settle([11])
    assert t.resume_from(7) == 14


def _defs() -> App:
    def spec(name: str, stream: str) -> ConsumerSpec:
        return ConsumerSpec(name=name, stream=stream, subjects=("x",))

    async def h(ds: list[Any]) -> None:
        return None

    return App(consumers=[ConsumerDef(spec("svc-commands", "COMMANDS"), batch_handler=h),
                          ConsumerDef(spec("svc", "SCRAPE"), batch_handler=h),
                          ConsumerDef(spec("svc", "DERIVED"), batch_handler=h)])


def test_pick_consumer() -> None:
    app = _defs()
    assert split_target("svc:svc-commands") == ("svc", "svc-commands")
    cdef, notes = pick_consumer(app, "svc", None, None)
    assert cdef.spec.stream == "SCRAPE" and "--stream DERIVED" in notes[0]  # work queues last
    assert pick_consumer(app, "svc", None, "derived")[0].spec.stream == "DERIVED"
    with pytest.raises(ReplayError, match="work queue"):
        pick_consumer(app, "svc", "svc-commands", None)
    with pytest.raises(ReplayError, match="it has: svc-commands"):
        pick_consumer(app, "svc", "nope", None)


async def test_pacer_holds_the_rate() -> None:
    pacer = Pacer(200.0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for _ in range(5):
        await pacer.take(20)  # 100 events at 200/s: the last take waits until ~0.4 s
    assert loop.time() - t0 >= 0.35


class _D:
    def __init__(self, v: str) -> None:
        self.envelope = v
        self.outcome: str | None = None
        self.reason = ""
        self.delay: float | None = None

    def skip(self, r: str = "") -> None:
        self.outcome, self.reason = "skip", r

    def reject(self, r: str) -> None:
        self.outcome, self.reason = "reject", r

    def retry(self, r: str, delay: float | None = None) -> None:
        self.outcome, self.reason, self.delay = "retry", r, delay


async def test_per_event_handler_as_batch_maps_outcomes() -> None:
    async def handler(env: Any) -> None:
        if env == "skip":
            raise Skip("same")
        if env == "reject":
            raise Reject("bad")
        if env == "retry":
            raise Retry("later", 3.0)
        if env == "boom":
            raise RuntimeError("boom")

    ds = [_D(v) for v in ("ok", "skip", "reject", "retry", "boom")]
    await as_batch(handler, 4)(ds)  # type: ignore[arg-type]
    assert [d.outcome for d in ds] == [None, "skip", "reject", "retry", "retry"]
    assert ds[3].delay == 3.0 and "RuntimeError" in ds[4].reason
