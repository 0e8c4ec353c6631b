-- b9 read model: bootstrap. Later migrations add the tables.
CREATE TABLE IF NOT EXISTS b9_meta (
    key text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
