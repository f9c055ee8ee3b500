-- Data messages of each session: IN (sent by the client, OnDataEvent) and OUT (sent to it), with
-- the first and last message's time. Sum them per app for all sessions (`app_daily_usage` per day).
SELECT
  appKey,
  sessionId,
  SUM(CASE WHEN direction = 'OUT' THEN 0 ELSE 1 END) AS dataIn,
  SUM(CASE WHEN direction = 'OUT' THEN 1 ELSE 0 END) AS dataOut,
  SUM(COALESCE(payloadBytes, 0)) AS payloadBytes,
  MIN(receivedAt) AS firstAt,
  MAX(receivedAt) AS lastAt
FROM dataMessages
WHERE appKey IS NOT NULL AND sessionId IS NOT NULL AND receivedAt IS NOT NULL
GROUP BY appKey, sessionId
ORDER BY appKey, firstAt
