-- Average duration of the publishes of each app per UTC day they went live: from PUBLISHING to
-- their end (for a reconciled end, when it happened), over the publishes that went live and ended.
-- Refused publishes never became streams; those that failed before going live are left out.
SELECT
  appKey,
  CAST(CAST(liveAt AS DATE) AS VARCHAR) AS day,
  COUNT(*) AS publishes,
  ROUND(AVG(date_diff('millisecond', liveAt, GREATEST(endedAt, liveAt))) / 60000e0, 2) AS averageMinutes,
  ROUND(MAX(date_diff('millisecond', liveAt, GREATEST(endedAt, liveAt))) / 60000e0, 2) AS longestMinutes
FROM streams
WHERE published AND appKey IS NOT NULL AND name IS NOT NULL AND liveAt IS NOT NULL AND endedAt IS NOT NULL AND refusedAt IS NULL
  AND status IN ('UNPUBLISHED', 'STOPPED', 'FAILED')
GROUP BY appKey, CAST(CAST(liveAt AS DATE) AS VARCHAR)
ORDER BY appKey, day
