-- Every funnel definition ever put in force, with the rule set it came with
-- (same version and seq as conversion_rules).
CREATE TABLE IF NOT EXISTS {{.DB}}.conversion_funnels (
    id          String,
    window_ms   Int64,
    steps       Array(String),
    version     String,
    seq         UInt64,
    loaded_at   DateTime
) ENGINE = MergeTree()
ORDER BY (seq, id)
