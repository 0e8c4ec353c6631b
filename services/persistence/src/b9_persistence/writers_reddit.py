"""Reddit facts: subreddit.fetched and subreddit.discovered (posts and users: ``writers_users``)"""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
import msgspec
from b9_common.events import Envelope, SubredditFetched

from b9_persistence.staging import (
    NEWER,
    clean,
    group_newer,
    merge_sql,
    newest,
    rows_of,
    stage,
    update_set,
    when,
)
from b9_persistence.writers_users import POST_COLS  # noqa: F401  (bench/bench_persistence.py's baseline)
from b9_persistence.writers_users import WRITERS as USER_WRITERS

Env: TypeAlias = Envelope[Any]
_json = msgspec.json.Encoder()


# -- subreddit.fetched ----------------------------------------------------------------------
SUB_COLS = (
    "name", "availability", "reddit_id", "title", "public_description", "description",
    "subscribers", "active_users", "created_utc", "over18", "subreddit_type", "lang", "url",
    "icon_img", "banner_img", "primary_color", "allow_images", "allow_videos", "allow_polls",
    "spoilers_enabled", "quarantine", "submit_text", "submission_type", "rules",
    "posts_sampled", "avg_upvotes_per_post", "engagement", "subreddit_score", "metrics_formula",
    "min_post_karma", "min_comment_karma", "min_account_age_days", "best_posting_hour",
    "best_posting_day", "authors_sampled", "verification_required", "suggested_review",
    "requested", "review", "review_source", "requirements_fact_at", "requirements_fact_id",
    "content_fact_at", "content_fact_id", "fact_at", "fact_id",
)
# A fact never erases a figure it does not carry. Posting requirements come only from the facts
# that compute them (full fetches): a newer metadata-only fetch leaves them. The about/metrics
# content comes only from facts that read it (availability 'ok'): a newer "private" / "banned" /
# "not found" fact leaves the last known. The newest fact carrying a group wins, in any order.
REQ_COLS = ("min_post_karma", "min_comment_karma", "min_account_age_days", "best_posting_hour",
            "best_posting_day", "authors_sampled", "requirements_fact_at", "requirements_fact_id")
CONTENT_COLS = (
    "reddit_id", "title", "public_description", "description", "subscribers", "active_users",
    "created_utc", "over18", "subreddit_type", "lang", "url", "icon_img", "banner_img",
    "primary_color", "allow_images", "allow_videos", "allow_polls", "spoilers_enabled",
    "submit_text", "submission_type", "rules", "posts_sampled", "avg_upvotes_per_post",
    "engagement", "subreddit_score", "metrics_formula", "verification_required",
    "suggested_review", "content_fact_at", "content_fact_id",
)
_KEEP_PERSON_REVIEW = "t.review_source = 'manual' OR EXCLUDED.review IS NULL"


REQ_NEWER = group_newer("requirements_fact_at", "requirements_fact_id")
CONTENT_NEWER = group_newer("content_fact_at", "content_fact_id")
# The staged requested_at is the batch's earliest requested fetch: the earliest one a person
# asked for wins, and a discovery at or after it is not the source (it is cleared).
REQUESTED_EARLIER = ("(EXCLUDED.requested_at IS NOT NULL AND (t.requested_at IS NULL"
                     " OR EXCLUDED.requested_at < t.requested_at))")
_CLEAR_DISCOVERY = f"{REQUESTED_EARLIER} AND t.discovered_at >= EXCLUDED.requested_at"


SUB_STAGED = (*SUB_COLS, "requested_at")
_TYPES = {
    "integer": ("subscribers", "active_users", "posts_sampled", "min_post_karma", "min_comment_karma",
                "min_account_age_days", "authors_sampled"),
    "smallint": ("best_posting_hour", "best_posting_day"),
    "double precision": ("avg_upvotes_per_post", "engagement", "subreddit_score"),
    "boolean": ("over18", "allow_images", "allow_videos", "allow_polls", "spoilers_enabled",
                "quarantine", "verification_required", "requested"),
    "timestamptz": ("created_utc", "requirements_fact_at", "content_fact_at", "fact_at",
                    "requested_at"),
    "jsonb": ("rules",),
}
SQL_TYPES = {c: t for t, cs in _TYPES.items() for c in cs}
SUB_TYPES = {c: SQL_TYPES.get(c, "text") for c in SUB_STAGED}  # = row type fetched_subreddit (0099)
_MAIN_COLS = tuple(c for c in SUB_COLS if c not in ("name", "review", "review_source", "requested",
                                                    *REQ_COLS, *CONTENT_COLS))
