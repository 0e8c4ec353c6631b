"""Reddit posts: the filtered list (the viral posts are ``b9_readmodel.viral``'s).

Tables ``reddit_posts`` (``created_utc``, ``score``, derived ``content_type`` / ``posting_hour``)
joined to ``subreddits`` by name. List orders end with ``reddit_id``: the indexes of 0093.
"""

from __future__ import annotations

from b9_readmodel.sql import ListQuery, Where

POST_COLS = (
    "reddit_id, subreddit, author, title, url, permalink, score, num_comments, "
    "upvote_ratio::float8 AS upvote_ratio, over_18, content_type, posting_hour, created_utc"
)
LIST_SORTS = {
    "score": "score DESC, reddit_id",
    "recent": "created_utc DESC, reddit_id",
    "comments": "num_comments DESC, reddit_id",
}


def post_list(
    subreddit: str | None, author: str | None, content_type: str | None, over18: bool | None,
    min_score: int | None, sort: str,
) -> ListQuery:
    """Posts (``POST_COLS``), filtered, in ``LIST_SORTS[sort]``."""
    w = Where()
    if subreddit:
        w.add("subreddit = {}", subreddit)
    if author:
        w.add("author = {}", author)
    if content_type:
        w.add("content_type = {}", content_type)
    if over18 is not None:
        w.add("over_18 = {}", over18)
    if min_score is not None:
        w.add("score >= {}", min_score)
    return ListQuery(POST_COLS, "reddit_posts", w, LIST_SORTS[sort], key="reddit_id")
