"""The first discovery of each Instagram creator (table ``instagram_discoveries``).

Every fact that discovers a creator (creator.discovered; a creator.scraped carrying a
``discovery_source``, i.e. added by hand or seeded) is offered to the table; the earliest by
``(discovered_at, fact_id)`` stays. The creator row's discovery columns are then recomputed from
the table for the names a batch touched, so they are a function of the set of facts, never of
the order they arrived in.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
from b9_common.events import CreatorDiscovered, CreatorScraped, Envelope

from b9_persistence.staging import clean, merge_sql, stage, update_set

Env: TypeAlias = Envelope[Any]
Row: TypeAlias = tuple[Any, ...]

COLS = ("username_key", "username", "source", "discovered_at", "discovered_via",
        "followers_count", "full_name", "profile_pic_url", "fact_id")
MERGE_SQL = merge_sql(
    "instagram_discoveries", COLS, ("username_key",),
    update=update_set(COLS, ("username_key",)),
    where="(EXCLUDED.discovered_at, EXCLUDED.fact_id) < (t.discovered_at, t.fact_id)",
)
# Never-scraped creators (fact_at IS NULL) show the spelling, name and picture their first
# discovery saw.
RECOMPUTE_SQL = """
UPDATE instagram_creators c SET
    discovered_at = d.discovered_at, discovered_via = d.discovered_via,
    discovered_followers_count = d.followers_count, discovery_source = d.source,
    username = CASE WHEN c.fact_at IS NULL AND d.username_key IS NOT NULL
                    THEN d.username ELSE c.username END,
    full_name = CASE WHEN c.fact_at IS NULL AND d.username_key IS NOT NULL
                     THEN d.full_name ELSE c.full_name END,
    profile_pic_url = CASE WHEN c.fact_at IS NULL AND d.username_key IS NOT NULL
                           THEN d.profile_pic_url ELSE c.profile_pic_url END
FROM unnest($1::text[]) AS k(key) LEFT JOIN instagram_discoveries d ON d.username_key = k.key
WHERE lower(c.username) = k.key AND (
    (c.discovered_at, c.discovered_via, c.discovered_followers_count, c.discovery_source)
        IS DISTINCT FROM (d.discovered_at, d.discovered_via, d.followers_count, d.source)
    OR c.fact_at IS NULL AND d.username_key IS NOT NULL
       AND (c.username, c.full_name, c.profile_pic_url)
           IS DISTINCT FROM (d.username, d.full_name, d.profile_pic_url))"""


def discovery(env: Env) -> Row:
    """The discovery a creator.discovered fact reports."""
    d: CreatorDiscovered = env.data
    return (d.username.lower(), d.username, "related", env.occurred_at, d.via_username,
            d.followers_count, clean(d.full_name), d.profile_pic_url, env.id)


def scrape_discovery(env: Env) -> Row | None:
    """A scrape that says how the creator was found (by hand, seed) is a discovery too."""
    d: CreatorScraped = env.data
    if not d.discovery_source or not d.username:
        return None
    return (d.username.lower(), d.username, d.discovery_source, env.occurred_at, None,
            d.followers_count, clean(d.full_name), d.profile_pic_url, env.id)


async def record_discoveries(conn: asyncpg.Connection, rows: list[Row]) -> list[str]:
    """Offer ``rows`` to the table (earliest wins); returns the names they touch."""
    if not rows:
        return []
    best: dict[str, Row] = {}
    for r in rows:
        cur = best.get(r[0])
        if cur is None or (r[3], r[8]) < (cur[3], cur[8]):
            best[r[0]] = r
    first = [best[k] for k in sorted(best)]
    await stage(conn, "instagram_discoveries", COLS, first)
    await conn.execute(MERGE_SQL)
    return [r[0] for r in first]


async def recompute_discovery(conn: asyncpg.Connection, keys: list[str]) -> None:
    """Copy the first discovery of each name in ``keys`` onto its creator rows."""
    if keys:
        await conn.execute(RECOMPUTE_SQL, sorted(set(keys)))

