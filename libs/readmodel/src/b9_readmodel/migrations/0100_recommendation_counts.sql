-- The posting page's recommendations (GET /api/v1/recommendations, /models/{id}/recommendations)
-- count the 'Ok' subreddits sharing a tag that are SFW and that require verification
-- (b9_readmodel.models.recommendation_counts). subreddits_ok (0094) lacked verification_required,
-- so the counts read every matching subreddit from the table: at 10x a bitmap heap scan of
-- 32,500 pages for the dashboard's default model (53,568 matches), 217 ms; with the column in
-- the index they are an index-only scan, 40 ms. Same index otherwise (the viral filters and the
-- categorization stats read it too).
DROP INDEX IF EXISTS subreddits_ok_next;
CREATE INDEX subreddits_ok_next ON subreddits (name)
    INCLUDE (over18, primary_category, tags, tags_source, verification_required) WHERE review = 'Ok';
DROP INDEX IF EXISTS subreddits_ok;
ALTER INDEX subreddits_ok_next RENAME TO subreddits_ok;
