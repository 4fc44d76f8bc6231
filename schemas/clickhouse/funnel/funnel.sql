-- Funnel {{.ID}}: users who reached each step at their best attempt
-- (cumulative), from_previous = users / users of the step before (1 for step
-- 1), from_start = users / users of step 1; 0 when a denominator is 0.
SELECT
    step,
    name,
    users,
    if(step = 1, 1., if(prev_users = 0, 0., users / prev_users)) AS from_previous,
    if(start_users = 0, 0., users / start_users) AS from_start
FROM
(
    SELECT
        arrayJoin(arrayEnumerate(counts)) AS step,
        [{{range $i, $s := .Steps}}{{if $i}}, {{end}}'{{$s.Name}}'{{end}}][step] AS name,
        counts[step] AS users,
        if(step = 1, toUInt64(0), counts[step - 1]) AS prev_users,
        counts[1] AS start_users
    FROM
    (
        SELECT [{{range $i, $s := .Steps}}{{if $i}}, {{end}}countIf(level >= {{$s.N}}){{end}}] AS counts
        FROM {{.Users}}
    )
)
ORDER BY step
