-- Gateway list sorts at full scale (1.8 M posts): without these, GET /api/v1/posts?sort=recent
-- or sort=comments sorts the whole table (~450 ms); with them it reads 50 index entries.
-- The tie-breaker column matches the gateway's ORDER BY (keyset-friendly, no incremental sort).
CREATE INDEX IF NOT EXISTS reddit_posts_created ON reddit_posts (created_utc DESC, reddit_id);
CREATE INDEX IF NOT EXISTS reddit_posts_comments ON reddit_posts (num_comments DESC, reddit_id);
