-- Per UTC day of the event time and conversion in force: distinct users and
-- distinct events. Days without any event of a conversion have no row.
-- Every joined subquery has an alias: servers since 20.x refuse one
-- without (joined_subquery_requires_alias).
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
) AS daily
ALL INNER JOIN
(
    SELECT id AS conv_key, type AS conversion_type, position
    FROM {{.InForce}}
) AS in_force USING (conv_key)
ORDER BY day, position
