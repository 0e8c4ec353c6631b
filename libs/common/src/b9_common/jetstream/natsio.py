"""Every use of nats-py's private internals, in one place, with a small surface.

b9 goes below nats-py's public API in a few hot or broken spots; each is here and nowhere else,
and ``tests/unit/test_natsio_contract.py`` checks it against the installed nats-py:

- **Framing** (``headers``, ``msg_id_headers``, ``hpub``, ``pub``, ``ack_frames``): the ``HPUB`` /
  ``PUB`` commands nats-py's ``publish`` would write for the same message, built here so a bulk
  publish or a batch of acks costs one ``bytes.join`` instead of one ``publish`` call each (a third
  of a bulk publish's CPU, a tenth of a batch consumer's). The contract test compares these bytes
  with what ``Client.publish`` and ``Msg.nak`` / ``term`` / ``in_progress`` send. (Acks carry
  ``+ACK``, as ``publish(reply, b"+ACK")`` would; ``Msg.ack()`` sends an empty body, which the
  server reads the same way.)
- **Writing** (``write_frames``): queues framed commands into the client's pending buffer
  (``Client._send_command``) and wakes its flusher (``_flush_queue``, ``_flush_pending``), as
  ``Client._send_publish`` does. Only while connected: callers check ``can_frame`` and fall back to
  ``publish`` otherwise (nats-py's reconnect buffer and its size checks then apply).
- **Ack subjects** (``parse_ack_subject``): the JetStream metadata in a message's reply subject,
  parsed without the ``datetime`` nats-py's ``Msg.metadata`` builds per message; checked against
  ``Msg.metadata`` on real JetStream messages.
- **Raw delivery** (``subscribe_raw``, ``unsubscribe_raw``, ``RawMsg``, ``parse_headers``): a
  subscription whose messages skip nats-py's per-message work (its header parse, a ``Msg``, the
  subscription's queue and task, an awaited callback) and reach a plain function with the bytes
  the parser read. It wraps the client's ``_process_msg`` once per client (the parser calls it
  for every ``MSG`` / ``HMSG``) and routes by subscription id (``Subscription._id``); other
  subscriptions go through nats-py unchanged, and nats-py still re-subscribes it on reconnect.
  Headers are parsed only when read (``RawMsg.headers``), as ``Client._process_headers`` does;
  the contract test compares both with what a normal subscription delivers.
- **Handles** (``client_of``, ``kv_parts``, ``bucket_name``, ``message``): the connection a
  ``JetStreamContext`` publishes on, a KV bucket's stream and subject prefix, and a ``Msg`` built
  outside a subscription (``b9_common.testing``).

``VERIFIED`` is the nats-py range this module was checked against; it matches the pin in
``libs/common/pyproject.toml``. The contract test passed on 2.9.0, 2.10.0, 2.11.0, 2.12.0, 2.13.1,
2.14.0, 2.15.0 and 2.16.0. Raising the pin means running it on the new release first::

    pip install --no-deps --target /tmp/nats-X nats-py==X
    PYTHONPATH=/tmp/nats-X .venv/bin/python -m pytest tests/unit/test_natsio_contract.py
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Protocol

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

VERIFIED = (2, 9), (2, 17)  # nats-py >= 2.9, < 2.17 (libs/common/pyproject.toml)
HDR_LINE = b"NATS/1.0\r\n"
log = logging.getLogger(__name__)


def installed() -> str:
    return version("nats-py")


def verified(release: str | None = None) -> bool:
    """Is this nats-py release (default: the installed one) in the range the seam was checked for?"""
    parts = tuple(int(p) for p in (release or installed()).split(".")[:2] if p.isdigit())
    low, high = VERIFIED
    return low <= parts < high


# -- handles ----------------------------------------------------------------------------------
def client_of(js: JetStreamContext) -> NATS:
    """The core connection a JetStream context publishes on (``JetStreamContext._nc``)."""
    nc: NATS = js._nc
    return nc


def kv_parts(kv: KeyValue) -> tuple[JetStreamContext, str, str]:
    """A KV bucket's JetStream context, stream name (``KV_<bucket>``) and subject prefix
    (``$KV.<bucket>.``): ``KeyValue._js``, ``_stream``, ``_pre``."""
    return kv._js, kv._stream, kv._pre


def bucket_name(kv: KeyValue) -> str:
    """The bucket's name (``KeyValue._name``)."""
    name: str = kv._name
    return name


