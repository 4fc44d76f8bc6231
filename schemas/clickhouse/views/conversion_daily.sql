-- Per UTC day of the event time and conversion in force: distinct users and
-- distinct events. Days without any event of a conversion have no row.
SELECT day, conv_key AS conversion, conversion_type, users, events
FROM
(
    SELECT
        toDate(toDateTime(intDiv(ts_ms, 1000), 'UTC')) AS day,
        CAST(conversion AS String) AS conv_key,
        uniqExact(user_key) AS users,
        uniqExact(event_id) AS events
    FROM {{.DB}}.conversions
    WHERE conversion IN (SELECT id FROM {{.InForce}})
    GROUP BY day, conv_key
)
ALL INNER JOIN
(
    SELECT id AS conv_key, type AS conversion_type, position
    FROM {{.InForce}}
) USING (conv_key)
ORDER BY day, position
