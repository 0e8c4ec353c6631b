-- A fact never erases a figure it does not carry: the posting requirements are written only by
-- the facts that compute them (full fetches), newest of those wins, whatever a metadata-only
-- fetch arriving later says. requirements_fact_at/_id = the fact that wrote them.
-- requested_at = earliest occurred_at of a fetch a person asked for: a discovery at or after it
-- is not the subreddit's source (it was added by a person), one before it is.
ALTER TABLE subreddits
    ADD COLUMN requirements_fact_at timestamptz,
    ADD COLUMN requirements_fact_id text,
    ADD COLUMN requested_at timestamptz;
UPDATE subreddits SET requirements_fact_at = fact_at, requirements_fact_id = fact_id
WHERE authors_sampled IS NOT NULL;
UPDATE subreddits SET requested_at = fact_at WHERE requested AND fact_at IS NOT NULL;
