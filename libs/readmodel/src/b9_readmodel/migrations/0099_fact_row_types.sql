-- Row types of persistence's hot writers (b9_persistence.writers_reddit, writers_users): a batch
-- of subreddit.fetched, its snapshots or user.fetched goes to PostgreSQL as ONE array parameter of
-- one of these types (`unnest($1::fetched_subreddit[]) AS s`) instead of one array per column (47
-- for a subreddit). asyncpg checks every element of an array parameter against the collection
-- ABCs before encoding it (a few hundred ns each, the top item of persistence's profile for
-- rescrapes); a record is checked once and its fields encoded as a COPY row's are. No table: a
-- transaction that touches no temporary table skips the staging tables' ON COMMIT truncation.
-- The fields follow the writers' column lists exactly (SUB_STAGED, SNAP_COLS, USER_COLS; checked
-- by tests/persistence/test_fact_row_types.py): a column added to a writer needs the type changed
-- by a migration too.
CREATE TYPE fetched_subreddit AS (
    name                  text,
    availability          text,
    reddit_id             text,
    title                 text,
    public_description    text,
    description           text,
    subscribers           integer,
    active_users          integer,
    created_utc           timestamptz,
    over18                boolean,
    subreddit_type        text,
    lang                  text,
    url                   text,
    icon_img              text,
    banner_img            text,
    primary_color         text,
    allow_images          boolean,
    allow_videos          boolean,
    allow_polls           boolean,
    spoilers_enabled      boolean,
    quarantine            boolean,
    submit_text           text,
    submission_type       text,
    rules                 jsonb,
    posts_sampled         integer,
    avg_upvotes_per_post  double precision,
    engagement            double precision,
    subreddit_score       double precision,
    metrics_formula       text,
    min_post_karma        integer,
    min_comment_karma     integer,
    min_account_age_days  integer,
    best_posting_hour     smallint,
    best_posting_day      smallint,
    authors_sampled       integer,
    verification_required boolean,
    suggested_review      text,
    requested             boolean,
    review                text,
    review_source         text,
    requirements_fact_at  timestamptz,
    requirements_fact_id  text,
    content_fact_at       timestamptz,
    content_fact_id       text,
    fact_at               timestamptz,
    fact_id               text,
    requested_at          timestamptz
);
CREATE TYPE fetched_subreddit_snapshot AS (
    subreddit            text,
    fact_at              timestamptz,
    fact_id              text,
    subscribers          integer,
    active_users         integer,
    posts_sampled        integer,
    avg_upvotes_per_post double precision,
    engagement           double precision,
    subreddit_score      double precision
);
CREATE TYPE fetched_reddit_user AS (
    username               text,
    availability           text,
    reddit_id              text,
    created_utc            timestamptz,
    account_age_days       integer,
    link_karma             integer,
    comment_karma          integer,
    total_karma            integer,
    karma_per_day          double precision,
    is_gold                boolean,
    is_mod                 boolean,
    verified               boolean,
    has_verified_email     boolean,
    icon_img               text,
    bio                    text,
    bio_url                text,
    avg_post_score         double precision,
    avg_post_comments      double precision,
    preferred_content_type text,
    most_active_hour       smallint,
    most_active_day        smallint,
    posts_sampled          integer,
    profile_fact_at        timestamptz,
    profile_fact_id        text,
    requested              boolean,
    fact_at                timestamptz,
    fact_id                text
);
