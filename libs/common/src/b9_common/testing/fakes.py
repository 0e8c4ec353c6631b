"""Fakes of the runtime's adapters, for handler tests without servers.

- ``FakePublisher``: the real ``Publisher`` (same envelopes, ids, sources, subjects) whose sends
  are captured instead of going to JetStream. Every envelope is encoded and decoded through the
  catalogue, as a subscriber would read it, so a payload that would not survive the wire fails
  here too. ``fail`` makes the next sends raise ``PublishError`` (a stream that does not answer).
- ``FakeKV``: an in-memory JetStream KV bucket with nats-py's ``KeyValue`` methods and errors
  (``get``/``put``/``create``/``update``/``delete``/``keys``, revisions, compare-and-set), for
  handlers that keep state or report requests (``RequestBook(FakeKV())``). ``fail`` makes every
  call raise nats-py's ``TimeoutError`` (the bucket does not answer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue

from b9_common.errors import PublishError
from b9_common.events.catalogue import decoder_for
from b9_common.events.envelope import Envelope, encode
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology


@dataclass(frozen=True)
class Sent:
    """One captured publish: where it went, its headers, and the envelope a subscriber decodes
    (``None`` for raw bytes that are not an event, e.g. a DLQ copy of undecodable data)."""

    subject: str
    data: bytes
    headers: dict[str, str]
    envelope: Envelope[Any] | None


class FakePublisher(Publisher):
    """A ``Publisher`` that captures what it would publish (``sent``, ``envelopes``, ``payloads``)."""

    def __init__(self, topology: Topology | None = None, source: str = "tests@0") -> None:
        super().__init__(None, topology or Topology(), source)  # type: ignore[arg-type]
        self.sent: list[Sent] = []
        self.fail: str | None = None  # set: every publish raises PublishError with this text

    # -- reading what was sent --------------------------------------------------------------
    @property
    def envelopes(self) -> list[Envelope[Any]]:
        return [s.envelope for s in self.sent if s.envelope is not None]

    def payloads(self, type_: str | None = None) -> list[Any]:
        """The payloads sent, as subscribers decode them (of one event type if given)."""
        return [e.data for e in self.envelopes if type_ is None or e.type == type_]

    def to(self, subject: str) -> list[Sent]:
        return [s for s in self.sent if s.subject == subject]

    # -- the Publisher's sends ----------------------------------------------------------------
    def _check(self, subject: str) -> None:
        if self.fail is not None:
            raise PublishError(f"{self.fail} ({subject})")

    def _capture(self, env: Envelope[Any]) -> None:
        subject = self.topology.subject(env.type)
        self._check(subject)
        data = encode(env)
        self.sent.append(Sent(subject, data, {"Nats-Msg-Id": env.id}, decoder_for(env.type).decode(data)))

    async def publish_envelope(self, env: Envelope[Any]) -> None:
        self._capture(env)

    async def publish_raw(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        self._check(subject)
        self.sent.append(Sent(subject, data, dict(headers), None))

    async def publish_many(self, items: Iterable[Any]) -> int:
        n = 0
        for item in items:
            self._capture(item if isinstance(item, Envelope) else self.envelope(item))
            n += 1
        return n


class FakeKV:
    """An in-memory KV bucket with the ``KeyValue`` calls b9 uses (history 1, no TTL)."""

    def __init__(self, bucket: str = "fake") -> None:
        self.bucket = bucket
        self.data: dict[str, KeyValue.Entry] = {}
        self.seq = 0
        self.fail: str | None = None  # set: every call raises nats-py's TimeoutError

    def _check(self) -> None:
        if self.fail is not None:
            raise NatsTimeout(self.fail)

    def _entry(self, key: str, value: bytes | None, op: str | None = None) -> KeyValue.Entry:
        self._check()
        self.seq += 1
        entry = KeyValue.Entry(bucket=self.bucket, key=key, value=value, revision=self.seq, delta=0,
                               created=None, operation=op)
        self.data[key] = entry
        return entry

    async def get(self, key: str, revision: int | None = None) -> KeyValue.Entry:
        self._check()
        entry = self.data.get(key)
        if entry is None or entry.operation in ("DEL", "PURGE"):
            raise KeyNotFoundError(entry=entry)
        return entry

    async def put(self, key: str, value: bytes) -> int:
        return self._entry(key, value).revision or 0

    async def create(self, key: str, value: bytes) -> int:
        self._check()
        current = self.data.get(key)
        if current is not None and current.operation not in ("DEL", "PURGE"):
            raise KeyWrongLastSequenceError(description=f"wrong last sequence: {current.revision}")
        return self._entry(key, value).revision or 0

    async def update(self, key: str, value: bytes, last: int | None = None) -> int:
        self._check()
        current = self.data.get(key)
        if (current.revision if current is not None else 0) != (last or 0):
            raise KeyWrongLastSequenceError(description=f"wrong last sequence: {last}")
        return self._entry(key, value).revision or 0

    async def delete(self, key: str, last: int | None = None) -> bool:
        self._entry(key, None, "DEL")
        return True

    async def purge(self, key: str) -> bool:
        self._entry(key, None, "PURGE")
        return True

    async def keys(self) -> list[str]:
        self._check()
        live = [k for k, e in self.data.items() if e.operation not in ("DEL", "PURGE")]
        if not live:
            raise NoKeysError
        return sorted(live)

    def values(self) -> dict[str, bytes]:
        """Every live key and its value (for assertions)."""
        return {k: e.value or b"" for k, e in sorted(self.data.items()) if e.operation not in ("DEL", "PURGE")}
