-- Refusals of each app per UTC day, by method and reason (the reason's first 200 characters, `-` for
-- none), most first.
SELECT
  appKey,
  CAST(CAST(refusedAt AS DATE) AS VARCHAR) AS day,
  method,
  COALESCE(NULLIF(substr(reason, 1, 200), ''), '-') AS reason,
  COUNT(*) AS refusals
FROM refusals
WHERE appKey IS NOT NULL AND refusedAt IS NOT NULL
GROUP BY appKey, CAST(CAST(refusedAt AS DATE) AS VARCHAR), method, COALESCE(NULLIF(substr(reason, 1, 200), ''), '-')
ORDER BY appKey, day, refusals DESC, method, reason
