-- Every publish and play of each stream name, oldest first: who (session), where (node), its status
-- and WCS's reason, when it was asked for, went live and ended, and how long it was live.
-- A refused publish or play is here as `refused`, with the refusal's reason (WCS's FAILED after the
-- 403 made it an item); it is counted in no publish or play total (see `refusals`).
SELECT
  appKey,
  name,
  CASE WHEN published THEN 'publish' ELSE 'play' END AS kind,
  sessionId,
  mediaSessionId,
  nodeId,
  status,
  info,
  firstStatusAt,
  liveAt,
  endedAt,
  CASE WHEN liveAt IS NOT NULL AND endedAt IS NOT NULL AND endedAt > liveAt
    THEN ROUND(date_diff('millisecond', liveAt, endedAt) / 60000e0, 2) END AS liveMinutes,
  refusedAt IS NOT NULL AS refused,
  refusal
FROM streams
WHERE appKey IS NOT NULL AND name IS NOT NULL AND firstStatusAt IS NOT NULL
ORDER BY appKey, name, firstStatusAt
