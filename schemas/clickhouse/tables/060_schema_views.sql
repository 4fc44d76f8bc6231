-- The views microconv manages, with a hash of the SQL each was created
-- from: a view is re-created only when its SQL changes (new rules, a new
-- microconv), and views of removed funnels are dropped. hash '' marks a
-- dropped view. The latest row per name (greatest seq) is current.
CREATE TABLE IF NOT EXISTS {{table "schema_views"}} (
    name  String,
    hash  String,
    seq   UInt64,
    updated_at DateTime
) ENGINE = {{engine "MergeTree" "schema_views"}}
ORDER BY (name, seq)
