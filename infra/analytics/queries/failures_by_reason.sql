-- Sessions, publishes and plays that ended FAILED, per app and UTC day they began, by WCS's `info`
-- (its first 200 characters, `-` for none), most first.
WITH failed AS (
  SELECT appKey, COALESCE(generationStartedAt, firstStatusAt) AS startedAt, 'session' AS kind, info
  FROM sessions
  WHERE status = 'FAILED' AND refusedAt IS NULL
  UNION ALL
  SELECT appKey, firstStatusAt, CASE WHEN published THEN 'publish' ELSE 'play' END, info
  FROM streams
  WHERE status = 'FAILED' AND name IS NOT NULL AND refusedAt IS NULL
)
SELECT
  appKey,
  CAST(CAST(startedAt AS DATE) AS VARCHAR) AS day,
  kind,
  COALESCE(NULLIF(substr(info, 1, 200), ''), '-') AS info,
  COUNT(*) AS failures
FROM failed
WHERE appKey IS NOT NULL AND startedAt IS NOT NULL
GROUP BY appKey, CAST(CAST(startedAt AS DATE) AS VARCHAR), kind, COALESCE(NULLIF(substr(info, 1, 200), ''), '-')
ORDER BY appKey, day, failures DESC, kind, info
