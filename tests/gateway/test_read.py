"""Contract tests for the read routes against the pipeline-loaded dataset."""

from __future__ import annotations

from gwdata import CREATORS, SUBS, THUMB_BYTES, THUMB_KEY
from gwenv import Env


async def test_health_is_open_and_ready_reports_each_dependency(env: Env) -> None:
    r = await env.anon.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = await env.anon.get("/ready")
    body = r.json()
    assert r.status_code == 200, body
    assert set(body["checks"]) == {"nats", "postgres", "media"}
    assert all(c["ok"] for c in body["checks"].values())
    r = await env.anon.get("/metrics")
    assert r.status_code == 200 and b"b9_" in r.content


async def test_subreddit_list_filters_sorts_and_pages(env: Env) -> None:
    r = await env.client.get("/api/v1/subreddits", params={"review": "Ok", "sort": "subscribers", "per_page": 4})
    body = r.json()
    assert r.status_code == 200, body
    assert body["total"] == 6 and body["pages"] == 2 and body["per_page"] == 4
    assert [s["name"] for s in body["items"]] == ["sub05", "sub04", "sub03", "sub02"]
    r = await env.client.get("/api/v1/subreddits", params={"review": "unreviewed"})
    assert {s["name"] for s in r.json()["items"]} == set(SUBS[8:])
    r = await env.client.get("/api/v1/subreddits", params={"over18": "true", "sort": "name", "order": "asc"})
    assert [s["name"] for s in r.json()["items"]] == ["sub00", "sub04", "sub08"]
    r = await env.client.get("/api/v1/subreddits", params={"min_subscribers": 5000, "max_subscribers": 7000})
    assert {s["name"] for s in r.json()["items"]} == {"sub04", "sub05", "sub06"}
    r = await env.client.get("/api/v1/subreddits", params={"tags": "niche:cosplay"})
    assert [s["name"] for s in r.json()["items"]] == ["sub00"]
    r = await env.client.get("/api/v1/subreddits", params={"verification_required": "true", "sort": "name"})
    assert [s["name"] for s in r.json()["items"]] == ["sub10", "sub05", "sub00"]


async def test_subreddit_search_and_sql_looking_input(env: Env) -> None:
    r = await env.client.get("/api/v1/subreddits", params={"q": "cats"})
    assert {s["name"] for s in r.json()["items"]} == {s for i, s in enumerate(SUBS) if i % 2}
    r = await env.client.get("/api/v1/subreddits", params={"q": "sub1"})
    assert {s["name"] for s in r.json()["items"]} == {"sub10", "sub11"}
    before = await env.pool.fetchval("SELECT count(*) FROM subreddits")
    for evil in ("'; DROP TABLE subreddits; --", "sub% OR 1=1", '" OR ""="', "_%", "a' UNION SELECT 1 --"):
        r = await env.client.get("/api/v1/subreddits", params={"q": evil})
        assert r.status_code == 200 and r.json()["total"] == 0, (evil, r.text)
        r = await env.client.get("/api/v1/subreddits", params={"primary_category": evil})
        assert r.status_code == 200 and r.json()["total"] == 0
    assert await env.pool.fetchval("SELECT count(*) FROM subreddits") == before


async def test_subreddit_detail_has_history_rules_requirements(env: Env) -> None:
    r = await env.client.get("/api/v1/subreddits/SUB03")
    body = r.json()
    assert r.status_code == 200, body
    assert body["subreddit"]["name"] == "sub03"
    assert body["rules"][0]["short_name"] == "No spam"
    assert body["requirements"]["min_post_karma"] == 30
    assert len(body["history"]) == 1 and body["history"][0]["subscribers"] == 4000
    assert [p["score"] for p in body["top_posts"]] == sorted((p["score"] for p in body["top_posts"]), reverse=True)
    assert (await env.client.get("/api/v1/subreddits/nope")).status_code == 404


