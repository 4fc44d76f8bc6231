-- Messages that could not become events, with why. One row per Kafka message
-- (topic, partition, offset); a re-delivery may repeat it, so count distinct
-- (topic, partition, offset), as the rejected_summary view does.
CREATE TABLE IF NOT EXISTS {{table "rejected_events"}} (
    raw          String,
    reason       {{lc}},
    error        String,
    topic        {{lc}},
    `partition`  Int32,
    `offset`     Int64,
    received_at  {{.TS}}
) ENGINE = {{engine "ReplacingMergeTree" "rejected_events"}}
PARTITION BY toYYYYMM(received_at)
ORDER BY (topic, `partition`, `offset`)
