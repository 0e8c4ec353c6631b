-- A fact never erases a figure it does not carry: a user.fetched saying only that an account
-- is suspended / not found / shadowbanned carries no karma, age or activity, so it leaves the
-- last known ones. profile_fact_at/_id = the newest fact that carried them (availability
-- 'ok'); newest of those wins, in any order.
ALTER TABLE reddit_users
    ADD COLUMN profile_fact_at timestamptz,
    ADD COLUMN profile_fact_id text;
UPDATE reddit_users SET profile_fact_at = fact_at, profile_fact_id = fact_id
WHERE availability = 'ok' AND fact_at IS NOT NULL;