# One statement per batch: every column group is merged in the ON CONFLICT, so each row is looked
# up once through the primary key (the arbiter) and written at most once (one new version, one
# round of index maintenance), whatever groups a fact carries. Separate UPDATE ... FROM staging
# joins cost a pass over the table each, or, once the planner prefers the trigram index for
# ``name =`` (it underestimates GIN probes), a trigram probe per staged row.
SUB_SQL = merge_sql(
    "subreddits", SUB_STAGED, ("name",),
    update=update_set(SUB_STAGED, ("name",), special={
        **when(NEWER, _MAIN_COLS),
        "review": f"CASE WHEN NOT {NEWER} OR {_KEEP_PERSON_REVIEW} THEN t.review ELSE EXCLUDED.review END",
        "review_source": f"CASE WHEN NOT {NEWER} OR {_KEEP_PERSON_REVIEW} THEN t.review_source "
                         "ELSE EXCLUDED.review_source END",
        "requested": f"CASE WHEN {REQUESTED_EARLIER} THEN true WHEN {NEWER} "
                     "THEN t.requested OR EXCLUDED.requested ELSE t.requested END",
        **when(REQ_NEWER, REQ_COLS),
        **when(CONTENT_NEWER, CONTENT_COLS),
        "requested_at": f"CASE WHEN {REQUESTED_EARLIER} THEN EXCLUDED.requested_at ELSE t.requested_at END",
        **{c: f"CASE WHEN {_CLEAR_DISCOVERY} THEN NULL ELSE t.{c} END"
           for c in ("discovered_at", "discovered_via_user", "discovered_via_subreddit")},
    }),
    where=f"{NEWER} OR {REQ_NEWER} OR {CONTENT_NEWER} OR {REQUESTED_EARLIER}",
    from_=rows_of("fetched_subreddit"),
)
SNAP_COLS = ("subreddit", "fact_at", "fact_id", "subscribers", "active_users", "posts_sampled",
             "avg_upvotes_per_post", "engagement", "subreddit_score")
SNAP_TYPES = {c: SQL_TYPES.get(c, "text") for c in SNAP_COLS}  # = row type fetched_subreddit_snapshot
SNAP_SQL = merge_sql("subreddit_snapshots", SNAP_COLS, ("subreddit", "fact_at"),
                     update=update_set(SNAP_COLS, ("subreddit", "fact_at")),
                     where="t.fact_id < EXCLUDED.fact_id",
                     from_=rows_of("fetched_subreddit_snapshot"))


def _sub_row(env: Env) -> tuple[Any, ...]:
    d: SubredditFetched = env.data
    m, r = d.metrics, d.requirements
    rules = _json.encode(d.rules).decode().replace("\\u0000", "")
    return (
        d.name, d.availability, d.reddit_id, clean(d.title), clean(d.public_description),
        clean(d.description), d.subscribers, d.active_users, d.created_utc, d.over18,
        d.subreddit_type, d.lang, d.url, d.icon_img, d.banner_img, d.primary_color,
        d.allow_images, d.allow_videos, d.allow_polls, d.spoilers_enabled, d.quarantine,
        clean(d.submit_text), d.submission_type, rules,
        m.posts_sampled, m.avg_upvotes_per_post, m.engagement, m.subreddit_score, m.formula,
        r and r.min_post_karma, r and r.min_comment_karma, r and r.min_account_age_days,
        r and r.best_posting_hour, r and r.best_posting_day, r.authors_sampled if r else None,
        d.verification_required, d.suggested_review, d.requested,
        d.suggested_review, "suggested" if d.suggested_review else None,
        env.occurred_at if r else None, env.id if r else None,
        *((env.occurred_at, env.id) if d.availability == "ok" else (None, None)),
        env.occurred_at, env.id,
    )


_REQ_AT = tuple(SUB_COLS.index(c) for c in REQ_COLS)
_CONTENT_AT = tuple(SUB_COLS.index(c) for c in CONTENT_COLS)
_REQUESTED = SUB_COLS.index("requested")


