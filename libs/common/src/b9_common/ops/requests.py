"""Requests people can follow: the state of one accepted action, in KV bucket ``requests``.

The gateway opens a request when it accepts an action (add / analyze a subreddit, discover a
user, add a creator, related-creator run, categorize, media) and puts its id on the command
(``request_id``); the service that runs the command moves it on (``running`` -> ``done`` /
``failed``, or back to ``queued`` with a reason while a budget or a stopped scraper holds it).
The gateway answers ``GET /api/v1/requests/{id}`` from the record and its live feed sends
each change (``request.changed``).

Keys (the bucket keeps them ``REQUESTS_TTL``, 24 h):
- ``r.<id>``: the record, JSON: ``{id, kind, target, status, reason, message, http_status,
  result, created_at, updated_at, requested_by, event_ids, subject, replica, parts,
  parts_done, counts, estimated_start}``;
- ``k.<kind>.<target>``: the id of the latest request for that kind and target. The same
  request sent again while that one is queued or running (and changed within ``STALE_AFTER``,
  15 min) gets the existing id (``open`` claims this key with compare-and-set, so two
  gateways racing open one request).

A command that is dead-lettered fails its request with the DLQ's reason (``jetstream.dlq_requests``: every
consumer of ``COMMANDS`` that ``serve`` runs reports it).

Writes are compare-and-set merges (a replica and the gateway may write one record at once).
A service's report is best effort: a KV hiccup is logged and never fails the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import msgspec
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

Status = Literal["queued", "running", "done", "failed"]
ACTIVE: tuple[str, ...] = ("queued", "running")
RECORD_PREFIX = "r."
_PLAIN = re.compile(r"^[a-z0-9_-]{1,64}$")
_TRIES = 20
STALE_AFTER = 15 * 60.0  # seconds without a change after which a queued/running request no longer dedups
_WAIT_STEPS, _WAIT_STEP = 25, 0.02  # up to 0.5 s for the record of a claim just taken


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def is_active(rec: dict[str, Any], now: datetime | None = None) -> bool:
    """Queued or running, and moved on within ``STALE_AFTER`` (a command lost leaves its request
    queued: after that long the same request opens a new one; a dead-lettered one fails it at
    once, ``jetstream.dlq_requests``)."""
    if rec.get("status") not in ACTIVE:
        return False
    try:
        at = datetime.fromisoformat(str(rec.get("updated_at")).replace("Z", "+00:00"))
    except ValueError:
        return True
    return ((now or datetime.now(UTC)) - at).total_seconds() < STALE_AFTER


def record_key(request_id: str) -> str:
    return f"{RECORD_PREFIX}{request_id}"


def dedup_key(kind: str, target: str) -> str:
    """``k.<kind>.<target>``: the target lower-cased, or a digest when it has other characters."""
    t = target.strip().lower()
    if not _PLAIN.match(t):
        t = "h" + hashlib.sha256(t.encode()).hexdigest()[:32]
    return f"k.{kind}.{t}"


def _decode(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None


class RequestBook:
    """Read, open and move on request records (one ``KeyValue`` handle on the bucket)."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, request_id: str) -> dict[str, Any] | None:
        try:
            entry = await self.kv.get(record_key(request_id))
        except KeyNotFoundError:  # also deleted / purged
            return None
        return _decode(entry.value)

    async def open(self, record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store ``record`` (with ``id``, ``kind``, ``target``) as queued, unless a request of the
        same kind and target is queued or running: then that one and ``False`` (nothing written).

        The claim ``k.<kind>.<target>`` is taken first (compare-and-set), then the record is
        written; whoever finds a claim whose record is not there yet waits for it briefly."""
        rid = record["id"]
        key = dedup_key(record["kind"], record["target"])
        for _ in range(_TRIES):
            try:
                await self.kv.create(key, rid.encode())
                break
            except KeyWrongLastSequenceError:
                pass
            try:
                entry = await self.kv.get(key)
            except KeyNotFoundError:
                continue  # gone meanwhile: create again
            other = await self._written((entry.value or b"").decode())
            if other is not None and is_active(other):
                return other, False
            try:
                await self.kv.update(key, rid.encode(), last=entry.revision)
                break
            except KeyWrongLastSequenceError:
                continue  # someone else claimed it: look again
        else:
            raise RuntimeError(f"could not claim {key}")
        at = now_iso()
        record = {"status": "queued", "reason": None, "message": None, "http_status": None,
                  "result": None, "created_at": at, "updated_at": at, **record}
        await self.kv.put(record_key(rid), msgspec.json.encode(record))
        return record, True

    async def _written(self, request_id: str) -> dict[str, Any] | None:
        """The record a claim points to; a claim just taken has its record a moment later."""
        for _ in range(_WAIT_STEPS):
            found = await self.get(request_id)
            if found is not None:
                return found
            await asyncio.sleep(_WAIT_STEP)
        return None  # its opener is gone: the claim is free

    async def update(self, request_id: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]
                     ) -> dict[str, Any] | None:
        """Apply ``change`` to the record (compare-and-set, retried on a concurrent write).
        ``change`` returns the new record, or None to leave it. A record that expired or was
        never opened is started from ``{"id": request_id}``."""
        key = record_key(request_id)
        for _ in range(_TRIES):
            try:
                entry = await self.kv.get(key)
                current, revision = _decode(entry.value) or {"id": request_id}, entry.revision
            except KeyNotFoundError as exc:
                current = {"id": request_id}
                revision = getattr(getattr(exc, "entry", None), "revision", None) or 0
            new = change(dict(current))
            if new is None:
                return current
            new["updated_at"] = now_iso()
            try:
                await self.kv.update(key, msgspec.json.encode(new), last=revision)
                return new
            except KeyWrongLastSequenceError:
                continue
        raise RuntimeError(f"could not update {key}")

    async def set(self, request_id: str, status: Status, **fields: Any) -> dict[str, Any] | None:
        def change(rec: dict[str, Any]) -> dict[str, Any]:
            clear = {"reason": None, "message": None, "http_status": None} if status in ("running", "done") else {}
            return {**rec, **clear, "status": status, **fields}

        return await self.update(request_id, change)


class Reporter:
    """What a service uses: best-effort state changes of the requests its commands carry."""

    def __init__(self, book: RequestBook | None, replica: str = "") -> None:
        self.book, self.replica = book, replica

    async def set(self, request_id: str | None, status: Status, **fields: Any) -> None:
        if request_id is None or self.book is None:
            return
        try:
            await self.book.set(request_id, status, replica=self.replica or None, **fields)
        except Exception as exc:  # never fail the work because its report failed
            log.warning("request %s: could not record %s (%s)", request_id, status, exc)

    async def start(self, request_id: str | None) -> None:
        """queued -> running (a finished request stays finished: a late or repeated part)."""
        if request_id is None or self.book is None:
            return

        def change(rec: dict[str, Any]) -> dict[str, Any] | None:
            if rec.get("status") not in (None, "queued"):
                return None
            return {**rec, "status": "running", "reason": None, "message": None, "replica": self.replica or None}

        try:
            await self.book.update(request_id, change)
        except Exception as exc:
            log.warning("request %s: could not record running (%s)", request_id, exc)

    async def part(self, request_id: str | None, part: str, counts: dict[str, int],
                   result: Callable[[dict[str, int]], dict[str, Any]], *, failed_when: str = "failed") -> None:
        """One part of a multi-part request (a chunk of a categorization) ended: add its counts
        once (by ``part``), and finish the request when every part has. Ends ``failed`` when
        no item succeeded and some ``failed_when`` did."""
        if request_id is None or self.book is None:
            return

        def change(rec: dict[str, Any]) -> dict[str, Any] | None:
            done = list(rec.get("parts_done") or [])
            if part in done:
                return None
            done.append(part)
            total = dict(rec.get("counts") or {})
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
            rec.update(parts_done=done, counts=total, replica=self.replica or None)
            if len(done) >= int(rec.get("parts") or 1):
                ok = sum(v for k, v in total.items() if k != failed_when)
                failed = not ok and total.get(failed_when, 0) > 0
                rec.update(status="failed" if failed else "done", result=result(total))
                if failed:
                    rec.update(reason="failed", message=f"{total[failed_when]} item(s) failed")
            else:
                rec["status"] = "running"
            return rec

        try:
            await self.book.update(request_id, change)
        except Exception as exc:
            log.warning("request %s: could not record part %s (%s)", request_id, part, exc)


class Buckets(Protocol):
    """Where the book lives (``b9_common.jetstream.topology.Topology`` is one)."""

    async def requests_kv(self, js: Any) -> KeyValue: ...


async def open_book(js: Any, topology: Buckets) -> RequestBook:
    return RequestBook(await topology.requests_kv(js))


# -- the attempt that answers a request (scrapers) --------------------------------------
@dataclass
class Scope:
    request_id: str | None
    kind: str
    target: str
    attempt: Any = None  # the ScrapeAttempted of the request's own target


_SCOPE: ContextVar[Scope | None] = ContextVar("b9_request_scope", default=None)


@contextlib.contextmanager
def scope(request_id: str | None, kind: str, target: str) -> Iterator[Scope]:
    """While a command for ``kind``/``target`` runs: ``note`` marks its attempt."""
    s = Scope(request_id, kind, target)
    token = _SCOPE.set(s)
    try:
        yield s
    finally:
        _SCOPE.reset(token)


def note(attempt: Any) -> None:
    """Called with every ``ScrapeAttempted`` before it is published: the attempt of the target
    a followed request asked for carries its ``request_id`` and is kept for the report."""
    s = _SCOPE.get()
    if s is None or s.request_id is None:
        return
    if attempt.target_kind == s.kind and str(attempt.target).lower() == s.target.lower():
        attempt.request_id = s.request_id
        s.attempt = attempt


def failure_fields(attempt: Any, fallback: str) -> dict[str, Any]:
    """reason / message / http_status of a request that failed, from its attempt."""
    if attempt is None:
        return {"reason": "failed", "message": fallback, "http_status": None}
    return {"reason": attempt.reason or attempt.outcome, "message": attempt.message or attempt.error or fallback,
            "http_status": attempt.http_status}
