-- Every rule in force, with 0 for a rule that never matched. users counts
-- distinct user_key, events distinct event_id: duplicates change nothing.
-- Join keys are cast to String: conversion is LowCardinality on new servers.
SELECT
    conv_key AS conversion,
    conversion_type,
    category,
    users,
    events,
    if(events = 0, NULL, min_ts) AS first_seen,
    if(events = 0, NULL, max_ts) AS last_seen
FROM
(
    SELECT id AS conv_key, type AS conversion_type, category, position
    FROM {{.InForce}}
)
ALL LEFT JOIN
(
    SELECT
        CAST(conversion AS String) AS conv_key,
        uniqExact(user_key) AS users,
        uniqExact(event_id) AS events,
        min(ts) AS min_ts,
        max(ts) AS max_ts
    FROM {{.DB}}.conversions
    GROUP BY conv_key
) USING (conv_key)
ORDER BY position
