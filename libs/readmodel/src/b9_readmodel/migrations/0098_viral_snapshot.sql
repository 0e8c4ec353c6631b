-- Viral posts snapshot (the post analysis page: GET /api/v1/posts/viral and /viral/stats).
-- Live, the viral posts of a window cost one probe per 'Ok' subreddit (b9_readmodel.viral,
-- 0094): 156 k probes, ~5 s of SQL per query at 10x, and the page runs two. The answer for the
-- dashboard's windows (24, 72, 168, 720 h) with per_subreddit <= 3 is kept here instead, as it
-- was at ``as_of``: exactly the rows the live query returned at that moment. Persistence (the
-- only writer of the read model) refreshes it (b9_persistence.viral_refresh, every few minutes,
-- one pass for the four windows); the gateway reads it and says ``as_of``, and computes live
-- for anything else (a title search, a subreddit, another window, more per subreddit) or when
-- there is no snapshot. Derived from the read model, not from the streams: a rebuild leaves it
-- out (rebuild_compare.NOT_FROM_STREAMS) and the next refresh makes it again.
CREATE TABLE IF NOT EXISTS viral_snapshot (
    hours integer PRIMARY KEY,           -- a window kept in viral_top
    per_subreddit integer NOT NULL,      -- ranks kept per subreddit: serves per_subreddit <= this
    as_of timestamptz NOT NULL           -- the now() the rows are the answer for
);
-- A viral post of a window as of its snapshot: the post's sort and stats columns and its
-- subreddit's filters (over18, primary_category) then.
CREATE TABLE IF NOT EXISTS viral_top (
    hours integer NOT NULL,
    subreddit text NOT NULL,
    rank integer NOT NULL,               -- in its subreddit by score DESC, reddit_id
    reddit_id text NOT NULL,
    score integer NOT NULL,
    num_comments integer NOT NULL,
    created_utc timestamptz NOT NULL,
    upvote_ratio real,
    posting_hour smallint NOT NULL,
    over18 boolean NOT NULL,
    primary_category text,
    PRIMARY KEY (hours, subreddit, rank)
);
-- A page of a window in each sort's order (b9_readmodel.viral.VIRAL_SORTS, then reddit_id): the
-- first rows of an index instead of a sort of the window's ~0.4 M rows (at 10x).
CREATE INDEX IF NOT EXISTS viral_top_score ON viral_top (hours, score DESC, reddit_id);
CREATE INDEX IF NOT EXISTS viral_top_comments ON viral_top (hours, num_comments DESC, reddit_id);
CREATE INDEX IF NOT EXISTS viral_top_recent ON viral_top (hours, created_utc DESC, reddit_id);
CREATE INDEX IF NOT EXISTS viral_top_ratio ON viral_top (hours, upvote_ratio DESC NULLS LAST, reddit_id);
-- The stats of a window at the snapshot's per_subreddit, so that GET /viral/stats reads a few
-- rows instead of grouping the window's ~0.4 M viral_top rows (~1 s at 10x): per subreddit its
-- viral posts, their mean score (avg(score)::float8, as the live query) and comments, indexed in
-- the two "best subreddit" orders; per posting hour the posts and their score summed, by the
-- subreddit's over18 and primary_category (the filters), a few hundred rows per window.
CREATE TABLE IF NOT EXISTS viral_sub (
    hours integer NOT NULL,
    subreddit text NOT NULL,
    over18 boolean NOT NULL,
    primary_category text,
    posts integer NOT NULL,
    avg_score float8 NOT NULL,
    comments bigint NOT NULL,
    PRIMARY KEY (hours, subreddit)
);
CREATE INDEX IF NOT EXISTS viral_sub_best_avg ON viral_sub (hours, avg_score DESC, subreddit COLLATE "C" DESC);
CREATE INDEX IF NOT EXISTS viral_sub_best_comments ON viral_sub (hours, comments DESC, subreddit COLLATE "C" DESC);
CREATE TABLE IF NOT EXISTS viral_hour (
    hours integer NOT NULL,
    over18 boolean NOT NULL,
    primary_category text,
    posting_hour smallint NOT NULL,
    posts integer NOT NULL,
    sum_score bigint NOT NULL
);

