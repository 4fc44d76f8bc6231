-- Funnel {{.ID}} by first touch: users per step for each value of
-- utm_source, utm_medium, utm_campaign, device and country, taken from the
-- event that started each user's best attempt.
SELECT
    dimension,
    value,
    step,
    name,
    users,
    if(step = 1, 1., if(prev_users = 0, 0., users / prev_users)) AS from_previous,
    if(start_users = 0, 0., users / start_users) AS from_start
FROM
(
    SELECT
        dimension,
        value,
        arrayJoin(arrayEnumerate(counts)) AS step,
        [{{range $i, $s := .Steps}}{{if $i}}, {{end}}'{{$s.Name}}'{{end}}][step] AS name,
        counts[step] AS users,
        if(step = 1, toUInt64(0), counts[step - 1]) AS prev_users,
        counts[1] AS start_users
    FROM
    (
        SELECT
            dimension,
            value,
            [{{range $i, $s := .Steps}}{{if $i}}, {{end}}countIf(level >= {{$s.N}}){{end}}] AS counts
        FROM
        (
            SELECT
                level,
                arrayJoin([('utm_source', utm_source), ('utm_medium', utm_medium), ('utm_campaign', utm_campaign), ('device', device), ('country', country)]) AS dv,
                tupleElement(dv, 1) AS dimension,
                tupleElement(dv, 2) AS value
            FROM {{.Users}}
        )
        GROUP BY dimension, value
    )
)
ORDER BY indexOf(['utm_source', 'utm_medium', 'utm_campaign', 'device', 'country'], dimension), value, step
