-- Text search pages (GET /api/v1/subreddits?q=, /creators?q=, /users?q=) in their default orders,
-- read as a deferred join from page 1 (ListQuery.defer): the page's keys come from one of these
-- indexes alone (an index-only scan), then only the page's rows from the table. Before, every
-- row the search walked or matched was read from the table: 'yoga' walked ~2,000 subreddit rows
-- down the score index (2.5 % match), 'gym_hub' read all its 1,161 users at 3x (3,841 at 10x)
-- to sort them: scattered pages of 303 MB / 205 MB tables at 3x.
--  - subreddits keep subreddits_score_name (0095, key only). Not INCLUDE (search): a btree
--    tuple holds at most 2,704 bytes, and a subreddit's tsvector (name, title <= 100 and
--    public description <= 500 characters) reaches ~3.7 kB with ~300 distinct space-separated
--    CJK characters: such a subreddit could not be stored at all. Its search pages are deferred
--    joins that check the text in the table.
--  - instagram_creators_followers_search: the default order with the searched text beside it
--    (bios are at most 150 characters, names 30: the tsvector stays well under the limit); replaces instagram_creators_followers_id (0095, same key).
--  - reddit_users_lower_name_karma: a name prefix is one range of this index, with the default
--    sort key beside it: the matches are sorted from the index (3,841 tuples for 'gym_hub' at 10x,
--    ~1 ms), not read from the table. Replaces reddit_users_lower_name (same key). Its statistics
--    sample 10x the default: with 100 histogram buckets (1 % of the users each) the estimate for
--    'gym_hub%' flipped between 94 and 9,448 rows from one ANALYZE to the next (1,161 at 3x), and
--    at 9,448 the planner walks the karma index instead (43 k tuples, ~80 ms with a stale
--    visibility map); with 1,000 it stays at 936-1,873.
-- At 10x (347 k subreddits, 3.1 M users, compact copies) built in ~3 s and < 0.1 s;
-- 183 MB (the index it replaces: 118 MB) and < 1 MB.
CREATE INDEX IF NOT EXISTS instagram_creators_followers_search
    ON instagram_creators (followers_count DESC NULLS LAST, ig_user_id) INCLUDE (username, search);
DROP INDEX IF EXISTS instagram_creators_followers_id;
CREATE INDEX IF NOT EXISTS reddit_users_lower_name_karma ON reddit_users (lower(username) text_pattern_ops)
    INCLUDE (total_karma, username);
ALTER INDEX reddit_users_lower_name_karma ALTER COLUMN 1 SET STATISTICS 1000;
DROP INDEX IF EXISTS reddit_users_lower_name;
