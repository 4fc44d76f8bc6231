-- Funnel {{.ID}}: one row per user who reached step 1, at their best attempt.
-- A user's funnel events are their distinct events (event_id) of the step
-- conversions, each with its time (ms) and a mask of the steps it can fill,
-- sorted by (time, highest step it can fill, event_id): among events of the
-- same millisecond, one that can only serve earlier steps is used first,
-- which fills the most steps when the steps an event can fill are
-- contiguous (as with interval scheduling). The lambdas read
-- only the numeric arrays T (times) and M (masks): captured arrays are copied
-- per element on old servers, so strings stay out of them. From every step-1
-- event, each next step takes the first unused event of that step whose time
-- is >= the previous step's and <= the start + window ({{.WindowMS}} ms,
-- inclusive): one event never fills two steps, other events may come between.
-- level is the best number of steps reached; the best attempt is the first
-- start reaching it; step_ms holds its time of each step (0 when not reached)
-- and the start event gives the first-touch attributes.
SELECT
    user_key,
    level,
    start_ms,
    step_ms,
    start_event_id,
    utm_source,
    utm_medium,
    utm_campaign,
    device,
    country
FROM
(
    SELECT
        user_key,
        arrayMap(e -> tupleElement(e, 1), evs) AS T,
        arrayMap(e -> tupleElement(e, 2), evs) AS M,
        arrayEnumerate(evs) AS idx,
        arrayFilter(i -> bitAnd(M[i], 1) != 0, idx) AS starts,
        arrayMap(i -> [toUInt32(i)], starts) AS a1,
{{- range .Steps}}{{if gt .N 1}}
        arrayMap(p -> arrayPushBack(p, if(p[{{.Prev}}] = 0, toUInt32(0), toUInt32(arrayFirstIndex((t, m, j) ->
            bitAnd(m, {{.Bit}}) != 0 AND t >= T[p[{{.Prev}}]] AND t <= T[p[1]] + {{$.WindowMS}} AND NOT has(p, j),
            T, M, idx)))), a{{.Prev}}) AS a{{.N}},
{{- end}}{{end}}
        arrayMap(p -> arrayCount(x -> x != 0, p), a{{.NSteps}}) AS levels,
        arrayReduce('max', levels) AS level,
        arrayElement(a{{.NSteps}}, arrayFirstIndex(l -> l = level, levels)) AS best,
        arrayMap(x -> if(x = 0, toInt64(0), T[x]), best) AS step_ms,
        step_ms[1] AS start_ms,
        tupleElement(evs[best[1]], 4) AS start_event_id,
        tupleElement(evs[best[1]], 5) AS utm_source,
        tupleElement(evs[best[1]], 6) AS utm_medium,
        tupleElement(evs[best[1]], 7) AS utm_campaign,
        tupleElement(evs[best[1]], 8) AS device,
        tupleElement(evs[best[1]], 9) AS country
    FROM
    (
        SELECT
            user_key,
            arraySort(e -> (tupleElement(e, 1), tupleElement(e, 3), tupleElement(e, 4)),
                groupArray((t, m, hs, eid, us, um, uc, dv, cy))) AS evs
        FROM
        (
            SELECT
                user_key,
                event_id AS eid,
                min(ts_ms) AS t,
                groupBitOr(multiIf({{range .Convs}}conversion = '{{.Name}}', toUInt64({{.Mask}}), {{end}}toUInt64(0))) AS m,
                {{range .Steps}}toUInt8(m >= {{.Bit}}) + {{end}}0 AS hs,
                toString(any(utm_source)) AS us,
                toString(any(utm_medium)) AS um,
                toString(any(utm_campaign)) AS uc,
                toString(any(device)) AS dv,
                toString(any(country)) AS cy
            FROM {{.DB}}.conversions
            WHERE conversion IN ({{range $i, $c := .Convs}}{{if $i}}, {{end}}'{{$c.Name}}'{{end}})
            GROUP BY user_key, event_id
        )
        GROUP BY user_key
        HAVING bitAnd(groupBitOr(m), 1) != 0
    )
)
WHERE level > 0
