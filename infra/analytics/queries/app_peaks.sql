-- Peak concurrent sessions and players of each app per UTC day (`2026-12-07`) and hour
-- (`2026-12-07T14`), and the first minute each was reached (periods where both are 0 are left out).
-- A session (a player: from PLAYING) is present in each minute from the one it began in to the one
-- it ended in; one still open, to the end of its first day; at most 14 days. Each day stands alone.
WITH presence AS (
  SELECT appKey, 's' AS what, COALESCE(generationStartedAt, firstStatusAt) AS fromAt,
    CASE WHEN status IN ('DISCONNECTED', 'FAILED')
      THEN COALESCE(endedAt, generationStartedAt, firstStatusAt) END AS endAt
  FROM sessions
  WHERE appKey IS NOT NULL AND COALESCE(generationStartedAt, firstStatusAt) IS NOT NULL AND refusedAt IS NULL
  UNION ALL
  SELECT appKey, 'p', liveAt,
    CASE WHEN status IN ('UNPUBLISHED', 'STOPPED', 'FAILED')
      THEN GREATEST(COALESCE(endedAt, firstStatusAt), liveAt) END
  FROM streams
  WHERE appKey IS NOT NULL AND name IS NOT NULL AND firstStatusAt IS NOT NULL AND NOT published AND liveAt IS NOT NULL AND refusedAt IS NULL
),
spans AS (
  SELECT appKey, what, date_trunc('minute', fromAt) AS fromMinute,
    CASE WHEN endAt IS NOT NULL
      THEN date_trunc('minute', GREATEST(endAt, fromAt)) + INTERVAL '1' MINUTE END AS afterMinute,
    date_trunc('day', fromAt) + INTERVAL '14' DAY AS limitAt
  FROM presence
),
changes AS (
  SELECT appKey, what, fromMinute AS atMinute, 1 AS delta FROM spans
  UNION ALL
  -- present again at 00:00 of each later day it covers
  SELECT appKey, what, dayStart, 1
  FROM (
    SELECT appKey, what, date_trunc('day', fromMinute) + INTERVAL '1' DAY AS firstLater,
      LEAST(afterMinute, limitAt) - INTERVAL '1' MINUTE AS lastMinute
    FROM spans
    WHERE afterMinute IS NOT NULL AND LEAST(afterMinute, limitAt) > date_trunc('day', fromMinute) + INTERVAL '1' DAY
  ) AS spanning
  CROSS JOIN UNNEST(sequence(firstLater, lastMinute, INTERVAL '1' DAY)) AS later (dayStart)
  UNION ALL
  SELECT appKey, what, afterMinute, -1 FROM spans
  WHERE afterMinute < limitAt AND afterMinute <> date_trunc('day', afterMinute)
),
hour_starts AS (
  -- no change at the start of each hour: its level is what the hour begins with
  SELECT appKey, what, hourStart AS atMinute, 0 AS delta
  FROM (SELECT DISTINCT appKey, what, date_trunc('day', atMinute) AS dayStart FROM changes) AS days
  CROSS JOIN UNNEST(sequence(dayStart, dayStart + INTERVAL '23' HOUR, INTERVAL '1' HOUR)) AS hours (hourStart)
),
levels AS (
  SELECT appKey, what, atMinute,
    SUM(SUM(delta)) OVER (
      PARTITION BY appKey, what, date_trunc('day', atMinute) ORDER BY atMinute
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS level
  FROM (SELECT * FROM changes UNION ALL SELECT * FROM hour_starts) AS all_changes
  GROUP BY appKey, what, atMinute
),
by_period AS (
  SELECT appKey, what, CAST(CAST(atMinute AS DATE) AS VARCHAR) AS period, atMinute, level FROM levels
  UNION ALL
  SELECT appKey, what, CAST(CAST(atMinute AS DATE) AS VARCHAR) || 'T' || lpad(CAST(hour(atMinute) AS VARCHAR), 2, '0'),
    atMinute, level
  FROM levels
),
peaks AS (
  SELECT appKey, what, period, MAX(level) AS peak FROM by_period GROUP BY appKey, what, period
),
peak_minutes AS (
  SELECT k.appKey, k.what, k.period, k.peak, MIN(b.atMinute) AS peakAt
  FROM peaks AS k
  JOIN by_period AS b ON b.appKey = k.appKey AND b.what = k.what AND b.period = k.period AND b.level = k.peak
  WHERE k.peak > 0
  GROUP BY k.appKey, k.what, k.period, k.peak
)
SELECT
  appKey,
  period,
  COALESCE(MAX(CASE WHEN what = 's' THEN peak END), 0) AS peakSessions,
  MAX(CASE WHEN what = 's' THEN peakAt END) AS peakSessionsAt,
  COALESCE(MAX(CASE WHEN what = 'p' THEN peak END), 0) AS peakPlayers,
  MAX(CASE WHEN what = 'p' THEN peakAt END) AS peakPlayersAt
FROM peak_minutes
GROUP BY appKey, period
ORDER BY appKey, period
