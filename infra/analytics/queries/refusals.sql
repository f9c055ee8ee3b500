-- Each refused hook, oldest first: its app, method (connect, publishStream, playStream, OnDataEvent,
-- StreamKeepAliveEvent), reason, and the session it named (when it named one).
SELECT appKey, refusedAt, method, reason, sessionId
FROM refusals
WHERE appKey IS NOT NULL AND refusedAt IS NOT NULL
ORDER BY refusedAt, appKey
