-- Every (micro, macro) pair of the rules in force. Population: distinct
-- user_key in events. users_with: users with the micro-conversion;
-- converted_with: of those, users with the macro at or after their first
-- micro; users_without: the rest of the population; converted_without: of
-- those, users with the macro at any time. Rates are 0 when their
-- denominator is 0; lift is rate_with / rate_without, NULL when rate_without
-- is 0. ClickHouse 18.16 allows one JOIN per SELECT, hence the nesting;
-- servers since 20.x want an alias on every joined subquery.
SELECT
    micro,
    macro,
    users_with,
    converted_with,
    users_without,
    converted_without,
    if(users_with = 0, 0., converted_with / users_with) AS rate_with,
    if(users_without = 0, 0., converted_without / users_without) AS rate_without,
    if(rate_without = 0, NULL, rate_with / rate_without) AS lift
FROM
(
    SELECT
        micro, macro, pos_micro, pos_macro,
        a AS users_with,
        d AS converted_with,
        toUInt64(pop - a) AS users_without,
        toUInt64(b - c) AS converted_without
    FROM
    (
        SELECT micro, macro, pos_micro, pos_macro, pop, a, b
        FROM
        (
            SELECT micro, macro, pos_micro, pos_macro, pop, a
            FROM
            (
                SELECT micro, macro, pos_micro, pos_macro, pop
                FROM
                (
                    SELECT micro, macro, pos_micro, pos_macro
                    FROM (SELECT id AS micro, position AS pos_micro FROM {{.InForce}} WHERE type = 'micro') AS micros
                    CROSS JOIN (SELECT id AS macro, position AS pos_macro FROM {{.InForce}} WHERE type = 'macro') AS macros
                ) AS pairs
                CROSS JOIN (SELECT uniqExact(user_key) AS pop FROM {{.DB}}.events) AS population
            ) AS pairs_pop
            ALL LEFT JOIN
            (
                SELECT CAST(conversion AS String) AS micro, uniqExact(user_key) AS a
                FROM {{.DB}}.conversions
                GROUP BY micro
            ) AS with_micro USING (micro)
        ) AS pairs_a
        ALL LEFT JOIN
        (
            SELECT CAST(conversion AS String) AS macro, uniqExact(user_key) AS b
            FROM {{.DB}}.conversions
            GROUP BY macro
        ) AS with_macro USING (macro)
    ) AS pairs_ab
    ALL LEFT JOIN
    (
        SELECT micro, macro, count() AS c, countIf(last_macro >= first_micro) AS d
        FROM
        (
            SELECT user_key, CAST(conversion AS String) AS micro, min(ts_ms) AS first_micro
            FROM {{.DB}}.conversions
            WHERE conversion IN (SELECT id FROM {{.InForce}} WHERE type = 'micro')
            GROUP BY user_key, micro
        ) AS first_micros
        ALL INNER JOIN
        (
            SELECT user_key, CAST(conversion AS String) AS macro, max(ts_ms) AS last_macro
            FROM {{.DB}}.conversions
            WHERE conversion IN (SELECT id FROM {{.InForce}} WHERE type = 'macro')
            GROUP BY user_key, macro
        ) AS last_macros USING (user_key)
        GROUP BY micro, macro
    ) AS pairs_cd USING (micro, macro)
) AS figures
ORDER BY pos_micro, pos_macro
