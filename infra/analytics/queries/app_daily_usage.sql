-- Usage of each app per UTC day: sessions, unique users, anonymous sessions, publishes and plays,
-- publish- and viewer-minutes, refusals, data messages in and out (the usage aggregates' day totals).
-- A session, stream, refusal or message counts on the day it began; minutes on the days they cover.
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
  SELECT appKey, published, liveAt, LEAST(endAt, liveAt + INTERVAL '14' DAY) AS untilAt
  FROM stream_rows
  WHERE liveAt IS NOT NULL AND endAt IS NOT NULL
),
facts AS (
  SELECT appKey, CAST(startedAt AS DATE) AS day, 'sessions' AS measure, 1 AS amount FROM session_rows
  UNION ALL
  SELECT appKey, CAST(startedAt AS DATE), 'anonymousSessions', 1 FROM session_rows WHERE userId IS NULL
  UNION ALL
  SELECT appKey, day, 'uniqueUsers', 1
  FROM (SELECT DISTINCT appKey, CAST(startedAt AS DATE) AS day, userId FROM session_rows WHERE userId IS NOT NULL) AS users
  UNION ALL
  SELECT appKey, CAST(firstStatusAt AS DATE), CASE WHEN published THEN 'publishes' ELSE 'plays' END, 1 FROM stream_rows
  UNION ALL
  SELECT appKey, CAST(dayStart AS DATE), CASE WHEN published THEN 'publishMs' ELSE 'viewerMs' END,
    date_diff('millisecond', GREATEST(liveAt, dayStart), LEAST(untilAt, dayStart + INTERVAL '1' DAY))
  FROM live_spans
  CROSS JOIN UNNEST(sequence(date_trunc('day', liveAt), date_trunc('day', untilAt), INTERVAL '1' DAY)) AS days (dayStart)
  UNION ALL
  SELECT appKey, CAST(refusedAt AS DATE), 'refusals', 1 FROM refusals WHERE appKey IS NOT NULL AND refusedAt IS NOT NULL
  UNION ALL
  SELECT appKey, CAST(receivedAt AS DATE), CASE WHEN direction = 'OUT' THEN 'dataOut' ELSE 'dataIn' END, 1
  FROM dataMessages
  WHERE appKey IS NOT NULL AND sessionId IS NOT NULL AND receivedAt IS NOT NULL
)
SELECT
  appKey,
  CAST(day AS VARCHAR) AS day,
  SUM(CASE WHEN measure = 'sessions' THEN amount ELSE 0 END) AS sessions,
  SUM(CASE WHEN measure = 'uniqueUsers' THEN amount ELSE 0 END) AS uniqueUsers,
  SUM(CASE WHEN measure = 'anonymousSessions' THEN amount ELSE 0 END) AS anonymousSessions,
  SUM(CASE WHEN measure = 'publishes' THEN amount ELSE 0 END) AS publishes,
  SUM(CASE WHEN measure = 'plays' THEN amount ELSE 0 END) AS plays,
  ROUND(SUM(CASE WHEN measure = 'publishMs' THEN amount ELSE 0 END) / 60000e0, 2) AS publishMinutes,
  ROUND(SUM(CASE WHEN measure = 'viewerMs' THEN amount ELSE 0 END) / 60000e0, 2) AS viewerMinutes,
  SUM(CASE WHEN measure = 'refusals' THEN amount ELSE 0 END) AS refusals,
  SUM(CASE WHEN measure = 'dataIn' THEN amount ELSE 0 END) AS dataIn,
  SUM(CASE WHEN measure = 'dataOut' THEN amount ELSE 0 END) AS dataOut
FROM facts
GROUP BY appKey, day
ORDER BY appKey, day
