-- One row per accepted input event. At-least-once delivery may repeat a row;
-- every view counts distinct event_id / user_key, and ReplacingMergeTree
-- folds identical rows away when parts merge.
CREATE TABLE IF NOT EXISTS {{table "events"}} (
    event_id     String,
    type         {{lc}},
    event        {{lc}},
    user_key     String,
    session_id   String,
    ts           {{.TS}},
    ts_ms        Int64,
    received_at  {{.TS}},
    url          String,
    path         String,
    referrer     String,
    utm_source   {{lc}},
    utm_medium   {{lc}},
    utm_campaign {{lc}},
    utm_term     {{lc}},
    utm_content  {{lc}},
    device       {{lc}},
    country      {{lc}},
    properties   String,
    topic        {{lc}},
    `partition`  Int32,
    `offset`     Int64
) ENGINE = {{engine "ReplacingMergeTree" "events"}}
PARTITION BY toYYYYMM(ts)
ORDER BY (event, user_key, ts_ms, event_id)