def message(subject: str, data: bytes, reply: str = "", headers: dict[str, str] | None = None) -> Msg:
    """A ``Msg`` as a subscription would deliver it, with no client behind it (replies fail)."""
    return Msg(_client=None, subject=subject, reply=reply, data=data, headers=headers)  # type: ignore[arg-type]


# -- framing ----------------------------------------------------------------------------------
def can_frame(nc: NATS, size: int) -> bool:
    """Whether a message of ``size`` payload bytes may be framed and written here (connected,
    within the server's ``max_payload``); otherwise go through ``publish``."""
    return bool(nc.is_connected) and size <= nc.max_payload


def headers(pairs: list[tuple[str, str]]) -> bytes | None:
    """The header block ``Client.publish(..., headers=dict(pairs))`` writes, or ``None`` when a
    value needs nats-py's own handling (non-printable, non-ASCII: it rewrites or refuses them)."""
    lines = []
    for key, raw in pairs:
        value = raw.strip()
        if not value.isprintable() or not value.isascii():
            return None
        lines.append(b"%s: %s\r\n" % (key.encode(), value.encode()))
    return HDR_LINE + b"".join(lines) + b"\r\n"


def msg_id_headers(msg_id: str, traceparent: str | None = None) -> bytes | None:
    """``headers([("Nats-Msg-Id", msg_id)])`` (plus ``traceparent``), in one format: the hot path
    of a bulk publish."""
    value = msg_id.strip()
    if not value.isprintable() or not value.isascii():
        return None
    if traceparent is None:
        return b"NATS/1.0\r\nNats-Msg-Id: %s\r\n\r\n" % value.encode()
    return headers([("Nats-Msg-Id", msg_id), ("traceparent", traceparent)])


def hpub(subject: bytes, reply: str, hdr: bytes, data: bytes) -> bytes:
    """The ``HPUB`` command ``Client.publish(subject, data, reply, headers)`` writes, given the
    header block (``headers`` / ``msg_id_headers``)."""
    return b"HPUB %s %s %d %d\r\n%s%s\r\n" % (subject, reply.encode(), len(hdr), len(hdr) + len(data), hdr, data)


def pub(subject: str, data: bytes) -> bytes:
    """The ``PUB`` command ``Client.publish(subject, data)`` writes (no reply, no headers: nats-py
    leaves the reply field empty, hence two spaces)."""
    return b"PUB %s  %d\r\n%s\r\n" % (subject.encode(), len(data), data)


def ack_frames(replies: list[str], payload: bytes = b"+ACK") -> bytes:
    """One ``PUB <reply> <n>`` per message: the acks ``Msg.ack()`` would send, as one write."""
    head = b"  %d\r\n%s\r\n" % (len(payload), payload)
    return b"".join([b"PUB " + r.encode() + head for r in replies])


async def write_frames(nc: NATS, data: bytes, n_msgs: int, payload_bytes: int) -> None:
    """Queue framed ``PUB`` / ``HPUB`` commands as ``Client._send_publish`` does: count them in
    ``stats``, append to the pending buffer, wake the flusher. Only while connected."""
    nc.stats["out_msgs"] += n_msgs
    nc.stats["out_bytes"] += payload_bytes
    await nc._send_command(data)
    if nc._flush_queue is not None and nc._flush_queue.empty():
        await nc._flush_pending()


# -- ack subjects -----------------------------------------------------------------------------
@dataclass(slots=True)
class AckMeta:
    stream: str
    consumer: str
    num_delivered: int
    stream_seq: int
    consumer_seq: int
    timestamp_ns: int
    num_pending: int


def parse_ack_subject(reply: str) -> AckMeta | None:
    """Parse ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`` (v1) or
    ``$JS.ACK.<domain>.<account hash>.<stream>...`` (v2, with or without a trailing token)."""
    tokens = reply.split(".")
    n = len(tokens)
    if n < 9 or tokens[0] != "$JS" or tokens[1] != "ACK":
        return None
    try:
        if n == 9:
            _, _, stream, consumer, delivered, sseq, cseq, ts, pending = tokens
        else:
            stream, consumer, delivered, sseq, cseq, ts, pending = tokens[4:11]
        return AckMeta(stream, consumer, int(delivered), int(sseq), int(cseq), int(ts), int(pending))
    except ValueError:  # a token that is not a number, or (unpacking) too few tokens
        return None


