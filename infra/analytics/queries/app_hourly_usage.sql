-- Usage of each app per UTC hour (`2026-12-07T14`): sessions, anonymous sessions, publishes and
-- plays, publish- and viewer-minutes, refusals, data messages in and out (the usage aggregates' hour
-- totals). Minutes are spread over the hours they cover, at most 24 hours from the hour they began.
WITH session_rows AS (
  SELECT appKey, COALESCE(generationStartedAt, firstStatusAt) AS startedAt, NULLIF(userId, '') AS userId
  FROM sessions
  WHERE appKey IS NOT NULL AND COALESCE(generationStartedAt, firstStatusAt) IS NOT NULL AND refusedAt IS NULL
),
stream_rows AS (
  SELECT appKey, published, firstStatusAt, liveAt,
    CASE WHEN status IN ('UNPUBLISHED', 'STOPPED', 'FAILED')
      THEN GREATEST(COALESCE(endedAt, firstStatusAt), COALESCE(liveAt, firstStatusAt)) END AS endAt
  FROM streams
  WHERE appKey IS NOT NULL AND name IS NOT NULL AND firstStatusAt IS NOT NULL AND refusedAt IS NULL
),
live_spans AS (
  SELECT appKey, published, liveAt, LEAST(endAt, date_trunc('hour', liveAt) + INTERVAL '24' HOUR) AS untilAt
  FROM stream_rows
  WHERE liveAt IS NOT NULL AND endAt IS NOT NULL
),
facts AS (
  SELECT appKey, date_trunc('hour', startedAt) AS hourStart, 'sessions' AS measure, 1 AS amount FROM session_rows
  UNION ALL
  SELECT appKey, date_trunc('hour', startedAt), 'anonymousSessions', 1 FROM session_rows WHERE userId IS NULL
  UNION ALL
  SELECT appKey, date_trunc('hour', firstStatusAt), CASE WHEN published THEN 'publishes' ELSE 'plays' END, 1
  FROM stream_rows
  UNION ALL
  SELECT appKey, hourStart, CASE WHEN published THEN 'publishMs' ELSE 'viewerMs' END,
    date_diff('millisecond', GREATEST(liveAt, hourStart), LEAST(untilAt, hourStart + INTERVAL '1' HOUR))
  FROM live_spans
  CROSS JOIN UNNEST(sequence(date_trunc('hour', liveAt), date_trunc('hour', untilAt), INTERVAL '1' HOUR)) AS hours (hourStart)
  WHERE untilAt > hourStart
  UNION ALL
  SELECT appKey, date_trunc('hour', refusedAt), 'refusals', 1 FROM refusals WHERE appKey IS NOT NULL AND refusedAt IS NOT NULL
  UNION ALL
  SELECT appKey, date_trunc('hour', receivedAt), CASE WHEN direction = 'OUT' THEN 'dataOut' ELSE 'dataIn' END, 1
  FROM dataMessages
  WHERE appKey IS NOT NULL AND sessionId IS NOT NULL AND receivedAt IS NOT NULL
)
SELECT
  appKey,
  CAST(CAST(hourStart AS DATE) AS VARCHAR) || 'T' || lpad(CAST(hour(hourStart) AS VARCHAR), 2, '0') AS hour,
  SUM(CASE WHEN measure = 'sessions' THEN amount ELSE 0 END) AS sessions,
  SUM(CASE WHEN measure = 'anonymousSessions' THEN amount ELSE 0 END) AS anonymousSessions,
  SUM(CASE WHEN measure = 'publishes' THEN amount ELSE 0 END) AS publishes,
  SUM(CASE WHEN measure = 'plays' THEN amount ELSE 0 END) AS plays,
  ROUND(SUM(CASE WHEN measure = 'publishMs' THEN amount ELSE 0 END) / 60000e0, 2) AS publishMinutes,
  ROUND(SUM(CASE WHEN measure = 'viewerMs' THEN amount ELSE 0 END) / 60000e0, 2) AS viewerMinutes,
  SUM(CASE WHEN measure = 'refusals' THEN amount ELSE 0 END) AS refusals,
  SUM(CASE WHEN measure = 'dataIn' THEN amount ELSE 0 END) AS dataIn,
  SUM(CASE WHEN measure = 'dataOut' THEN amount ELSE 0 END) AS dataOut
FROM facts
GROUP BY appKey, hourStart
ORDER BY appKey, hour
