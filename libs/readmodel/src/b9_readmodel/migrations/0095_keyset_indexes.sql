-- Keyset pages (the lists' `after` cursors, b9_readmodel.sql.keyset_sql) of the subreddit and
-- creator lists. A page after a row reads index ranges on (sort column DESC NULLS LAST, unique
-- key): the rest of the row's tie, the values after it, the NULL tail by key. The single-column
-- sort indexes lacked the key, so a cursor inside a tie sorted the whole tie on every page (at
-- 3x, 99 k of the 104 k subreddits score 0), and four creator sorts had no index at all (a sort
-- of every creator per page, first pages included). Each new index serves everything the one
-- it replaces did (same leading column); the users and posts sorts have theirs (0091, 0093).
CREATE INDEX IF NOT EXISTS subreddits_score_name ON subreddits (subreddit_score DESC NULLS LAST, name);
DROP INDEX IF EXISTS subreddits_score;
CREATE INDEX IF NOT EXISTS subreddits_avg_upvotes_name ON subreddits (avg_upvotes_per_post DESC NULLS LAST, name);
DROP INDEX IF EXISTS subreddits_avg_upvotes;
CREATE INDEX IF NOT EXISTS subreddits_engagement_name ON subreddits (engagement DESC NULLS LAST, name);
DROP INDEX IF EXISTS subreddits_engagement;
CREATE INDEX IF NOT EXISTS subreddits_subscribers_name ON subreddits (subscribers DESC NULLS LAST, name);
DROP INDEX IF EXISTS subreddits_subscribers;
CREATE INDEX IF NOT EXISTS subreddits_fact_at_name ON subreddits (fact_at DESC NULLS LAST, name);
DROP INDEX IF EXISTS subreddits_fact_at;
CREATE INDEX IF NOT EXISTS instagram_creators_followers_id
    ON instagram_creators (followers_count DESC NULLS LAST, ig_user_id);
DROP INDEX IF EXISTS instagram_creators_followers;
CREATE INDEX IF NOT EXISTS instagram_creators_engagement_id
    ON instagram_creators (engagement_rate DESC NULLS LAST, ig_user_id);
DROP INDEX IF EXISTS instagram_creators_engagement;
CREATE INDEX IF NOT EXISTS instagram_creators_fact_at_id ON instagram_creators (fact_at DESC NULLS LAST, ig_user_id);
DROP INDEX IF EXISTS instagram_creators_fact_at;
CREATE INDEX IF NOT EXISTS instagram_creators_discovered_id
    ON instagram_creators (discovered_at DESC NULLS LAST, ig_user_id);
CREATE INDEX IF NOT EXISTS instagram_creators_reel_views_id
    ON instagram_creators (avg_reel_views DESC NULLS LAST, ig_user_id);
CREATE INDEX IF NOT EXISTS instagram_creators_growth_id
    ON instagram_creators (growth_weekly_pct DESC NULLS LAST, ig_user_id);
CREATE INDEX IF NOT EXISTS instagram_creators_username_id ON instagram_creators (username DESC NULLS LAST, ig_user_id);
