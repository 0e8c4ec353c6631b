-- Alerts (issue 23): rules people make (decisions), the notifications rules produce and the
-- delivery log of their webhooks (both DERIVED events from the alerts service).

-- Rule changes appear in the decision history like every other decision.
ALTER TABLE decision_log DROP CONSTRAINT IF EXISTS decision_log_entity_type_check;
ALTER TABLE decision_log ADD CONSTRAINT decision_log_entity_type_check
    CHECK (entity_type IN ('subreddit', 'user', 'creator', 'model', 'alert_rule'));

CREATE TABLE alert_rules (
    id text PRIMARY KEY,                      -- chosen by the publisher (a ULID)
    name text NOT NULL,
    on_type text NOT NULL,                    -- an event or item type (b9_alerts.rules.TARGETS)
    "where" jsonb NOT NULL DEFAULT '{}',
    webhook text,
    slack boolean NOT NULL DEFAULT false,
    repeat text NOT NULL DEFAULT 'once' CHECK (repeat IN ('once', 'every')),
    cap integer NOT NULL DEFAULT 20,
    window_seconds integer NOT NULL DEFAULT 60,
    paused boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL,
    deleted_at timestamptz,                   -- kept as a tombstone: a late update changes nothing
    decided_at timestamptz NOT NULL,          -- (decided_at, decision_id): newer-wins
    decision_id text NOT NULL
);
CREATE INDEX alert_rules_live ON alert_rules (name) WHERE deleted_at IS NULL;

CREATE TABLE notifications (
    id text PRIMARY KEY,                      -- hash(rule, entity, occurrence): once per occurrence
    rule_id text NOT NULL,
    rule_name text NOT NULL,
    on_type text NOT NULL,
    entity text NOT NULL,
    occurrence text NOT NULL,
    title text NOT NULL,
    link text NOT NULL DEFAULT '',
    event_id text NOT NULL DEFAULT '',
    event_type text NOT NULL DEFAULT '',
    event_at timestamptz,
    fields jsonb NOT NULL DEFAULT '{}',
    digest boolean NOT NULL DEFAULT false,
    count integer NOT NULL DEFAULT 1,
    entities text[] NOT NULL DEFAULT '{}',
    replayed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL           -- the notification event's occurred_at
);
CREATE INDEX notifications_time ON notifications (created_at DESC, id DESC);
CREATE INDEX notifications_rule ON notifications (rule_id, created_at DESC);

CREATE TABLE webhook_deliveries (
    delivery_id text PRIMARY KEY,             -- = the notification id (the receiver's idempotency key)
    rule_id text NOT NULL,
    notification_id text NOT NULL,
    url_host text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    attempts integer NOT NULL,
    status integer,
    reason text NOT NULL DEFAULT '',
    duration_ms integer NOT NULL DEFAULT 0,
    at timestamptz NOT NULL,
    event_id text NOT NULL
);
CREATE INDEX webhook_deliveries_rule ON webhook_deliveries (rule_id, at DESC);
