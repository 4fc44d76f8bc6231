-- Every rule set ever put in force, one row per rule. The rules in force are
-- the rows with the greatest seq; version is the rule set's content hash
-- (conversions.rules_version refers to it).
CREATE TABLE IF NOT EXISTS {{table "conversion_rules"}} (
    id          String,
    type        String,
    category    String,
    description String,
    position    UInt32,
    version     String,
    seq         UInt64,
    loaded_at   DateTime
) ENGINE = {{engine "MergeTree" "conversion_rules"}}
ORDER BY (seq, id)
