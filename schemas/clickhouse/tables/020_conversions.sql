-- One row per (conversion, event) pair: an event that matches several rules
-- has several rows. ts_ms is the event time in Unix milliseconds: funnels
-- order steps by it (ts is second-resolution DateTime on old servers).
CREATE TABLE IF NOT EXISTS {{table "conversions"}} (
    conversion      {{lc}},
    conversion_type {{lc}},
    category        {{lc}},
    event_id        String,
    event           {{lc}},
    user_key        String,
    session_id      String,
    ts              {{.TS}},
    ts_ms           Int64,
    value           Nullable(Float64),
    utm_source      {{lc}},
    utm_medium      {{lc}},
    utm_campaign    {{lc}},
    utm_term        {{lc}},
    utm_content     {{lc}},
    device          {{lc}},
    country         {{lc}},
    rules_version   {{lc}},
    received_at     {{.TS}}
) ENGINE = {{engine "ReplacingMergeTree" "conversions"}}
PARTITION BY toYYYYMM(ts)
ORDER BY (conversion, user_key, ts_ms, event_id)