# -- raw delivery -----------------------------------------------------------------------------
class Message(Protocol):
    """What the runtime reads of a delivered message: a nats-py ``Msg`` or a ``RawMsg``."""

    @property
    def subject(self) -> str: ...
    @property
    def reply(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def headers(self) -> dict[str, str] | None: ...


class RawMsg:
    """A message as the parser read it; its header block is parsed on first read of ``headers``."""

    __slots__ = ("_headers", "_parsed", "data", "header_block", "reply", "subject")

    def __init__(self, subject: str, reply: str, data: bytes, header_block: bytes | None = None) -> None:
        self.subject, self.reply, self.data, self.header_block = subject, reply, data, header_block
        self._headers: dict[str, str] | None = None
        self._parsed = header_block is None

    @property
    def headers(self) -> dict[str, str] | None:
        if not self._parsed:
            self._headers, self._parsed = parse_headers(self.header_block), True
        return self._headers


def _header_lines(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue
        if any(c.isspace() for c in key):
            continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


def parse_headers(block: bytes | None) -> dict[str, str] | None:
    """The headers nats-py's ``Client._process_headers`` makes of a header block: an inline status
    (``NATS/1.0 408 Request Timeout``) becomes ``Status`` and ``Description``."""
    if not block:
        return None
    hdr: dict[str, str] | None = None
    raw = block[8:]
    if raw[:1] == b" ":
        line = block[9:]
        status, desc = line[:3].strip().decode(), line[4:len(line) - 4]
        hdr = {"Status": status} if status.isdigit() else {}
        raw = raw[raw.find(b"\r\n") + 2:]
        if desc:
            i = desc.find(b"\r\n")
            if i > 0:
                hdr["Description"] = desc[:i].decode()
                hdr.update(_header_lines(desc[i + 2:]))
            else:
                hdr["Description"] = desc.decode()
    if len(raw) <= 2:
        return hdr
    lines = _header_lines(block[10:])
    if hdr:
        hdr.update(lines)
    else:
        hdr = lines
    return hdr or None


RawCallback = Callable[[bytes, bytes, bytes, "bytes | None"], None]
"""``callback(subject, reply, data, header_block)``: called in the client's read loop; must not block."""


def _raw_routes(nc: NATS) -> dict[int, RawCallback]:
    routes: dict[int, RawCallback] | None = nc.__dict__.get("_b9_raw_routes")
    if routes is not None:
        return routes
    routes = {}
    builtin = nc._process_msg
    stats = nc.stats

    async def process_msg(sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> None:
        callback = routes.get(sid)
        if callback is None:
            await builtin(sid, subject, reply, data, headers)  # type: ignore[arg-type]  # nats-py passes None
            return
        stats["in_msgs"] += 1
        stats["in_bytes"] += len(data)
        try:
            callback(subject, reply, data, headers)
        except Exception:  # never into the parser: nats-py would read it as a protocol error
            log.exception("raw subscription callback failed")

    nc._process_msg = process_msg  # type: ignore[method-assign]
    nc.__dict__["_b9_raw_routes"] = routes
    return routes


async def subscribe_raw(nc: NATS, subject: str, callback: RawCallback) -> Subscription:
    """Subscribe ``callback`` to ``subject``, past nats-py's per-message work (see above)."""
    routes = _raw_routes(nc)

    async def fallback(msg: Msg) -> None:  # only if a message beat the route (cannot: SUB is not yet written)
        log.warning("raw subscription message went through nats-py", extra={"subject": msg.subject})

    sub = await nc.subscribe(subject, cb=fallback, pending_msgs_limit=-1, pending_bytes_limit=-1)
    routes[sub._id] = callback
    return sub


async def unsubscribe_raw(nc: NATS, sub: Subscription) -> None:
    _raw_routes(nc).pop(sub._id, None)
    await sub.unsubscribe()
