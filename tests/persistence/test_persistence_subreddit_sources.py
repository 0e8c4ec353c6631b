"""A metadata-only fetch never erases the posting requirements a full fetch computed, and a
subreddit added by a person is not recorded as discovered after it was added (#20.2).
Every case is written in every order (and in one batch): the rows must come out the same."""

from __future__ import annotations

import itertools
import random
from typing import Any

import asyncpg
import msgspec
import pfactories as f
from b9_common.events import Envelope, UserFetched
from b9_common.service import Runtime
from b9_persistence.staging import init_connection
from b9_persistence.writers_reddit import write_discovered, write_subreddits

REQ = ("min_post_karma, min_comment_karma, min_account_age_days, best_posting_hour, "
       "best_posting_day, authors_sampled")
COLS = (f"{REQ}, subscribers, requested, discovered_at, discovered_via_user, "
        "discovered_via_subreddit, fact_id")


async def _write(pool: asyncpg.Pool, envs: list[Envelope[Any]]) -> None:
    async with pool.acquire() as conn:
        await init_connection(conn)
        async with conn.transaction():
            subs = [e for e in envs if e.type == "subreddit.fetched"]
            disc = [e for e in envs if e.type == "subreddit.discovered"]
            if subs:
                await write_subreddits(conn, subs)
            if disc:
                await write_discovered(conn, disc)


async def _row(pool: asyncpg.Pool, name: str) -> dict[str, Any]:
    r = await pool.fetchrow(f"SELECT {COLS} FROM subreddits WHERE name = $1", name)
    assert r is not None
    return dict(r)


async def _every_order(pool: asyncpg.Pool, envs: list[Envelope[Any]], name: str,
                       rename: Any) -> list[dict[str, Any]]:
    """The rows left by writing ``envs`` one by one in every order, and all in one batch."""
    rows = []
    variants: list[list[Envelope[Any]] | None] = [list(o) for o in itertools.permutations(envs)]
    for k, order in enumerate([*variants, None]):
        n = f"{name}{k}"
        batch = [rename(e, n) for e in (envs if order is None else order)]
        if order is None:
            await _write(pool, batch)
        else:
            for e in batch:
                await _write(pool, [e])
        row = await _row(pool, n)
        rows.append(row)
    return rows


def _renamer(rt: Runtime) -> Any:
    def rename(env: Envelope[Any], name: str) -> Envelope[Any]:
        data = msgspec.structs.replace(env.data, name=name)
        return rt.publisher.envelope(data, id_=f"{env.id}-{name}", occurred_at=env.occurred_at)
    return rename


