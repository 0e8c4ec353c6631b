"""Scraper control through the ``control`` KV bucket, and replica heartbeats.

Keys ``scraper.reddit`` / ``scraper.instagram`` hold JSON:
``{"enabled", "interval_seconds", "batch_size", "requests_per_minute" | "requests_per_hour",
"updated_at", "updated_by"}``. Scrapers watch the key and react at once; a write here is
the whole "start"/"stop".
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from b9_common.jetstream.kv import kv_keys
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

Scraper = Literal["reddit", "instagram"]
SCRAPERS: tuple[Scraper, ...] = ("reddit", "instagram")

# The scrapers' own defaults when the key is missing (enabled unless someone stops them).
DEFAULTS: dict[str, dict[str, Any]] = {
    "reddit": {
        "enabled": True,
        "interval_seconds": 300,
        "batch_size": 5,
        "requests_per_minute": 100,
    },
    "instagram": {
        "enabled": True,
        "interval_seconds": 14_400,
        "batch_size": 10,
        "requests_per_hour": 3600,
    },
}


def control_key(scraper: str) -> str:
    return f"scraper.{scraper}"


async def read_control(kv: KeyValue, scraper: str) -> tuple[dict[str, Any], int | None]:
    """The scraper's control JSON (defaults filled in) and its KV revision (None if never set)."""
    value = dict(DEFAULTS[scraper])
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
    """Merge ``patch`` into the scraper's control value (compare-and-set, retried on races)."""
    for _ in range(10):
        value, revision = await read_control(kv, scraper)
        value.update({k: v for k, v in patch.items() if v is not None})
        value["updated_at"] = datetime.now(UTC).isoformat()
        value["updated_by"] = by
        raw = msgspec.json.encode(value)
        try:
            if revision is None:
                await kv.create(control_key(scraper), raw)
            else:
                await kv.update(control_key(scraper), raw, last=revision)
            return value
        except KeyWrongLastSequenceError:
            continue
        except Exception as exc:  # create() on a key written meanwhile
            if "wrong last sequence" in str(exc).lower():
                continue
            raise
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
