-- Rejected messages by reason, each Kafka message counted once however often
-- it was re-delivered.
SELECT
    reason,
    uniqExact(topic, `partition`, `offset`) AS messages,
    min(received_at) AS first_seen,
    max(received_at) AS last_seen
FROM {{.DB}}.rejected_events
GROUP BY reason
ORDER BY messages DESC, reason