async def test_viral_posts_top_per_ok_subreddit(env: Env) -> None:
    r = await env.client.get("/api/v1/posts/viral", params={"hours": 72, "per_page": 200})
    body = r.json()
    assert r.status_code == 200, body
    assert body["total"] == 6 * 3
    per_sub: dict[str, list[int]] = {}
    for p in body["items"]:
        per_sub.setdefault(p["subreddit"], []).append(p["score"])
    assert set(per_sub) == set(SUBS[:6])
    assert all(len(v) == 3 for v in per_sub.values())
    assert sorted(per_sub["sub01"], reverse=True) == [51, 41, 31]
    r = await env.client.get("/api/v1/posts/viral", params={"sfw": "true", "per_page": 200})
    assert {p["subreddit"] for p in r.json()["items"]} == {"sub01", "sub02", "sub03", "sub05"}
    r = await env.client.get("/api/v1/posts/viral/stats")
    stats = r.json()
    assert stats["total_posts"] == 18 and stats["best_subreddit_by_avg_score"]["subreddit"] == "sub05"
    assert 0 <= stats["best_hour"] <= 23


async def test_users_list_search_and_detail(env: Env) -> None:
    r = await env.client.get("/api/v1/users", params={"sort": "karma"})
    body = r.json()
    assert body["total"] >= 6 and body["items"][0]["username"] == "user_5"
    r = await env.client.get("/api/v1/users", params={"q": "user_3"})
    assert [u["username"] for u in r.json()["items"]] == ["user_3"]
    r = await env.client.get("/api/v1/users/user_1")
    detail = r.json()
    assert detail["user"]["total_karma"] == 1010 and len(detail["posts"]) > 0
    assert all(p["subreddit"] in SUBS for p in detail["posts"])


async def test_creators_list_detail_reels_and_media(env: Env) -> None:
    r = await env.client.get("/api/v1/creators", params={"sort": "followers", "min_followers": 15_000})
    body = r.json()
    assert [c["username"] for c in body["items"]] == [CREATORS[3], CREATORS[2], CREATORS[1]]
    r = await env.client.get("/api/v1/creators", params={"review": "pending", "q": "found"})
    assert [c["username"] for c in r.json()["items"]] == ["found.one"]
    r = await env.client.get(f"/api/v1/creators/{CREATORS[0]}")
    d = r.json()
    assert r.status_code == 200, d
    assert d["creator"]["ig_user_id"] == "9000" and len(d["follower_history"]) == 1
    assert len(d["reels"]) == 3 and len(d["posts"]) == 2
    reel = next(x for x in d["reels"] if x["media_pk"] == "m0r0")
    assert reel["thumbnail_key"] == THUMB_KEY
    r = await env.client.get(f"/media/{reel['thumbnail_key']}")
    assert r.status_code == 200 and r.content == THUMB_BYTES
    r = await env.client.get("/api/v1/reels", params={"sort": "views", "per_page": 3})
    views = [x["play_count"] for x in r.json()["items"]]
    assert views == sorted(views, reverse=True) and r.json()["total"] == 12


async def test_overview_scrapers_categorization(env: Env) -> None:
    r = await env.client.get("/api/v1/overview")
    o = r.json()
    assert r.status_code == 200, o
    assert o["counts"]["subreddits"] == 12 and o["subreddits_by_review"]["Ok"] == 6
    assert o["scrapers_today"]["reddit"]["attempts"] == 9
    assert o["scrapers_today"]["reddit"]["success_rate"] == round(100 * 8 / 9, 2)
    assert abs(o["scrapers_today"]["instagram"]["cost_usd"] - 0.0024) < 1e-9
    assert {s["stream"].split("_")[-1] for s in o["streams"]} == {"SCRAPE", "DERIVED", "DECISIONS", "COMMANDS", "DLQ"}
    scrape = next(s for s in o["streams"] if s["stream"].endswith("SCRAPE"))
    assert any(c["name"] == "persistence" for c in scrape["consumers"])
    r = await env.client.get("/api/v1/scrapers/reddit")
    s = r.json()
    assert s["today"]["calls"] == 25 and s["current_cycle"] == 7
    r = await env.client.get("/api/v1/categorization/stats")
    st = r.json()
    assert st["total_approved_subreddits"] == 6 and st["total_tagged"] == 1
    r = await env.client.get("/api/v1/categorization/tags")
    assert r.json()["total"] == 82
    r = await env.anon.get("/asyncapi.json")
    doc = r.json()
    assert doc["asyncapi"] == "3.1.0" and "subreddit_fetched" in doc["channels"]
