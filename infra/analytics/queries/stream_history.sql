-- Every publish and play of each stream name, oldest first: who (session), where (node), its status
-- and WCS's reason, when it was asked for, went live and ended, and how long it was live.
-- A refused publish or play is not here: it never became a stream (see `refusals`).
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
    THEN ROUND(date_diff('millisecond', liveAt, endedAt) / 60000e0, 2) END AS liveMinutes
FROM streams
WHERE appKey IS NOT NULL AND name IS NOT NULL AND firstStatusAt IS NOT NULL
ORDER BY appKey, name, firstStatusAt
