"""Insights on histories with known growth: the ranking, the window, who has enough history."""

from __future__ import annotations

from datetime import timedelta

from alenv import Stack, wait_for
from b9_common.events import SubredditFetched, now

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
