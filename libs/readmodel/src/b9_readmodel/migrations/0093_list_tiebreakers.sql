-- Gateway list sorts whose index lacked the ORDER BY's tie-breaker (full scale: 1.83 M posts,
-- 310 k users). GET /api/v1/posts?sort=score (ORDER BY score DESC, reddit_id) and the users
-- list's default sort (total_karma DESC NULLS LAST, username) and `last_scraped` sort did an
-- incremental sort over the index on every page: page 1 stays cheap, but a deep page sorted
-- everything before it (posts page 10,000: 1.1-1.4 s holding one of a gateway worker's few
-- connections). With the tie-breaker the index gives the order, and holds the key the
-- gateway's deferred join walks (sql.page_sql): that page now takes ~25 ms. Each new index
-- serves everything the old one did (same leading column).
CREATE INDEX IF NOT EXISTS reddit_posts_score_id ON reddit_posts (score DESC, reddit_id);
DROP INDEX IF EXISTS reddit_posts_score;
CREATE INDEX IF NOT EXISTS reddit_users_total_karma_name ON reddit_users (total_karma DESC NULLS LAST, username);
DROP INDEX IF EXISTS reddit_users_total_karma;
CREATE INDEX IF NOT EXISTS reddit_users_fact_at_name ON reddit_users (fact_at DESC NULLS LAST, username);
DROP INDEX IF EXISTS reddit_users_fact_at;