def _with(row: tuple[Any, ...], env: Env, other: Env | None, at: tuple[int, ...]) -> tuple[Any, ...]:
    """The newest fact's row with the columns ``at`` of the newest fact carrying them."""
    if other is None or other is env:
        return row
    theirs = _sub_row(other)
    out = list(row)
    for i in at:
        out[i] = theirs[i]
    return tuple(out)


def _newer(cur: Env | None, env: Env) -> bool:
    return cur is None or (cur.occurred_at, cur.id) < (env.occurred_at, env.id)


def _staged_subreddits(envs: list[Env]) -> list[tuple[Any, ...]]:
    """One row per name, sorted by name: the newest fact's row, the requirements of the newest
    fact carrying them, the content of the newest fact that read it, and ``requested_at`` = the
    earliest requested fetch (a batch holding one is requested)."""
    latest: dict[str, Env] = {}
    reqs: dict[str, Env] = {}
    content: dict[str, Env] = {}
    requested: dict[str, Any] = {}
    for e in envs:
        d = e.data
        name = d.name
        if _newer(latest.get(name), e):
            latest[name] = e
        if d.requirements is not None and _newer(reqs.get(name), e):
            reqs[name] = e
        if d.availability == "ok" and _newer(content.get(name), e):
            content[name] = e
        if d.requested and (name not in requested or e.occurred_at < requested[name]):
            requested[name] = e.occurred_at
    rows = []
    for name in sorted(latest):
        e = latest[name]
        row = _with(_with(_sub_row(e), e, reqs.get(name), _REQ_AT), e, content.get(name), _CONTENT_AT)
        at = requested.get(name)
        rows.append((*row, None) if at is None
                    else (*row[:_REQUESTED], True, *row[_REQUESTED + 1:], at))
    return rows


async def write_subreddits(conn: asyncpg.Connection, envs: list[Env]) -> int:
    # No staging table (see staging.rows_of): a subreddit batch is two statements.
    rows = _staged_subreddits(envs)
    await conn.execute(SUB_SQL, rows)
    snaps = newest(
        (e for e in envs if e.data.subscribers is not None),
        lambda e: (e.data.name, e.occurred_at), lambda e: (e.occurred_at, e.id),
    )
    if snaps:
        await conn.execute(SNAP_SQL, [
            (e.data.name, e.occurred_at, e.id, e.data.subscribers, e.data.active_users,
             e.data.metrics.posts_sampled, e.data.metrics.avg_upvotes_per_post,
             e.data.metrics.engagement, e.data.metrics.subreddit_score) for e in snaps
        ])
    return len(rows) + len(snaps)


# -- subreddit.discovered ------------------------------------------------------------------------
DISC_COLS = ("name", "discovered_at", "discovered_via_user", "discovered_via_subreddit",
             "review", "review_source")
_EARLIER = ("(t.discovered_at IS NULL OR (t.discovered_at, coalesce(t.discovered_via_user, ''), "
            "coalesce(t.discovered_via_subreddit, '')) > (EXCLUDED.discovered_at, "
            "coalesce(EXCLUDED.discovered_via_user, ''), "
            "coalesce(EXCLUDED.discovered_via_subreddit, '')))")
DISC_SQL = merge_sql(
    "subreddits", DISC_COLS, ("name",),
    update=update_set(DISC_COLS, ("name",), {
        "review": "COALESCE(t.review, EXCLUDED.review)",
        "review_source": "CASE WHEN t.review IS NULL THEN EXCLUDED.review_source "
                         "ELSE t.review_source END",
    }),
    where=f"{_EARLIER} AND (t.requested_at IS NULL OR EXCLUDED.discovered_at < t.requested_at)",
)


async def write_discovered(conn: asyncpg.Connection, envs: list[Env]) -> int:
    def first(e: Env) -> tuple[float, str]:  # earliest discovery wins: invert the order
        return (-e.occurred_at.timestamp(), e.data.via_user or "")

    rows = []
    for env in newest(envs, lambda e: e.data.name, first):
        d = env.data
        feed = d.user_feed
        rows.append((d.name, env.occurred_at, d.via_user, d.via_subreddit,
                     "User Feed" if feed else None, "discovered" if feed else None))
    await stage(conn, "subreddits", DISC_COLS, rows)
    await conn.execute(DISC_SQL)
    return len(rows)


WRITERS = {
    "subreddit.fetched": write_subreddits,
    "subreddit.discovered": write_discovered,
    **USER_WRITERS,
}
