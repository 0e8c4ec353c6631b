"""Insights on histories with known growth: the ranking, the window, who has enough history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from alenv import Stack, stack, wait_for
from b9_common.events import CreatorAnalytics, CreatorScraped, SubredditFetched, now

# name -> subscribers per day, oldest first (the last value is today)
HISTORY = {
    "fast": [1000 + 1000 * d // 7 for d in range(8)],                     # +100 % in 7 days
    "slow": [9000 + 50 * d for d in range(31)],                             # +5.6 % in 7 d, +16.7 % in 30 d
    "flat": [5000] * 8,
    "shrinking": [3000 - 50 * d for d in range(8)],                         # -11.7 %
    "young": [100, 400],                                                    # not enough history
}


async def test_rising_subreddits_rank_known_growth_and_skip_short_histories(st: Stack) -> None:
    t = now()
    envs = []
    for name, subs in HISTORY.items():
        for i, n in enumerate(subs):
            envs.append(st.rt.publisher.envelope(
                SubredditFetched(name=name, subscribers=n, active_users=n // 10),
                occurred_at=t - timedelta(days=len(subs) - 1 - i)))
    await st.rt.publisher.publish_many(envs)
    total = sum(len(v) for v in HISTORY.values())
    await wait_for(lambda: st.pool.fetchval("SELECT count(*) = $1 FROM subreddit_snapshots", total),
                   what="every snapshot")
    r = await st.client.get("/api/v1/insights/rising-subreddits", params={"days": 7})
    assert r.status_code == 200, r.text
    week = r.json()
    assert [r["subreddit"] for r in week["items"]] == ["fast", "slow", "flat", "shrinking"], week
    fast = week["items"][0]
    assert (fast["start_subscribers"], fast["end_subscribers"], fast["growth"]) == (1000, 2000, 1000)
    assert fast["growth_pct"] == 1.0 and fast["active_growth_pct"] == 1.0 and fast["points"] == 8
    assert fast["sparkline"] == HISTORY["fast"]
    assert round(week["items"][1]["growth_pct"], 4) == round(350 / 10150, 4)
    by_growth = (await st.client.get("/api/v1/insights/rising-subreddits", params={"sort": "growth"})).json()
    assert [r["subreddit"] for r in by_growth["items"]] == ["fast", "slow", "flat", "shrinking"]
    month = (await st.client.get("/api/v1/insights/rising-subreddits", params={"days": 30})).json()
    assert [r["subreddit"] for r in month["items"]] == ["slow"]  # the only one with 30 days
    assert month["items"][0]["growth"] == 1500 and len(month["items"][0]["sparkline"]) == 30
    assert (await st.client.get("/api/v1/insights/rising-subreddits", params={"days": 14})).status_code == 422


def _creator(uid: str, followers: int, rate: float, views: float) -> CreatorScraped:
    return CreatorScraped(ig_user_id=uid, username=f"user{uid}", followers_count=followers,
                          analytics=CreatorAnalytics(engagement_rate=rate, avg_reel_views=views))


async def test_creator_flags_carry_their_reasons_and_make_the_score(st: Stack) -> None:
    t, envs = now(), []

    def scraped(uid: str, days_ago: int, followers: int, rate: float, views: float) -> None:
        envs.append(st.rt.publisher.envelope(_creator(uid, followers, rate, views),
                                             occurred_at=t - timedelta(days=days_ago)))

    for k in range(6):  # ordinary creators of 10^4 followers: engagement 2.5-3.5 %, 0.1 views per follower
        for d in (20, 10, 0):
            scraped(f"p{k}", d, 20_000 + 100 * k + 50 * (20 - d), 2.5 + 0.2 * k, 2_000)
    scraped("bought", 35, 20_000, 0.5, 2_500)
    scraped("bought", 34, 30_000, 0.5, 2_500)  # +50 % overnight...
    scraped("bought", 0, 30_100, 0.5, 2_500)  # ...then nothing for a month
    scraped("pods", 0, 40_000, 20.0, 4_000)
    scraped("viewbot", 0, 15_000, 3.0, 200_000)
    scraped("private", 0, 25_000, 0.0, 0)  # no media read: no rate, not a low one
    await st.rt.publisher.publish_many(envs)
    await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 24 FROM creator_follower_history"),
                   what="every history point")
    r = await st.client.get("/api/v1/insights/creator-authenticity")
    assert r.status_code == 200, r.text
    body = r.json()
    got = {c["ig_user_id"]: c for c in body["items"]}
    assert [c["ig_user_id"] for c in body["items"]] == ["bought", "pods", "viewbot"]  # by score, peers unflagged
    bought = got["bought"]
    assert bought["score"] == 80
    assert [s["signal"] for s in bought["signals"]] == ["follower_jump", "engagement_low", "stall_after_spike"]
    assert "followers rose 50.0 % (20,000 -> 30,000)" in bought["signals"][0]["explanation"]
    assert "engagement rate 0.50 % is under 0.25 x the median 3.00 %" in bought["signals"][1]["explanation"]
    assert "only 0.3 % in the next 34 days" in bought["signals"][2]["explanation"]
    assert [(s["signal"], got["pods"]["score"]) for s in got["pods"]["signals"]] == [("engagement_high", 25)]
    assert [s["signal"] for s in got["viewbot"]["signals"]] == ["views_outlier"]
    assert "13.333 per follower" in got["viewbot"]["signals"][0]["explanation"]
    assert body["thresholds"]["jump_pct"] == 0.2
    # thresholds live in the control bucket: a looser views band clears the view-bot
    await st.deps.control.put("insights.authenticity", b'{"views_high": 20}')
    again = (await st.client.get("/api/v1/insights/creator-authenticity")).json()
    assert "viewbot" not in [c["ig_user_id"] for c in again["items"]] and again["thresholds"]["views_high"] == 20


async def test_rules_on_insights_notify_once_per_subreddit_and_creator(nats_url: str, namespace: str,
                                                                      database_url: str) -> None:
    async with stack(nats_url, namespace, database_url, insights_interval=0.3) as st:
        t = now()
        envs = [st.rt.publisher.envelope(SubredditFetched(name=name, subscribers=n, active_users=n // 10),
                                         occurred_at=t - timedelta(days=len(subs) - 1 - i))
                for name, subs in HISTORY.items() for i, n in enumerate(subs)]
        envs += [st.rt.publisher.envelope(_creator(f"p{k}", 20_000 + k, 3.0, 2_000)) for k in range(6)]
        envs.append(st.rt.publisher.envelope(_creator("pods", 40_000, 20.0, 4_000)))
        await st.rt.publisher.publish_many(envs)
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 7 FROM instagram_creators"), what="the creators")
        rising = (await st.client.post("/api/v1/alerts", json={
            "name": "rising", "on": "subreddit.rising", "where": {"growth_pct": {"gte": 0.03}}})).json()
        flagged = (await st.client.post("/api/v1/alerts", json={
            "name": "pods", "on": "creator.flagged", "where": {"signals": "engagement_high"}})).json()
        await wait_for(lambda: st.pool.fetchval("SELECT count(*) = 3 FROM notifications"), what="3 notifications")
        await asyncio.sleep(1.0)  # several more evaluations: still once each
        rows = await st.pool.fetch("SELECT rule_id, entity, title FROM notifications ORDER BY rule_id, entity")
        assert sorted((r["rule_id"], r["entity"]) for r in rows) == sorted(
            [(rising["id"], "fast"), (rising["id"], "slow"), (flagged["id"], "pods")])
        assert {r["title"] for r in rows if r["entity"] == "fast"} == {"r/fast +100 % in 7 days"}
        assert {r["title"] for r in rows if r["entity"] == "pods"} == {"@userpods flagged: engagement_high (score 25)"}
