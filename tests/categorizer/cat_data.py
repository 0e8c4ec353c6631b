"""Real subreddit fixtures (recorded Reddit API bodies) as subreddit.fetched payloads."""

from __future__ import annotations

import json
from pathlib import Path

from b9_common.events import SubredditFetched

REDDIT = Path(__file__).resolve().parents[1] / "fixtures" / "reddit"


def _fetched(d: dict) -> SubredditFetched:
    return SubredditFetched(
        name=d["display_name"].strip("<>") or "x",
        title=d.get("title") or "",
        public_description=d.get("public_description") or "",
        description=d.get("description") or "",
        over18=bool(d.get("over18")),
        subscribers=d.get("subscribers"),
    )


def real_subreddits() -> list[SubredditFetched]:
    """Every t5 (subreddit) object in the recorded Reddit fixtures, as subreddit.fetched data."""
    out: dict[str, SubredditFetched] = {}
    for f in sorted((REDDIT / "subreddit_about").glob("*.json")):
        d = json.loads(f.read_text())["data"]
        out[d["display_name"].lower()] = _fetched(d)
    for name in (
        "subreddits_popular_15.json",
        "api_info_mixed_t1_t3_t5.json",
        "subreddits_search_praw.json",
    ):
        for c in json.loads((REDDIT / "other" / name).read_text())["data"]["children"]:
            if c["kind"] == "t5":
                out.setdefault(c["data"]["display_name"].lower(), _fetched(c["data"]))
    return list(out.values())
