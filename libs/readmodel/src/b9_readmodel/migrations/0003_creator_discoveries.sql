-- The first discovery of each Instagram creator, by lower(username).
--
-- A creator can be discovered several times: by creator.discovered (related-creator discovery,
-- with or without an id), or by a scrape that carries a discovery_source (added by hand, seed).
-- The earliest one wins, ordered by (discovered_at, fact_id): a total order, so the row does not
-- depend on which fact arrived first. The creator row's discovered_at / discovered_via /
-- discovered_followers_count / discovery_source are recomputed from this table (and, for a
-- creator never scraped, its full_name and profile_pic_url) by every writer of creators.
CREATE TABLE instagram_discoveries (
    username_key text PRIMARY KEY,           -- lower(username)
    username text NOT NULL,
    source text NOT NULL,                    -- 'related' | a scrape's discovery_source ('manual', 'seed', ...)
    discovered_at timestamptz NOT NULL,
    discovered_via text,                     -- the creator whose related list named this one
    followers_count integer,                 -- followers seen at discovery
    full_name text NOT NULL DEFAULT '',
    profile_pic_url text,
    fact_id text NOT NULL
);

INSERT INTO instagram_discoveries
SELECT DISTINCT ON (lower(username)) lower(username), username,
       coalesce(discovery_source, 'related'), coalesce(discovered_at, fact_at), discovered_via,
       coalesce(discovered_followers_count, followers_count), full_name, profile_pic_url,
       coalesce(fact_id, '')
FROM instagram_creators
WHERE username IS NOT NULL AND (discovered_at IS NOT NULL OR discovery_source IS NOT NULL)
  AND coalesce(discovered_at, fact_at) IS NOT NULL
ORDER BY lower(username), coalesce(discovered_at, fact_at), fact_id;

-- A creator known only by a discovery is 'pending:<lower(username)>' (one per name, any case).
DROP INDEX instagram_creators_pending;
UPDATE instagram_creators p SET ig_user_id = 'pending:' || lower(p.username)
WHERE p.ig_user_id LIKE 'pending:%' AND p.ig_user_id <> 'pending:' || lower(p.username)
  AND NOT EXISTS (SELECT 1 FROM instagram_creators o WHERE o.ig_user_id = 'pending:' || lower(p.username));
CREATE UNIQUE INDEX instagram_creators_pending ON instagram_creators (lower(username))
    WHERE ig_user_id LIKE 'pending:%';
