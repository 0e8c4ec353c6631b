-- Partial model updates: newer wins per field, not per row. field_versions maps a field name to
-- the "<occurred_at UTC, fixed width>|<decision id>" of the decision that last wrote it, so an
-- older update of another field arriving late is still applied and a late one of the same field
-- is not (order-independent, like every other people-owned column).
ALTER TABLE models ADD COLUMN field_versions jsonb NOT NULL DEFAULT '{}';
