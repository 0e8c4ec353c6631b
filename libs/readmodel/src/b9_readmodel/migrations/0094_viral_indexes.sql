-- Viral posts (GET /api/v1/posts/viral and /viral/stats: the post analysis page) and the
-- categorization stats, at 3x (104 k subreddits, 7.6 M posts). The viral posts are the top N by
-- score per 'Ok' subreddit among its posts of the last hours; they were found by ranking every
-- post of the window read from the table (a parallel scan of all of it: 2.2 s of CPU for a page,
-- twice 1.8 s for the stats). b9_readmodel.viral now runs one LATERAL per 'Ok' subreddit, both
-- sides read index-only from these two:
--  - reddit_posts_subreddit_window replaces reddit_posts_subreddit_created (same key, so it serves
--    everything that one did) and includes the columns the viral sorts and stats read: a
--    subreddit's posts in the window are one short index range, no heap. 514 MB at 3x instead of
--    345 MB; built in ~15 s at 3x (~40 s at 10x); no extra index for ingest to maintain.
--  - subreddits_ok: the 'Ok' subreddits with the columns the viral filters and the categorization
--    stats read (5 MB at 3x instead of reading the 303 MB table).
CREATE INDEX IF NOT EXISTS reddit_posts_subreddit_window ON reddit_posts (subreddit, created_utc DESC)
    INCLUDE (score, reddit_id, num_comments, upvote_ratio, posting_hour);
DROP INDEX IF EXISTS reddit_posts_subreddit_created;
CREATE INDEX IF NOT EXISTS subreddits_ok ON subreddits (name) INCLUDE (over18, primary_category, tags, tags_source)
    WHERE review = 'Ok';
-- The overview's subreddits per review and new today (b9_readmodel.overview.SUBREDDITS_SQL): one
-- index-only pass instead of a count, a scan of the table for today's and a GROUP BY over it
-- (~0.4 s of CPU at 3x -> ~10 ms). Same key as subreddits_review, which it replaces.
CREATE INDEX IF NOT EXISTS subreddits_review_new ON subreddits (review) INCLUDE (discovered_at, fact_at);
DROP INDEX IF EXISTS subreddits_review;
