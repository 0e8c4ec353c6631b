"""Every event type in the catalogue that persistence stores lands with all its fields."""

from __future__ import annotations

import json
from decimal import Decimal

import asyncpg
import pfactories as f
from b9_common.events.catalogue import stream_subjects
from b9_common.service import Runtime
from b9_persistence.handler import WRITERS
from phelpers import drained


def test_every_fact_and_derived_type_has_a_writer() -> None:
    assert set(WRITERS) == set(stream_subjects("SCRAPE")) | set(stream_subjects("DERIVED"))


async def test_every_event_type_lands_with_all_fields(rt: Runtime, service: object,
                                                      pool: asyncpg.Pool) -> None:
    p = rt.publisher
    await p.publish(f.subreddit(), occurred_at=f.at(0))
    await p.publish(f.posts(["p1", "p2"]), occurred_at=f.at(0))
    await p.publish(f.user(), occurred_at=f.at(0))
    await p.publish(f.discovered("u_bob", user_feed=True), occurred_at=f.at(1))
    await p.publish(f.discovered("NewSub"), occurred_at=f.at(1))
    await p.publish(f.creator(), occurred_at=f.at(0))
    await p.publish(f.creator_discovered("new.one", "2002"), occurred_at=f.at(2))
    await p.publish(f.creator_discovered("no.id.yet"), occurred_at=f.at(2))
    await p.publish(f.related(), occurred_at=f.at(3))
    await p.publish(f.attempt("FitGirls"), occurred_at=f.at(0))
    await p.publish(f.attempt("Other", "rate_limited", 1, 0.0005), occurred_at=f.at(1))
    await p.publish(f.sub_tags(), occurred_at=f.at(4))
    await p.publish(f.creator_tags(), occurred_at=f.at(4))
    await p.publish(f.stored("1001", "profile_picture"), occurred_at=f.at(5))
    await p.publish(f.stored(), occurred_at=f.at(5))
    await p.publish(f.failed(), occurred_at=f.at(5))
    await drained(rt)

    async with pool.acquire() as c:
        s = await c.fetchrow("SELECT * FROM subreddits WHERE name = 'FitGirls'")
        want = f.subreddit()
        for col in ("availability", "reddit_id", "title", "public_description", "description",
                    "subscribers", "active_users", "created_utc", "over18", "subreddit_type",
                    "lang", "url", "icon_img", "banner_img", "primary_color", "allow_images",
                    "allow_videos", "allow_polls", "spoilers_enabled", "quarantine",
                    "submit_text", "submission_type", "verification_required", "requested"):
            assert s[col] == getattr(want, col), col
        assert json.loads(s["rules"])[0]["short_name"] == "No spam"
        assert (s["posts_sampled"], s["avg_upvotes_per_post"], s["engagement"],
                s["subreddit_score"], s["metrics_formula"]) == (30, 12.5, 0.25, 44.1, "b9-v1")
        assert (s["min_post_karma"], s["min_comment_karma"], s["min_account_age_days"],
                s["best_posting_hour"], s["best_posting_day"], s["authors_sampled"]) == (
                    10, 5, 30, 14, 2, 25)
        assert s["fact_at"] == f.at(0)
        assert s["tags"] == ["fitness", "gym"] and s["primary_category"] == "fitness"
        assert (s["tags_source"], s["taxonomy_version"], s["tags_model"], s["tags_confidence"]) \
            == ("auto", "2025-01", "gpt-4o-mini", 0.9)
        snap = await c.fetchrow("SELECT * FROM subreddit_snapshots")
        assert (snap["subreddit"], snap["subscribers"], snap["subreddit_score"]) == (
            "FitGirls", 120_000, 44.1)
        feed = await c.fetchrow("SELECT * FROM subreddits WHERE name = 'u_bob'")
        assert (feed["review"], feed["review_source"], feed["fact_at"]) == (
            "User Feed", "discovered", None)
        assert feed["discovered_via_user"] == "alice" and feed["discovered_at"] == f.at(1)
        new = await c.fetchrow("SELECT * FROM subreddits WHERE name = 'NewSub'")
        assert new["review"] is None and new["discovered_via_subreddit"] == "FitGirls"

        rows = await c.fetch("SELECT * FROM reddit_posts ORDER BY reddit_id")
        assert [r["reddit_id"] for r in rows] == ["p1", "p2"]
        wp = f.post("p1")
        for col in wp.__struct_fields__:
            if col == "subreddit":
                continue
            assert rows[0][col] == getattr(wp, col) or col == "upvote_ratio", col
        assert abs(rows[0]["upvote_ratio"] - 0.93) < 1e-6
        assert rows[0]["subreddit"] == "FitGirls" and rows[0]["listing"] == "subreddit_top_week"

        u = await c.fetchrow("SELECT * FROM reddit_users")
        wu = f.user()
        for col in wu.__struct_fields__:
            assert u[col] == getattr(wu, col), col

        cr = await c.fetchrow("SELECT * FROM instagram_creators WHERE ig_user_id = '1001'")
        wc = f.creator()
        for col in ("username", "availability", "full_name", "biography", "external_url",
                    "external_url_type", "profile_pic_url", "is_verified", "is_private",
                    "is_business", "is_professional", "followers_count", "following_count",
                    "media_count", "highlight_reel_count", "api_calls", "requested",
                    "discovery_source"):
            assert cr[col] == getattr(wc, col), col
        for col in wc.analytics.__struct_fields__:
            assert cr[col] == getattr(wc.analytics, col), col
        assert (cr["growth_daily_pct"], cr["growth_weekly_pct"],
                cr["previous_followers_count"]) == (0.5, 2.5, 49_000)
        assert json.loads(cr["bio_links"])[0]["link_type"] == "onlyfans"
        assert cr["niche"] == "fitness"
        assert cr["related_processed"] and cr["related_found"] == 12 and cr["related_new"] == 4
        assert cr["tags"] == ["fitness", "blonde"] and cr["primary_category"] == "fitness"
        assert json.loads(cr["tags_confidence"]) == {"fitness": 0.95, "blonde": 0.7}
        assert cr["profile_pic_key"] == "media/aa.mp4"
        hist = await c.fetchrow("SELECT * FROM creator_follower_history")
        assert (hist["ig_user_id"], hist["followers_count"], hist["following_count"],
                hist["media_count"]) == ("1001", 50_000, 300, 410)
        ms = await c.fetch("SELECT * FROM instagram_media ORDER BY media_pk")
        assert [(m["media_pk"], m["kind"]) for m in ms] == [("100101", "reel"), ("100102", "post")]
        wm = f.media("100101")
        for col in wm.__struct_fields__:
            assert ms[0][col] == getattr(wm, col), col
        assert ms[0]["ig_user_id"] == "1001"
        d1 = await c.fetchrow("SELECT * FROM instagram_creators WHERE ig_user_id = '2002'")
        assert (d1["username"], d1["discovery_source"], d1["discovered_via"],
                d1["discovered_followers_count"], d1["review_status"], d1["fact_at"]) == (
                    "new.one", "related", "fit.anna", 12_000, None, None)
        d2 = await c.fetchrow("SELECT * FROM instagram_creators WHERE username = 'no.id.yet'")
        assert d2["ig_user_id"] == "pending:no.id.yet"

        cats = await c.fetch("SELECT * FROM categorizations ORDER BY subject_kind")
        assert [(x["subject_kind"], x["subject"]) for x in cats] == [
            ("creator", "1001"), ("subreddit", "FitGirls")]
        wt = f.sub_tags()
        for col in ("taxonomy_version", "model", "method", "prompt_version", "content_hash",
                    "tokens_in", "tokens_out", "primary_category", "confidence", "tags"):
            assert cats[1][col] == getattr(wt, col), col
        assert cats[1]["cost_usd"] == Decimal("0.000210")
        assert json.loads(cats[0]["confidences"]) == {"fitness": 0.95, "blonde": 0.7}

        assets = {(a["source_id"], a["kind"]): a
                  for a in await c.fetch("SELECT * FROM media_assets")}
        ok = assets[("100101", "video")]
        ws = f.stored()
        for col in ("source_url", "owner", "content_hash", "storage_key", "content_type",
                    "bytes_in", "bytes_out", "width", "height", "duration", "poster_key",
                    "deduplicated"):
            assert ok[col] == getattr(ws, col), col
        assert ok["status"] == "stored"
        bad = assets[("100102", "photo")]
        assert (bad["status"], bad["failure_reason"], bad["failure_detail"]) == (
            "failed", "too_large", "31 MB")

        att = await c.fetch("SELECT * FROM scrape_attempts ORDER BY target")
        assert [(a["target"], a["outcome"], a["calls"], a["error"], a["cycle"], a["replica"],
                 a["duration_ms"], a["target_kind"]) for a in att] == [
            ("FitGirls", "success", 2, None, 7, "r1", 350, "subreddit"),
            ("Other", "rate_limited", 1, "HTTP 429", 7, "r1", 350, "subreddit")]
        daily = await c.fetch("SELECT outcome, attempts, calls, cost_usd FROM scraper_daily "
                              "ORDER BY outcome")
        assert [tuple(r) for r in daily] == [("rate_limited", 1, 1, Decimal("0.000500")),
                                             ("success", 1, 2, Decimal("0.001000"))]
