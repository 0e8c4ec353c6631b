"""Writers for DERIVED results (categorizations, media) and scrape.attempted counters."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, TypeAlias

import asyncpg
import msgspec
from b9_common.events import Envelope

from b9_persistence.staging import NEWER, clean_list, clean_opt, merge_sql, newest, stage, update_set
from b9_persistence.writers_instagram import link_profile_pictures

Env: TypeAlias = Envelope[Any]
_json = msgspec.json.Encoder()


def _order(env: Env) -> tuple[Any, str]:
    return (env.occurred_at, env.id)


def _money(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.000001"))


# -- categorizations ----------------------------------------------------------------------------
HIST_COLS = ("fact_id", "subject_kind", "subject", "username", "tags", "primary_category",
             "confidence", "confidences", "taxonomy_version", "model", "method", "prompt_version",
             "content_hash", "tokens_in", "tokens_out", "cost_usd", "fact_at")
HIST_SQL = merge_sql("categorizations", HIST_COLS, ("fact_id",), update=None)
_AUTO_NEWER = ("t.tags_source IS DISTINCT FROM 'manual' AND (t.tags_updated_at IS NULL OR "
               "(t.tags_updated_at, coalesce(t.tags_fact_id, '')) < "
               "(EXCLUDED.tags_updated_at, EXCLUDED.tags_fact_id))")
TAG_COLS = ("tags", "primary_category", "tags_confidence", "tags_source", "taxonomy_version",
            "tags_model", "tags_updated_at", "tags_updated_by", "tags_fact_id")
SUB_TAG_COLS = ("name", *TAG_COLS)
SUB_TAG_SQL = merge_sql("subreddits", SUB_TAG_COLS, ("name",),
                        update=update_set(SUB_TAG_COLS, ("name",)), where=_AUTO_NEWER)
CR_TAG_COLS = ("ig_user_id", "username", *TAG_COLS)
CR_TAG_SQL = merge_sql(
    "instagram_creators", CR_TAG_COLS, ("ig_user_id",),
    update=update_set(CR_TAG_COLS, ("ig_user_id",),
                      {"username": "COALESCE(t.username, EXCLUDED.username)"}),
    where=_AUTO_NEWER,
)


def _hist_row(env: Env, kind: str, subject: str, username: str | None, primary: str | None,
              confidence: float | None, confidences: str | None) -> tuple[Any, ...]:
    d = env.data
    return (env.id, kind, subject, username, clean_list(d.tags), primary, confidence, confidences,
            d.taxonomy_version, d.model, d.method, d.prompt_version, d.content_hash, d.tokens_in,
            d.tokens_out, _money(d.cost_usd), env.occurred_at)


async def write_subreddit_tags(conn: asyncpg.Connection, envs: list[Env]) -> int:
    hist = sorted((_hist_row(e, "subreddit", e.data.name, None, e.data.primary_category,
                             e.data.confidence, None) for e in envs), key=lambda r: r[0])
    await stage(conn, "categorizations", HIST_COLS, hist)
    await conn.execute(HIST_SQL)
    rows = []
    for e in newest(envs, lambda e: e.data.name, _order):
        d = e.data
        rows.append((d.name, clean_list(d.tags), d.primary_category, d.confidence, "auto",
                     d.taxonomy_version, d.model, e.occurred_at, d.model, e.id))
    await stage(conn, "subreddits", SUB_TAG_COLS, rows)
    await conn.execute(SUB_TAG_SQL)
    return len(hist) + len(rows)


def _top_tag(tags: list[str], confidence: dict[str, float]) -> tuple[str | None, float | None]:
    if not tags:
        return None, None
    best = max(tags, key=lambda t: (confidence.get(t, 0.0), [-ord(c) for c in t]))
    return best, confidence.get(best)


async def write_creator_tags(conn: asyncpg.Connection, envs: list[Env]) -> int:
    hist = []
    for e in envs:
        d = e.data
        primary, conf = _top_tag(d.tags, d.confidence)
        hist.append(_hist_row(e, "creator", d.ig_user_id, d.username or None, primary, conf,
                              _json.encode(d.confidence).decode()))
    hist.sort(key=lambda r: r[0])
    await stage(conn, "categorizations", HIST_COLS, hist)
    await conn.execute(HIST_SQL)
    rows = []
    for e in newest(envs, lambda e: e.data.ig_user_id, _order):
        d = e.data
        primary, _ = _top_tag(d.tags, d.confidence)
        rows.append((d.ig_user_id, d.username or None, clean_list(d.tags), primary,
                     _json.encode(d.confidence).decode(), "auto", d.taxonomy_version, d.model,
                     e.occurred_at, d.model, e.id))
    await stage(conn, "instagram_creators", CR_TAG_COLS, rows)
    await conn.execute(CR_TAG_SQL)
    return len(hist) + len(rows)


# -- media ----------------------------------------------------------------------------------------
ASSET_COLS = ("source_id", "kind", "url_md5", "source_url", "owner", "status", "content_hash",
              "storage_key", "content_type", "bytes_in", "bytes_out", "width", "height",
              "duration", "poster_key", "deduplicated", "failure_reason", "failure_detail",
              "fact_at", "fact_id")
ASSET_KEY = ("source_id", "kind", "url_md5")
ASSET_SQL = merge_sql("media_assets", ASSET_COLS, ASSET_KEY,
                      update=update_set(ASSET_COLS, ASSET_KEY), where=NEWER)


def _md5(url: str) -> str:
    return hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()


def _asset_row(env: Env) -> tuple[Any, ...]:
    d = env.data
    head = (d.source_id, d.kind, _md5(d.source_url), d.source_url, d.owner)
    if env.type == "media.stored":
        return (*head, "stored", d.content_hash, d.storage_key, d.content_type, d.bytes_in,
                d.bytes_out, d.width, d.height, d.duration, d.poster_key, d.deduplicated, None,
                None, env.occurred_at, env.id)
    return (*head, "failed", None, None, None, None, None, None, None, None, None, None,
            d.reason, d.detail, env.occurred_at, env.id)


async def write_media(conn: asyncpg.Connection, envs: list[Env]) -> int:
    rows = [_asset_row(e) for e in newest(
        envs, lambda e: (e.data.source_id, e.data.kind, _md5(e.data.source_url)), _order)]
    await stage(conn, "media_assets", ASSET_COLS, rows)
    await conn.execute(ASSET_SQL)
    return len(rows)


async def _after_media(conn: asyncpg.Connection, envs: list[Env]) -> None:
    await link_profile_pictures(conn, [e.data.owner or e.data.source_id for e in envs
                                       if e.type == "media.stored" and e.data.kind == "profile_picture"])


# -- scrape.attempted ---------------------------------------------------------------------
ATTEMPT_COLS = ("fact_id", "scraper", "target_kind", "target", "outcome", "calls", "cost_usd",
                "duration_ms", "error", "cycle", "replica", "fact_at", "reason", "message",
                "http_status")
# Counters grow only by the attempts this statement inserted: a duplicate adds nothing.
ATTEMPT_SQL = f"""
WITH ins AS (
    {merge_sql("scrape_attempts", ATTEMPT_COLS, ("fact_id",), update=None,
               returning="scraper, (fact_at AT TIME ZONE 'UTC')::date AS day, outcome, calls, "
                         "cost_usd, duration_ms")}
)
INSERT INTO scraper_daily AS d (scraper, day, outcome, attempts, calls, cost_usd, duration_ms)
SELECT scraper, day, outcome, count(*), sum(calls), sum(cost_usd), sum(duration_ms)
FROM ins GROUP BY scraper, day, outcome ORDER BY scraper, day, outcome
ON CONFLICT (scraper, day, outcome) DO UPDATE SET
    attempts = d.attempts + EXCLUDED.attempts, calls = d.calls + EXCLUDED.calls,
    cost_usd = d.cost_usd + EXCLUDED.cost_usd, duration_ms = d.duration_ms + EXCLUDED.duration_ms"""


async def write_attempts(conn: asyncpg.Connection, envs: list[Env]) -> int:
    rows = []
    for e in sorted({e.id: e for e in envs}.values(), key=lambda e: e.id):
        d = e.data
        rows.append((e.id, d.scraper, d.target_kind, d.target, d.outcome, d.calls,
                     _money(d.cost_usd), d.duration_ms, d.error, d.cycle, d.replica,
                     e.occurred_at, d.reason, clean_opt(d.message), d.http_status))
    await stage(conn, "scrape_attempts", ATTEMPT_COLS, rows)
    await conn.execute(ATTEMPT_SQL)
    return len(rows)


WRITERS = {
    "subreddit.categorized": write_subreddit_tags,
    "creator.categorized": write_creator_tags,
    "media.stored": write_media,
    "media.failed": write_media,
    "scrape.attempted": write_attempts,
}
AFTER_COMMIT = {"media.stored": _after_media}