-- One refresh: every window's top ``keep`` per 'Ok' subreddit as of now(), one probe per 'Ok'
-- subreddit for all four windows (its posts of the widest window, sorted once by score then
-- reddit_id; a post's rank in a window is the running count of the window's posts up to it).
-- Only the rows that changed are written (most of a few minutes' old snapshot stays). With
-- fewer than ``min_subreddits`` 'Ok' subreddits the live queries are cheap: no snapshot is kept
-- (returns -1). Returns the rows kept; -2 when another session is refreshing.
CREATE OR REPLACE FUNCTION viral_refresh(min_subreddits integer, keep integer DEFAULT 3)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := now();
    n integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('b9.viral_refresh')) THEN
        RETURN -2;
    END IF;
    IF (SELECT count(*) FROM subreddits WHERE review = 'Ok') < min_subreddits THEN
        DELETE FROM viral_snapshot;
        DELETE FROM viral_top;
        DELETE FROM viral_sub;
        DELETE FROM viral_hour;
        RETURN -1;
    END IF;
    CREATE TEMP TABLE viral_next ON COMMIT DROP AS
    SELECT w.hours, s.name AS subreddit, w.rank, x.reddit_id, x.score, x.num_comments, x.created_utc,
           x.upvote_ratio, x.posting_hour, s.over18, s.primary_category
    FROM subreddits s
    CROSS JOIN LATERAL (SELECT * FROM (
        SELECT p.reddit_id, p.score, p.num_comments, p.created_utc, p.upvote_ratio, p.posting_hour,
               count(*) FILTER (WHERE p.created_utc >= t - interval '24 hours') OVER o AS r24,
               count(*) FILTER (WHERE p.created_utc >= t - interval '72 hours') OVER o AS r72,
               count(*) FILTER (WHERE p.created_utc >= t - interval '168 hours') OVER o AS r168,
               count(*) OVER o AS r720
        FROM reddit_posts p
        WHERE p.subreddit = s.name AND p.created_utc >= t - interval '720 hours' AND p.score > 0
        WINDOW o AS (ORDER BY p.score DESC, p.reddit_id ROWS UNBOUNDED PRECEDING)
    ) y  -- in some window's top, before the four rows per post are made
    WHERE y.r720 <= keep OR (y.r168 <= keep AND y.created_utc >= t - interval '168 hours')
       OR (y.r72 <= keep AND y.created_utc >= t - interval '72 hours')
       OR (y.r24 <= keep AND y.created_utc >= t - interval '24 hours')) x
    CROSS JOIN LATERAL (VALUES
        (24, x.r24::integer, x.created_utc >= t - interval '24 hours'),
        (72, x.r72::integer, x.created_utc >= t - interval '72 hours'),
        (168, x.r168::integer, x.created_utc >= t - interval '168 hours'),
        (720, x.r720::integer, true)
    ) w(hours, rank, inside)
    WHERE s.review = 'Ok' AND w.inside AND w.rank <= keep;
    ANALYZE viral_next;
    DELETE FROM viral_top o WHERE NOT EXISTS (
        SELECT 1 FROM viral_next x
        WHERE x.hours = o.hours AND x.subreddit = o.subreddit AND x.rank = o.rank AND x.reddit_id = o.reddit_id
          AND x.score = o.score AND x.num_comments = o.num_comments AND x.created_utc = o.created_utc
          AND x.upvote_ratio IS NOT DISTINCT FROM o.upvote_ratio AND x.posting_hour = o.posting_hour
          AND x.over18 = o.over18 AND x.primary_category IS NOT DISTINCT FROM o.primary_category);
    INSERT INTO viral_top
    SELECT * FROM viral_next x WHERE NOT EXISTS (
        SELECT 1 FROM viral_top o WHERE o.hours = x.hours AND o.subreddit = x.subreddit AND o.rank = x.rank);
    SELECT count(*) INTO n FROM viral_next;
    CREATE TEMP TABLE viral_sub_next ON COMMIT DROP AS
    SELECT hours, subreddit, over18, primary_category, count(*)::integer AS posts,
           avg(score)::float8 AS avg_score, sum(num_comments)::bigint AS comments
    FROM viral_next GROUP BY hours, subreddit, over18, primary_category;
    DELETE FROM viral_sub o WHERE NOT EXISTS (
        SELECT 1 FROM viral_sub_next x
        WHERE x.hours = o.hours AND x.subreddit = o.subreddit AND x.over18 = o.over18
          AND x.primary_category IS NOT DISTINCT FROM o.primary_category AND x.posts = o.posts
          AND x.avg_score = o.avg_score AND x.comments = o.comments);
    INSERT INTO viral_sub
    SELECT * FROM viral_sub_next x WHERE NOT EXISTS (
        SELECT 1 FROM viral_sub o WHERE o.hours = x.hours AND o.subreddit = x.subreddit);
    DELETE FROM viral_hour;
    INSERT INTO viral_hour
    SELECT hours, over18, primary_category, posting_hour, count(*)::integer, sum(score)::bigint
    FROM viral_next GROUP BY hours, over18, primary_category, posting_hour;
    DROP TABLE viral_sub_next;
    DELETE FROM viral_snapshot WHERE hours NOT IN (24, 72, 168, 720);
    INSERT INTO viral_snapshot (hours, per_subreddit, as_of)
    SELECT h, keep, t FROM unnest(ARRAY[24, 72, 168, 720]) h
    ON CONFLICT (hours) DO UPDATE SET per_subreddit = EXCLUDED.per_subreddit, as_of = EXCLUDED.as_of;
    DROP TABLE viral_next;
    RETURN n;
END
$$;

-- A database that already holds a large read model gets its first snapshot now (2,000 'Ok'
-- subreddits: where the live queries pass ~60 ms each).
SELECT viral_refresh(2000);
