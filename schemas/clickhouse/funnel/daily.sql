-- Funnel {{.ID}} per UTC day of the step-1 event that started each user's
-- best attempt: users per step and from_start within the day.
SELECT
    day,
    step,
    users,
    if(start_users = 0, 0., users / start_users) AS from_start
FROM
(
    SELECT
        day,
        arrayJoin(arrayEnumerate(counts)) AS step,
        counts[step] AS users,
        counts[1] AS start_users
    FROM
    (
        SELECT
            toDate(toDateTime(intDiv(start_ms, 1000), 'UTC')) AS day,
            [{{range $i, $s := .Steps}}{{if $i}}, {{end}}countIf(level >= {{$s.N}}){{end}}] AS counts
        FROM {{.Users}}
        GROUP BY day
    )
)
ORDER BY day, step
