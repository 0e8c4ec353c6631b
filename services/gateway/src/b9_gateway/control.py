"""Scraper control through the ``control`` KV bucket, and replica heartbeats.

Keys ``scraper.reddit`` / ``scraper.instagram`` hold the catalogue's values
(b9_common.events.control: ``RedditControl``, ``InstagramControl``): read here with their
defaults filled in, written after the result is checked against the same Struct (a value it
refuses is ``InvalidControl``, a 422 naming the field). Scrapers watch the key and react at
once; a write here is the whole "start"/"stop".
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from b9_common.events.control import CONTROLS, control_key
from b9_common.jetstream.kv import kv_keys
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

Scraper = Literal["reddit", "instagram"]
SCRAPERS: tuple[Scraper, ...] = ("reddit", "instagram")


class InvalidControl(ValueError):
    """The value a write would store breaks the catalogue's Struct (the message names the field)."""


def defaults(scraper: str) -> dict[str, Any]:
    """The scraper's own defaults (what it runs with while the key is missing)."""
    values: dict[str, Any] = msgspec.to_builtins(CONTROLS[scraper]())
    return {k: v for k, v in values.items() if v is not None}


async def read_control(kv: KeyValue, scraper: str) -> tuple[dict[str, Any], int | None]:
    """The scraper's control JSON (defaults filled in) and its KV revision (None if never set)."""
    value = defaults(scraper)
    try:
        entry = await kv.get(control_key(scraper))
    except KeyNotFoundError:
        return value, None
    if entry.value:
        try:
            stored = msgspec.json.decode(entry.value)
            if isinstance(stored, dict):
                value.update(stored)
        except msgspec.DecodeError:
            log.warning("control value for %s is not JSON; using defaults", scraper)
    return value, entry.revision


async def write_control(kv: KeyValue, scraper: str, patch: dict[str, Any], by: str = "api") -> dict[str, Any]:
    """Merge ``patch`` into the scraper's control value (compare-and-set, retried on races);
    InvalidControl when the result is not a valid value."""
    for _ in range(10):
        value, revision = await read_control(kv, scraper)
        value.update({k: v for k, v in patch.items() if v is not None})
        value["updated_at"] = datetime.now(UTC).isoformat()
        value["updated_by"] = by
        try:
            msgspec.convert(value, CONTROLS[scraper])
        except msgspec.ValidationError as exc:
            raise InvalidControl(f"{control_key(scraper)}: {exc}") from None
        raw = msgspec.json.encode(value)
        try:
            if revision is None:
                await kv.create(control_key(scraper), raw)
            else:
                await kv.update(control_key(scraper), raw, last=revision)
            return value
        except KeyWrongLastSequenceError:  # written meanwhile (create() on an existing key too)
            continue
    raise RuntimeError(f"control key for {scraper} changed too often to update")


async def heartbeats(kv: KeyValue) -> list[dict[str, Any]]:
    """Every live replica's heartbeat (entries expire with the bucket's TTL)."""
    out: list[dict[str, Any]] = []
    keys = await kv_keys(kv)
    now = datetime.now(UTC)
    for key in keys:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            continue
        if not entry.value:
            continue
        try:
            beat = msgspec.json.decode(entry.value)
        except msgspec.DecodeError:
            continue
        if not isinstance(beat, dict):
            continue
        at = beat.get("at")
        try:
            age = (now - datetime.fromisoformat(at)).total_seconds() if at else None
        except (TypeError, ValueError):
            age = None
        beat["key"] = key
        beat["age_seconds"] = round(age, 3) if age is not None else None
        out.append(beat)
    return out


def service_of(scraper: str) -> str:
    return f"{scraper}-scraper"


def is_scraper_beat(beat: dict[str, Any], scraper: str) -> bool:
    return str(beat.get("service", "")).replace("_", "-") == service_of(scraper)
