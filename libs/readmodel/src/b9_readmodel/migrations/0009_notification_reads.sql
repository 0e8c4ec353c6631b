-- Which notifications each person has read (issue 23): decisions ``notifications.read`` on DECISIONS,
-- applied by persistence. One row per account: the newest notification read, (created_at, id); a
-- mark only moves forward, so the same account sees the same unread count on every browser.
CREATE TABLE notification_reads (
    account_id text PRIMARY KEY,              -- actor.id of the decision
    read_up_to timestamptz NOT NULL,          -- created_at of the newest notification read
    read_up_to_id text NOT NULL DEFAULT '',   -- its id (ties on created_at)
    decided_at timestamptz NOT NULL,          -- the decision that moved it last
    decision_id text NOT NULL
);

-- The marks are in the decision history too (entity: the account).
ALTER TABLE decision_log DROP CONSTRAINT IF EXISTS decision_log_entity_type_check;
ALTER TABLE decision_log ADD CONSTRAINT decision_log_entity_type_check
    CHECK (entity_type IN ('subreddit', 'user', 'creator', 'model', 'alert_rule', 'account'));
