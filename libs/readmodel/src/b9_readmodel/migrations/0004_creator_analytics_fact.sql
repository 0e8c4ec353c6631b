-- A fact never erases a figure it does not carry: a creator.scraped of a private account has
-- no media, so its analytics are not computed from anything; the figures of the last scrape
-- that read media stay. analytics_fact_at/_id = the newest fact that carried them
-- (availability 'ok' or 'empty'); newest of those wins, in any order.
ALTER TABLE instagram_creators
    ADD COLUMN analytics_fact_at timestamptz,
    ADD COLUMN analytics_fact_id text;
UPDATE instagram_creators SET analytics_fact_at = fact_at, analytics_fact_id = fact_id
WHERE availability IN ('ok', 'empty') AND fact_at IS NOT NULL;
