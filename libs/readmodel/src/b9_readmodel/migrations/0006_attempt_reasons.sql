-- Why each scrape attempt ended as it did (scrape.attempted reason / message / http_status,
-- optional fields: NULL for attempts recorded before the scrapers set them).
ALTER TABLE scrape_attempts
    ADD COLUMN reason text,
    ADD COLUMN message text,
    ADD COLUMN http_status integer;

-- The gateway's "last failures" and "failures by reason today" per scraper read only the
-- attempts that did not succeed, newest first.
CREATE INDEX scrape_attempts_failures ON scrape_attempts (scraper, fact_at DESC)
    WHERE outcome <> 'success';