async def test_metadata_fetch_never_erases_requirements(rt: Runtime, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    full = p.envelope(f.subreddit("Sub", subscribers=100, requested=False), occurred_at=f.at(1))
    meta = p.envelope(f.subreddit("Sub", subscribers=200, requirements=None, requested=False),
                      occurred_at=f.at(2))
    rows = await _every_order(pool, [full, meta], "Sub", _renamer(rt))
    for row in rows:
        assert (row["min_post_karma"], row["best_posting_hour"], row["authors_sampled"]) == (10, 14, 25)
        assert row["subscribers"] == 200  # the newer fact's own figures still win
        row.pop("fact_id")
    assert all(r == rows[0] for r in rows)


async def test_newest_full_fetch_wins_the_requirements_in_any_order(
        rt: Runtime, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    old = p.envelope(f.subreddit("Req", requested=False), occurred_at=f.at(1))
    new_req = f.subreddit("Req").requirements
    assert new_req is not None
    new = p.envelope(f.subreddit("Req", requested=False, requirements=type(new_req)(
        min_post_karma=99, best_posting_hour=3, authors_sampled=7)), occurred_at=f.at(3))
    meta = p.envelope(f.subreddit("Req", requirements=None, requested=False), occurred_at=f.at(5))
    rows = await _every_order(pool, [old, new, meta], "Req", _renamer(rt))
    for row in rows:
        assert (row["min_post_karma"], row["best_posting_hour"], row["authors_sampled"]) == (99, 3, 7)
        row.pop("fact_id")
    assert all(r == rows[0] for r in rows)


async def test_a_person_added_subreddit_is_not_discovered_after_it_was_added(
        rt: Runtime, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    added = p.envelope(f.subreddit("Added", requested=True), occurred_at=f.at(2))
    late = p.envelope(f.discovered("Added"), occurred_at=f.at(3))  # discovered after the add
    rows = await _every_order(pool, [added, late], "Added", _renamer(rt))
    for row in rows:
        assert row["requested"] is True and row["discovered_at"] is None
        assert row["discovered_via_user"] is None and row["discovered_via_subreddit"] is None


async def test_a_discovery_before_the_person_added_it_stays(rt: Runtime, pool: asyncpg.Pool) -> None:
    p = rt.publisher
    early = p.envelope(f.discovered("Early"), occurred_at=f.at(1))
    added = p.envelope(f.subreddit("Early", requested=True), occurred_at=f.at(2))
    later = p.envelope(f.discovered("Early"), occurred_at=f.at(3))
    rows = await _every_order(pool, [early, added, later], "Early", _renamer(rt))
    for row in rows:
        assert row["requested"] is True and row["discovered_at"] == early.occurred_at
        assert (row["discovered_via_user"], row["discovered_via_subreddit"]) == ("alice", "FitGirls")


async def test_an_availability_fact_never_erases_the_content(rt: Runtime, pool: asyncpg.Pool) -> None:
    """A "private" fact carries no title, subscribers or metrics: the last known stay."""
    p = rt.publisher
    ok = p.envelope(f.subreddit("Gone", subscribers=321, requested=False), occurred_at=f.at(1))
    private = p.envelope(f.subreddit("Gone", availability="private", title="", subscribers=None,
                                     public_description="", requirements=None, requested=False,
                                     metrics=type(f.subreddit().metrics)()), occurred_at=f.at(2))
    rows = await _every_order(pool, [ok, private], "Gone", _renamer(rt))
    for k, row in enumerate(rows):
        full = await pool.fetchrow(
            "SELECT availability, title, subscribers, posts_sampled, min_post_karma "
            "FROM subreddits WHERE name = $1", f"Gone{k}")
        assert dict(full) == {"availability": "private", "title": "Fit girls", "subscribers": 321,
                              "posts_sampled": 30, "min_post_karma": 10}
        row.pop("fact_id")
    assert all(r == rows[0] for r in rows)


async def test_a_suspended_user_fact_never_erases_the_profile(rt: Runtime, pool: asyncpg.Pool) -> None:
    from b9_persistence.writers_users import write_users

    p = rt.publisher
    rows = []
    for k, order in enumerate(("ok-first", "suspended-first", "one-batch")):
        name = f"gone_user_{k}"
        ok = p.envelope(msgspec.structs.replace(f.user(name, total_karma=1500), requested=True),
                        occurred_at=f.at(1))
        gone = p.envelope(UserFetched(username=name, availability="suspended"), occurred_at=f.at(2))
        batches = {"ok-first": [[ok], [gone]], "suspended-first": [[gone], [ok]],
                   "one-batch": [[ok, gone]]}[order]
        for batch in batches:
            async with pool.acquire() as conn:
                await init_connection(conn)
                async with conn.transaction():
                    await write_users(conn, batch)
        rows.append(dict(await pool.fetchrow(
            "SELECT availability, total_karma, link_karma, requested, profile_fact_id = $2 AS from_ok "
            "FROM reddit_users WHERE username = $1", name, ok.id)))
    assert rows[0] == rows[1] == rows[2]
    assert rows[0] == {"availability": "suspended", "total_karma": 1500,
                       "link_karma": f.user().link_karma, "requested": True, "from_ok": True}


async def test_every_column_group_in_random_orders_and_batchings(
        rt: Runtime, pool: asyncpg.Pool) -> None:
    """One upsert merges every group (scraped columns, requirements, content, requested_at and
    the discovery it clears): facts carrying different groups, in any order and batching, leave
    the same row and the same snapshots, each group from its own newest fact."""
    p = rt.publisher
    private = f.subreddit("Mix", availability="private", title="", subscribers=None,
                          public_description="", requirements=None, requested=False,
                          metrics=type(f.subreddit().metrics)())
    facts = [
        p.envelope(f.discovered("Mix"), occurred_at=f.at(1)),
        p.envelope(f.subreddit("Mix", subscribers=100, requested=True), occurred_at=f.at(2)),
        p.envelope(f.discovered("Mix"), occurred_at=f.at(2.5)),  # after the add: not the source
        p.envelope(f.subreddit("Mix", subscribers=200, requirements=None, requested=False,
                               title="Renamed"), occurred_at=f.at(3)),
        p.envelope(private, occurred_at=f.at(4)),
        p.envelope(f.subreddit("Mix", subscribers=150, requested=True), occurred_at=f.at(3.5)),
    ]
    rename = _renamer(rt)
    rng = random.Random(22)
    rows = []
    for k in range(12):
        name = f"Mix{k}"
        order = [rename(e, name) for e in rng.sample(facts, len(facts))]
        cuts = sorted(rng.sample(range(1, len(order)), rng.randint(0, len(order) - 1)))
        for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True):
            for type_ in ("subreddit.discovered", "subreddit.fetched"):  # as the handler: a
                await _write(pool, [e for e in order[a:b] if e.type == type_])  # tx per type
        row = dict(await pool.fetchrow(
            "SELECT availability, title, subscribers, min_post_karma, requested, requested_at, "
            "discovered_at, split_part(fact_id, '-Mix', 1) AS fact, "
            "split_part(content_fact_id, '-Mix', 1) AS content, "
            "split_part(requirements_fact_id, '-Mix', 1) AS req, "
            "(SELECT array_agg(subscribers ORDER BY fact_at) FROM subreddit_snapshots "
            " WHERE subreddit = $1) AS snapshots FROM subreddits WHERE name = $1", name))
        rows.append(row)
    assert rows[0] == {
        "availability": "private", "title": "Fit girls", "subscribers": 150, "min_post_karma": 10,
        "requested": True, "requested_at": f.at(2), "discovered_at": f.at(1),
        "fact": facts[4].id, "content": facts[5].id, "req": facts[5].id,
        "snapshots": [100, 200, 150],
    }
    assert all(r == rows[0] for r in rows)


async def test_a_subreddit_whose_text_is_all_distinct_words_is_stored(rt: Runtime, pool: asyncpg.Pool) -> None:
    """Its search tsvector (~3.7 kB: 100 + 500 characters of distinct one-character words) is
    over a btree tuple's 2,704 bytes: no index may carry it, or this subreddit could never be
    stored (each write refused, the fact dead-lettered)."""
    cjk = [chr(0x4E00 + i) for i in range(320)]
    title, desc = " ".join(cjk[:50]), " ".join(cjk[50:300])
    env = rt.publisher.envelope(f.subreddit("Wide", title=title, public_description=desc), occurred_at=f.at(1))
    await _write(pool, [env])
    size = await pool.fetchval("SELECT pg_column_size(search) FROM subreddits WHERE name = 'Wide'")
    assert size is not None and size > 2704
    found = await pool.fetchval(
        "SELECT count(*) FROM subreddits WHERE search @@ websearch_to_tsquery('simple', $1)", cjk[299])
    assert found == 1
