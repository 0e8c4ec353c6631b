-- A fact never erases a figure it does not carry: a subreddit.fetched saying only that a
-- subreddit is private / banned / not found / quarantined carries no title, description,
-- subscribers or metrics, so it leaves the last ones known. content_fact_at/_id = the newest
-- fact that carried them (availability 'ok'); newest of those wins, in any order.
ALTER TABLE subreddits
    ADD COLUMN content_fact_at timestamptz,
    ADD COLUMN content_fact_id text;
UPDATE subreddits SET content_fact_at = fact_at, content_fact_id = fact_id
WHERE availability = 'ok' AND fact_at IS NOT NULL;
