-- Every session of each token user, open and closed, oldest first (anonymous sessions have no user:
-- they are counted in `app_daily_usage.anonymousSessions`). `startedAt` is the first hook of the
-- session's current generation; `endedAt` when it ended (for a reconciled end, when it happened).
SELECT
  userId,
  appKey,
  sessionId,
  generation,
  status,
  info,
  nodeId,
  COALESCE(generationStartedAt, firstStatusAt) AS startedAt,
  endedAt,
  CASE WHEN endedAt IS NOT NULL
    THEN ROUND(date_diff('millisecond', COALESCE(generationStartedAt, firstStatusAt), endedAt) / 60000e0, 2)
  END AS durationMinutes
FROM sessions
WHERE userId IS NOT NULL AND userId <> '' AND COALESCE(generationStartedAt, firstStatusAt) IS NOT NULL
  AND refusedAt IS NULL
ORDER BY userId, startedAt
