-- Funnel {{.ID}}: seconds from step 1 to each step over the best attempts of
-- the users who reached it: mean, median (mean of the two middle values when
-- their number is even) and p90 (nearest rank: the ceil(0.9 n)-th smallest).
-- NULL when no user reached the step.
SELECT
    step,
    users,
    if(users = 0, NULL, arraySum(d) / users) AS avg_seconds,
    if(users = 0, NULL, if(users % 2 = 1, d[intDiv(users, 2) + 1], (d[intDiv(users, 2)] + d[intDiv(users, 2) + 1]) / 2)) AS median_seconds,
    if(users = 0, NULL, d[intDiv(9 * users + 9, 10)]) AS p90_seconds
FROM
(
    SELECT
        arrayJoin(arrayEnumerate(ds)) AS step,
        ds[step] AS d,
        length(d) AS users
    FROM
    (
        SELECT [{{range $i, $s := .Steps}}{{if $i}}, {{end}}arraySort(groupArrayIf((step_ms[{{$s.N}}] - step_ms[1]) / 1000, level >= {{$s.N}})){{end}}] AS ds
        FROM {{.Users}}
    )
)
ORDER BY step
