-- Each publish of each stream name: when it went live (or was asked for, if it never did) and ended,
-- its duration, its players (plays of the name that went live from its first minute to its last),
-- their viewer-minutes, and the peak of players present in one minute, with the first minute it was
-- reached. A publish still going on is counted to now.
WITH stream_rows AS (
  SELECT appKey, name, mediaSessionId, published, status, firstStatusAt, liveAt,
    CASE WHEN status IN ('UNPUBLISHED', 'STOPPED', 'FAILED')
      THEN GREATEST(COALESCE(endedAt, firstStatusAt), COALESCE(liveAt, firstStatusAt)) END AS endAt
  FROM streams
  WHERE appKey IS NOT NULL AND name IS NOT NULL AND firstStatusAt IS NOT NULL AND refusedAt IS NULL
),
publishes AS (
  SELECT appKey, name, mediaSessionId, COALESCE(liveAt, firstStatusAt) AS startAt, endAt,
    liveAt IS NOT NULL AS live, status = 'FAILED' AS failed,
    date_trunc('minute', COALESCE(liveAt, firstStatusAt)) AS fromMinute,
    date_trunc('minute', COALESCE(endAt, localtimestamp)) AS toMinute
  FROM stream_rows
  WHERE published
),
plays AS (
  SELECT appKey, name, liveAt, endAt, date_trunc('minute', liveAt) AS fromMinute,
    CASE WHEN endAt IS NOT NULL THEN date_trunc('minute', endAt) + INTERVAL '1' MINUTE END AS afterMinute,
    date_trunc('day', liveAt) + INTERVAL '14' DAY AS limitAt
  FROM stream_rows
  WHERE NOT published AND liveAt IS NOT NULL
),
changes AS (
  SELECT appKey, name, fromMinute AS atMinute, 1 AS delta FROM plays
  UNION ALL
  SELECT appKey, name, dayStart, 1
  FROM (
    SELECT appKey, name, date_trunc('day', fromMinute) + INTERVAL '1' DAY AS firstLater,
      LEAST(afterMinute, limitAt) - INTERVAL '1' MINUTE AS lastMinute
    FROM plays
    WHERE afterMinute IS NOT NULL AND LEAST(afterMinute, limitAt) > date_trunc('day', fromMinute) + INTERVAL '1' DAY
  ) AS spanning
  CROSS JOIN UNNEST(sequence(firstLater, lastMinute, INTERVAL '1' DAY)) AS later (dayStart)
  UNION ALL
  SELECT appKey, name, afterMinute, -1 FROM plays
  WHERE afterMinute < limitAt AND afterMinute <> date_trunc('day', afterMinute)
),
levels AS (
  SELECT appKey, name, atMinute,
    SUM(SUM(delta)) OVER (
      PARTITION BY appKey, name, date_trunc('day', atMinute) ORDER BY atMinute
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS level
  FROM changes
  GROUP BY appKey, name, atMinute
),
window_levels AS (
  -- the players present in each minute of the publish that changed, and as it began
  SELECT p.mediaSessionId, l.atMinute, l.level
  FROM publishes AS p
  JOIN levels AS l ON l.appKey = p.appKey AND l.name = p.name AND l.atMinute > p.fromMinute AND l.atMinute <= p.toMinute
  UNION ALL
  SELECT p.mediaSessionId, p.fromMinute, max_by(l.level, l.atMinute)
  FROM publishes AS p
  JOIN levels AS l ON l.appKey = p.appKey AND l.name = p.name
    AND l.atMinute <= p.fromMinute AND l.atMinute >= date_trunc('day', p.fromMinute)
  GROUP BY p.mediaSessionId, p.fromMinute
),
peaks AS (
  SELECT mediaSessionId, MAX(level) AS peak FROM window_levels GROUP BY mediaSessionId
),
peak_minutes AS (
  SELECT k.mediaSessionId, k.peak, MIN(w.atMinute) AS peakAt
  FROM peaks AS k
  JOIN window_levels AS w ON w.mediaSessionId = k.mediaSessionId AND w.level = k.peak
  WHERE k.peak > 0
  GROUP BY k.mediaSessionId, k.peak
),
players AS (
  SELECT p.mediaSessionId, COUNT(*) AS players,
    SUM(CASE WHEN y.endAt IS NOT NULL THEN date_diff('millisecond', y.liveAt, y.endAt) ELSE 0 END) AS viewerMs
  FROM publishes AS p
  JOIN plays AS y ON y.appKey = p.appKey AND y.name = p.name
    AND y.fromMinute >= p.fromMinute AND y.fromMinute <= p.toMinute
  GROUP BY p.mediaSessionId
)
SELECT
  p.appKey,
  p.name,
  p.mediaSessionId,
  p.startAt AS startedAt,
  p.endAt AS endedAt,
  ROUND(date_diff('millisecond', p.startAt, p.endAt) / 60000e0, 2) AS durationMinutes,
  p.live,
  p.failed,
  COALESCE(y.players, 0) AS players,
  ROUND(COALESCE(y.viewerMs, 0) / 60000e0, 2) AS viewerMinutes,
  COALESCE(k.peak, 0) AS peakPlayers,
  k.peakAt AS peakPlayersAt
FROM publishes AS p
LEFT JOIN players AS y ON y.mediaSessionId = p.mediaSessionId
LEFT JOIN peak_minutes AS k ON k.mediaSessionId = p.mediaSessionId
ORDER BY p.appKey, p.name, p.startAt
