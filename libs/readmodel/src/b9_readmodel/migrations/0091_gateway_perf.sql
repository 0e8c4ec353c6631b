-- Gateway list sorts at full scale (1.8 M posts): without these, GET /api/v1/posts?sort=recent
-- or sort=comments sorts the whole table (~450 ms); with them it reads 50 index entries.
-- The tie-breaker column matches the gateway's ORDER BY (keyset-friendly, no incremental sort).
CREATE INDEX IF NOT EXISTS reddit_posts_created ON reddit_posts (created_utc DESC, reddit_id);
CREATE INDEX IF NOT EXISTS reddit_posts_comments ON reddit_posts (num_comments DESC, reddit_id);
-- GET /api/v1/users sorts over ~300 k users (~90 ms each as a full sort), descending as listed.
CREATE INDEX IF NOT EXISTS reddit_users_karma_per_day ON reddit_users (karma_per_day DESC NULLS LAST, username);
CREATE INDEX IF NOT EXISTS reddit_users_avg_post_score ON reddit_users (avg_post_score DESC NULLS LAST, username);
CREATE INDEX IF NOT EXISTS reddit_users_account_age ON reddit_users (account_age_days DESC NULLS LAST, username);
-- GET /api/v1/reels default sort (views).
CREATE INDEX IF NOT EXISTS instagram_media_reel_views ON instagram_media (play_count DESC, media_pk) WHERE kind = 'reel';
