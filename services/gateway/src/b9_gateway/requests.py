"""Requests people can follow (``b9_common.ops.requests``), the gateway's side.

``Desk.accept`` opens a request for a command (or finds the same kind and target already
queued or running: then nothing is published and its id is the answer), puts the id on the
command and publishes it. ``GET /api/v1/requests/{id}`` reads the record (``view``); the feed
sends ``request.changed`` for every write of a record (``request_event``).

Kinds and targets (the dedup key): ``subreddit`` / ``user`` (the name, case-insensitive),
``creator`` (the username), ``related`` (one run at a time, whatever its batch size),
``categorize`` (``<kind>:`` + a digest of the item keys and ``force``), ``replay`` (its id;
state read from the replay itself).

Refusals: an Instagram command while every live Instagram replica says ``not_configured``
is answered 409 at once (``NotRunnable``), nothing is queued.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgspec
from b9_common.events import InstagramScrapeRequested, RedditScrapeRequested, new_id, spec_of
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology
from b9_common.ops.requests import RECORD_PREFIX, RequestBook
from nats.js.kv import KeyValue

from b9_gateway.control import heartbeats, is_scraper_beat
from b9_gateway.feed import KV_DELETES

API = "/api/v1"
NOT_CONFIGURED = "not_configured"


class NotRunnable(Exception):
    """The command cannot run now (e.g. the Instagram scraper has no API key): 409."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


class RequestView(msgspec.Struct, omit_defaults=False):
    """``GET /api/v1/requests/{id}``."""

    id: str
    kind: str
    target: str
    status: str  # queued | running | done | failed
    reason: str | None = None
    message: str | None = None
    http_status: int | None = None
    result: dict[str, Any] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    requested_by: str | None = None
    replica: str | None = None
    estimated_start: str | None = None
    parts: int | None = None
    parts_done: int | None = None
    status_url: str = ""
    # queued only: commands of this subject waiting in COMMANDS, this one included (the queue's
    # length, an upper bound of the position); None when not queued or unknown
    commands_waiting: int | None = None


def status_url(request_id: str) -> str:
    return f"{API}/requests/{request_id}"


def kind_target(command: Any, target: str) -> tuple[str, str]:
    if isinstance(command, RedditScrapeRequested):
        return command.kind, command.name.lower()
    if isinstance(command, InstagramScrapeRequested):
        return command.kind, "all" if command.kind == "related" else (command.username or target).lower()
    return type(command).__name__.lower(), target.lower()


def categorize_target(kind: str, keys: list[str], force: bool) -> str:
    digest = hashlib.sha256(("\n".join(sorted(k.lower() for k in keys)) + f"\n{force}").encode()).hexdigest()
    return f"{kind}:{digest[:24]}"


def page_of(kind: str, target: str, result: dict[str, Any]) -> str | None:
    """The dashboard page that shows a done request's result (its hash routes)."""
    if kind == "subreddit":
        return f"#/reddit/subreddits/{result.get('name') or target}"
    if kind == "user":
        return f"#/reddit/users/{result.get('name') or target}"
    if kind == "creator":
        return f"#/instagram/creators/{result.get('ig_user_id') or target}"
    if kind == "related":
        return "#/instagram/review"
    if kind == "categorize":
        return "#/reddit/categorization"
    if kind == "replay":
        return "#/admin/replays"
    return None


def view(rec: dict[str, Any]) -> RequestView:
    done = rec.get("parts_done")
    kind, target, result = str(rec.get("kind") or "?"), str(rec.get("target") or ""), rec.get("result")
    if isinstance(result, dict) and rec.get("status") == "done":
        result = {**result, "page": page_of(kind, target, result)}
    return RequestView(
        id=rec["id"], kind=kind, target=target,
        status=str(rec.get("status") or "queued"), reason=rec.get("reason"), message=rec.get("message"),
        http_status=rec.get("http_status"), result=result, created_at=rec.get("created_at"),
        updated_at=rec.get("updated_at"), requested_by=rec.get("requested_by"), replica=rec.get("replica"),
        estimated_start=rec.get("estimated_start"), parts=rec.get("parts"),
        parts_done=len(done) if isinstance(done, list) else None, status_url=status_url(rec["id"]),
    )


def request_event(key: str, value: bytes | None, revision: int | None, op: str | None) -> dict[str, Any] | None:
    """``request.changed`` for the feed: a record written (not a dedup claim)."""
    if not key.startswith(RECORD_PREFIX):
        return None
    try:
        rec = msgspec.json.decode(value) if value else None
    except msgspec.DecodeError:
        rec = None
    if op in KV_DELETES or not isinstance(rec, dict) or "id" not in rec:
        return None
    return {"type": "request.changed", **msgspec.to_builtins(view(rec)), "revision": revision}


@dataclass
class Opened:
    record: dict[str, Any]
    created: bool

    @property
    def id(self) -> str:
        return str(self.record["id"])

    def fields(self) -> dict[str, Any]:
        """What a 202 adds to its body."""
        return {"request_id": self.id, "status_url": status_url(self.id), "status": self.record.get("status"),
                "deduplicated": not self.created}


class Desk:
    def __init__(self, kv: KeyValue, publisher: Publisher, topology: Topology, heartbeats_kv: KeyValue) -> None:
        self.book = RequestBook(kv)
        self.kv, self.publisher, self.topology, self.heartbeats = kv, publisher, topology, heartbeats_kv

    async def check_runnable(self, command: Any) -> None:
        if not isinstance(command, InstagramScrapeRequested):
            return
        mine = [b for b in await heartbeats(self.heartbeats) if is_scraper_beat(b, "instagram")]
        if mine and all(str(b.get("status")) == NOT_CONFIGURED for b in mine):
            raise NotRunnable(NOT_CONFIGURED, "the Instagram scraper is not configured (INSTAGRAM_API_KEY is not "
                              "set): nothing was queued")

    async def open(self, kind: str, target: str, **extra: Any) -> Opened:
        record, created = await self.book.open({"id": new_id(), "kind": kind, "target": target, **extra})
        return Opened(record, created)

    async def accept(self, command: Any, target: str) -> dict[str, Any]:
        """Open (or find) the request, publish the command once; the 202 body."""
        await self.check_runnable(command)
        kind, key = kind_target(command, target)
        opened = await self.open(kind, key, requested_by=getattr(command, "requested_by", None),
                                 subject=self.topology.subject(spec_of(command).type))
        if opened.created:
            command.request_id = opened.id
            try:  # the command's event id is the request id: a re-publish is dropped as a duplicate
                await self.publisher.publish(command, id_=opened.id)
            except BaseException:
                await self.book.set(opened.id, "failed", reason="connection",
                                    message="the command could not be published")
                raise
        return {"accepted": True, "event_id": opened.id, "subject": opened.record.get("subject") or "",
                "target": target, **opened.fields()}

    async def get(self, request_id: str, js: Any = None) -> RequestView | None:
        rec = await self.book.get(request_id)
        if not rec:
            return None
        found = view(rec)
        subject = rec.get("subject")
        if found.status == "queued" and js is not None and subject:
            try:
                info = await js.stream_info(self.topology.stream("COMMANDS"), subjects_filter=subject)
                found.commands_waiting = sum((info.state.subjects or {}).values())
            except Exception:  # only a hint: the status answers without it
                found.commands_waiting = None
        return found
