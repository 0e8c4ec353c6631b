"""Replay slices for people: parse times, resolve a slice to sequences, count what it holds.

``parse_time("2h")`` / ``parse_time("2025-03-01T12:00Z")`` turn what a user types into an
aware datetime. ``resolve`` turns a user's slice (times and/or sequences, subject filters)
into sequence bounds: start = ``--from-seq`` or the first message at/after ``--since``;
end = ``--to-seq`` or the last message before ``--until``, capped at the stream's last
message when the replay begins (live traffic arriving meanwhile is not chased).
``count_by_subject`` counts the messages of each filter subject between those bounds
without reading them (two ephemeral consumers per subject: pending from start minus
pending from end + 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from b9_common.events.envelope import new_id
from b9_common.replay.runner import Slice, seq_at_time
from b9_common.service import Runtime

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*(?:ago)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """ISO-8601 (naive means UTC) or relative to now: ``30m``, ``2h``, ``1d``, ``1w`` (ago)."""
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(text)
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use ISO-8601 like 2025-03-01T12:00Z, or 30m, 2h, 1d)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class Resolved:
    """A slice with its sequence bounds fixed; ``start > end`` means empty."""

    stream: str
    subjects: tuple[str, ...]
    start: int
    end: int
    since: datetime | None = None
    until: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_slice(self, from_seq: int | None = None) -> Slice:
        # ``until`` is already folded into ``end``; passing it too keeps the primitive's gate exact.
        return Slice(stream=self.stream, subjects=self.subjects, from_seq=from_seq or self.start,
                     to_seq=self.end, until=self.until)

    def describe(self) -> dict[str, object]:
        return {
            "stream": self.stream, "subjects": list(self.subjects), "from_seq": self.start,
            "to_seq": self.end, "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


async def resolve(
    rt: Runtime,
    stream_name: str,
    subjects: tuple[str, ...],
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Resolved:
    stream = rt.topology.stream(stream_name)
    info = await rt.js.stream_info(stream)
    last, first = info.state.last_seq, max(1, info.state.first_seq)
    start = from_seq or first
    if since is not None and not from_seq:
        start = await seq_at_time(rt, stream, since, last) if last else 1
    end = min(to_seq, last) if to_seq else last
    if until is not None and not to_seq and last:
        end = min(end, await seq_at_time(rt, stream, until, last) - 1)
    start = max(start, first)
    res = Resolved(stream=stream_name, subjects=subjects, start=start, end=end, since=since, until=until)
    res.counts = await count_by_subject(rt, res)
    return res


async def _pending_from(rt: Runtime, stream: str, subject: str, seq: int) -> int:
    name = f"count-{new_id().lower()}"
    cfg = ConsumerConfig(name=name, deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=seq,
                         ack_policy=AckPolicy.EXPLICIT, filter_subject=subject, inactive_threshold=10.0,
                         mem_storage=True)
    info = await rt.js.add_consumer(stream, cfg)
    try:
        return int(info.num_pending or 0)
    finally:
        try:
            await rt.js.delete_consumer(stream, name)
        except Exception:
            pass


async def count_by_subject(rt: Runtime, res: Resolved) -> dict[str, int]:
    """Messages per filter subject (event type) with ``start <= seq <= end``."""
    if res.start > res.end:
        return {s: 0 for s in res.subjects}
    stream = rt.topology.stream(res.stream)
    out: dict[str, int] = {}
    for type_ in res.subjects:
        wire = rt.topology.subject(type_)
        # Live messages stored between the two probes skew the figure by that many (display only).
        after = await _pending_from(rt, stream, wire, res.end + 1)
        from_start = await _pending_from(rt, stream, wire, res.start)
        out[type_] = max(0, from_start - after)
    return out
