"""Reddit posts: the filtered list (the viral posts are ``b9_readmodel.viral``'s).

Tables ``reddit_posts`` (``created_utc``, ``score``, derived ``content_type`` / ``posting_hour``)
joined to ``subreddits`` by name. List orders end with ``reddit_id``: the indexes of 0093.
"""

from __future__ import annotations

from b9_readmodel.sql import ListQuery, SortKey, Where, sort_key

POST_COLS = (
    "reddit_id, subreddit, author, title, url, permalink, score, num_comments, "
    "upvote_ratio::float8 AS upvote_ratio, over_18, content_type, posting_hour, created_utc"
)
# sort -> its key: column (NOT NULL) descending, then reddit_id
LIST_KEYS: dict[str, SortKey] = {
    sort: sort_key("posts", sort, "desc", "reddit_id", col, col, kind, nullable=False)
    for sort, col, kind in (
        ("score", "score", "int"),
        ("recent", "created_utc", "time"),
        ("comments", "num_comments", "int"),
    )
}
LIST_SORTS = {sort: sk.order for sort, sk in LIST_KEYS.items()}  # "score DESC, reddit_id", ...


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
    return ListQuery(POST_COLS, "reddit_posts", w, LIST_SORTS[sort], key="reddit_id", sort=LIST_KEYS[sort])
