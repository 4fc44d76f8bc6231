-- Every rule in force, with 0 for a rule that never matched. users counts
-- distinct user_key, events distinct event_id: duplicates change nothing.
SELECT
    conversion,
    conversion_type,
    category,
    users,
    events,
    if(events = 0, NULL, min_ts) AS first_seen,
    if(events = 0, NULL, max_ts) AS last_seen
FROM
(
    SELECT id AS conversion, type AS conversion_type, category, position
    FROM {{.InForce}}
)
ALL LEFT JOIN
(
    SELECT
        conversion,
        uniqExact(user_key) AS users,
        uniqExact(event_id) AS events,
        min(ts) AS min_ts,
        max(ts) AS max_ts
    FROM {{.DB}}.conversions
    GROUP BY conversion
) USING (conversion)
ORDER BY position
