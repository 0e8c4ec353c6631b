-- People's decisions (stream DECISIONS) in the read model.
--
-- decision_log: every decision once (keyed by its event id), the history detail pages show.
-- *_decided_at / *_decision_id: the (occurred_at, id) of the decision that wrote a people-owned
-- column; an older decision arriving late does not overwrite a newer one, and facts never
-- write these columns.
CREATE TABLE decision_log (
    id text PRIMARY KEY,                      -- the decision event's id
    type text NOT NULL,                       -- event type, e.g. subreddit.reviewed
    entity_type text NOT NULL CHECK (entity_type IN ('subreddit', 'user', 'creator', 'model')),
    entity_id text NOT NULL,                  -- lower(name) | lower(username) | ig_user_id | model id
    field text NOT NULL,                      -- review | tags | our_creator | model | niche | model
    before jsonb,
    after jsonb,
    actor_id text NOT NULL,
    actor_name text NOT NULL,
    actor_role text NOT NULL,
    channel text NOT NULL,
    batch text,
    decided_at timestamptz NOT NULL
);
CREATE INDEX decision_log_entity ON decision_log (entity_type, entity_id, decided_at DESC, id DESC);
CREATE INDEX decision_log_time ON decision_log (decided_at DESC, id DESC);
CREATE INDEX decision_log_actor ON decision_log (actor_id, decided_at DESC);

ALTER TABLE subreddits
    ADD COLUMN review_decided_at timestamptz,
    ADD COLUMN review_decision_id text,
    ADD COLUMN tags_decision_id text;

ALTER TABLE reddit_users
    ADD COLUMN our_creator_decided_at timestamptz,
    ADD COLUMN our_creator_decision_id text,
    ADD COLUMN model_decided_at timestamptz,
    ADD COLUMN model_decision_id text;

ALTER TABLE instagram_creators
    ADD COLUMN review_decision_id text,
    ADD COLUMN niche_decided_at timestamptz,
    ADD COLUMN niche_decision_id text;

-- Models are created by decisions with the id the publisher chose (no serial in a rebuild).
ALTER TABLE models
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN decision_id text,
    ADD COLUMN created_by text,
    ADD COLUMN updated_by text;
ALTER TABLE models ALTER COLUMN id DROP IDENTITY IF EXISTS;

-- A deleted model stays deleted: a late create/update/link for it is ignored.
CREATE TABLE model_tombstones (
    model_id bigint PRIMARY KEY,
    deleted_at timestamptz NOT NULL,
    decision_id text NOT NULL
);
