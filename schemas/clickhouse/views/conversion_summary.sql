-- Every rule in force, with 0 for a rule that never matched. users counts
-- distinct user_key, events distinct event_id: duplicates change nothing.
-- Join keys are cast to String: conversion is LowCardinality on new servers.
-- first_seen and last_seen come from ts_ms: DateTime64(3) where the server
-- has it (milliseconds kept), DateTime (seconds) on 18.x/19.x.
SELECT
    conv_key AS conversion,
    conversion_type,
    category,
    users,
    events,
    if(events = 0, NULL, {{ms "min_ms"}}) AS first_seen,
    if(events = 0, NULL, {{ms "max_ms"}}) AS last_seen
FROM
(
    SELECT id AS conv_key, type AS conversion_type, category, position
    FROM {{.InForce}}
) AS in_force
ALL LEFT JOIN
(
    SELECT
        CAST(conversion AS String) AS conv_key,
        uniqExact(user_key) AS users,
        uniqExact(event_id) AS events,
        min(ts_ms) AS min_ms,
        max(ts_ms) AS max_ms
    FROM {{.DB}}.conversions
    GROUP BY conv_key
) AS seen USING (conv_key)
ORDER BY position
