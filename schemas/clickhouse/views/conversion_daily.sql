-- Per UTC day of the event time and conversion in force: distinct users and
-- distinct events. Days without any event of a conversion have no row.
SELECT day, conversion, conversion_type, users, events
FROM
(
    SELECT
        toDate(toDateTime(intDiv(ts_ms, 1000), 'UTC')) AS day,
        conversion,
        uniqExact(user_key) AS users,
        uniqExact(event_id) AS events
    FROM {{.DB}}.conversions
    WHERE conversion IN (SELECT id FROM {{.InForce}})
    GROUP BY day, conversion
)
ALL INNER JOIN
(
    SELECT id AS conversion, type AS conversion_type, position
    FROM {{.InForce}}
) USING (conversion)
ORDER BY day, position
