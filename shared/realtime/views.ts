/**
 * Stream and session items as the monitoring API shows them: WCS OAM's field names where OAM has
 * one (reference §5). The realms and the topics show the same fields the same way.
 */

/** What identifies a stream, in OAM's names. */
export function streamFields(item: Record<string, unknown>) {
  return {
    name: item.name,
    mediaId: item.mediaSessionId,
    sessionId: item.sessionId,
    app: item.appKey,
    node: item.nodeId,
    publisher: item.published,
  };
}
