"""Insights computed from the stored facts (shared by the gateway's pages and the alerts service's
rules on ``subreddit.rising`` / ``creator.flagged``).

Rising subreddits: ``b9_readmodel.insights.rising``: subscriber and activity growth over the window
of each subreddit's own snapshots, only for subreddits with enough history.

Creator authenticity: signals, each with a plain explanation, and a score made of them, from the
rows of ``b9_readmodel.insights.creator_histories``.

Signals (thresholds in ``DEFAULTS``; the control bucket's key ``insights.authenticity`` holds a
JSON object overriding any of them, read on every request):

- ``follower_jump``: followers grew by at least ``jump_pct`` between two consecutive scrapes while
  the engagement rate is below ``jump_engagement_ratio`` x the median of creators of similar size
  (same power of ten of followers): bought followers do not engage. Weight 40.
- ``engagement_low`` / ``engagement_high``: engagement rate below ``low_ratio`` x or above
  ``high_ratio`` x that peer median (at least ``min_peers`` peers with a rate). Weight 25.
  Rates are in percent as the instagram scraper stores them; a rate of 0 (no media read) is
  unknown, neither low nor a peer.
- ``views_outlier``: average reel views per follower below ``views_low`` or above ``views_high``.
  Weight 20.
- ``stall_after_spike``: after a jump of ``jump_pct``, growth over the following ``stall_days`` days
  stayed under ``stall_pct``. Weight 15.

The score is the sum of the weights of the signals found (0-100), never shown without them.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import Any

DEFAULTS: dict[str, float] = {
    "jump_pct": 0.20, "jump_engagement_ratio": 0.5, "low_ratio": 0.25, "high_ratio": 4.0, "min_peers": 5,
    "views_low": 0.02, "views_high": 3.0, "stall_days": 14, "stall_pct": 0.01,
}
WEIGHTS = {"follower_jump": 40, "engagement_low": 25, "engagement_high": 25, "views_outlier": 20,
           "stall_after_spike": 15}


def bucket(followers: int) -> int:
    return int(math.log10(max(1, followers)))


def peer_medians(creators: list[dict[str, Any]], min_peers: float) -> dict[int, float]:
    rates: dict[int, list[float]] = {}
    for c in creators:
        rate = _known(c.get("engagement_rate"))
        if rate is not None:
            rates.setdefault(bucket(c["followers_count"]), []).append(rate)
    return {b: statistics.median(r) for b, r in rates.items() if len(r) >= min_peers}


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def _rate(x: float) -> str:
    """Engagement rates are stored in percent already (the instagram scraper's analytics)."""
    return f"{x:.2f} %"


def _known(rate: Any) -> float | None:
    """0 means no reel or post was read (private, empty): no rate, not a low one."""
    return float(rate) if rate is not None and rate > 0 else None


def signals(c: dict[str, Any], medians: dict[int, float], t: dict[str, float]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    followers, rate = c["followers_count"], _known(c.get("engagement_rate"))
    median = medians.get(bucket(followers))
    hist: list[int] = list(c.get("history") or [])
    at: list[datetime] = list(c.get("history_at") or [])
    jumps = [(i, (hist[i] - hist[i - 1]) / hist[i - 1]) for i in range(1, len(hist)) if hist[i - 1] > 0]
    big = [(i, j) for i, j in jumps if j >= t["jump_pct"]]
    if big and rate is not None and median and rate < median * t["jump_engagement_ratio"]:
        i, j = max(big, key=lambda x: x[1])
        out.append({"signal": "follower_jump", "explanation":
                    f"followers rose {_pct(j)} ({hist[i - 1]:,} -> {hist[i]:,}) between {at[i - 1]:%Y-%m-%d} and "
                    f"{at[i]:%Y-%m-%d} while the engagement rate is {_rate(rate)}, under "
                    f"{t['jump_engagement_ratio']:g} x the {_rate(median)} of creators of similar size"})
    if rate is not None and median:
        if rate < median * t["low_ratio"]:
            out.append({"signal": "engagement_low", "explanation":
                        f"engagement rate {_rate(rate)} is under {t['low_ratio']:g} x the median {_rate(median)} "
                        f"of creators with 10^{bucket(followers)} followers"})
        elif rate > median * t["high_ratio"]:
            out.append({"signal": "engagement_high", "explanation":
                        f"engagement rate {_rate(rate)} is over {t['high_ratio']:g} x the median {_rate(median)} "
                        f"of creators with 10^{bucket(followers)} followers (engagement pods, bought likes)"})
    views = c.get("avg_reel_views")
    if views is not None and followers > 0 and views > 0:
        ratio = views / followers
        if ratio < t["views_low"] or ratio > t["views_high"]:
            out.append({"signal": "views_outlier", "explanation":
                        f"reels average {views:,.0f} views for {followers:,} followers ({ratio:.3f} per follower; "
                        f"expected {t['views_low']:g}-{t['views_high']:g})"})
    for i, j in big:
        later = [k for k in range(i + 1, len(hist)) if (at[k] - at[i]).days >= t["stall_days"]]
        if later and hist[i] > 0 and (hist[later[0]] - hist[i]) / hist[i] < t["stall_pct"]:
            out.append({"signal": "stall_after_spike", "explanation":
                        f"after a {_pct(j)} jump on {at[i]:%Y-%m-%d}, followers grew only "
                        f"{_pct((hist[later[0]] - hist[i]) / hist[i])} in the next {(at[later[0]] - at[i]).days} days"})
            break
    return out


def assess(creators: list[dict[str, Any]], overrides: dict[str, float] | None = None) -> list[dict[str, Any]]:
    t = {**DEFAULTS, **(overrides or {})}
    medians = peer_medians(creators, t["min_peers"])
    out = []
    for c in creators:
        found = signals(c, medians, t)
        out.append({"ig_user_id": c["ig_user_id"], "username": c.get("username"),
                    "followers_count": c["followers_count"], "engagement_rate": c.get("engagement_rate"),
                    "score": min(100, sum(WEIGHTS[s["signal"]] for s in found)), "signals": found})
    return out
