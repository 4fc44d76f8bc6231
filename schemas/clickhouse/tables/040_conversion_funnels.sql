-- Every funnel definition ever put in force, with the rule set it came with
-- (same version and seq as conversion_rules).
CREATE TABLE IF NOT EXISTS {{table "conversion_funnels"}} (
    id          String,
    window_ms   Int64,
    steps       Array(String),
    version     String,
    seq         UInt64,
    loaded_at   DateTime
) ENGINE = {{engine "MergeTree" "conversion_funnels"}}
ORDER BY (seq, id)
