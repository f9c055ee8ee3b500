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

/** A threshold alarm (`state/monitoring.ts`) as `/alarm` carries it: `RAISED`, or `CLEARED` once back within. */
export function thresholdAlarmView(item: Record<string, unknown>, state: 'RAISED' | 'CLEARED') {
  return {
    type: 'alarm',
    alarm: 'THRESHOLD',
    state,
    id: item.alarmId,
    name: item.alarmName,
    metric: item.metric,
    threshold: item.threshold,
    above: item.above,
    value: item.value,
    node: item.nodeId,
    mediaId: item.mediaId,
    ...(item.name !== undefined && { stream: item.name }),
    breachSince: item.breachSince,
    raisedAt: item.raisedAt,
    timestamp: state === 'RAISED' ? item.raisedAt : Date.now(),
  };
}

/**
 * A node's status (`state/monitoring.ts`) as `node_status/list` answers it: OAM's fields (id,
 * connected, connect time and counter, rate), then what the poller and the hooks tell: its state
 * (`up`, `unusable`, `unreachable`, `silent`, `lost`, `not-asked`) since when and why, its last
 * reconciliation and how long ago, and the running totals of what reconciliations and losses ended
 * and found on it. `now` is when the view is made (for `lastReconciledAgoS`).
 */
export function nodeStatusView(item: Readonly<Record<string, unknown>>, now = Date.now()) {
  const reconciledAt = typeof item.lastReconciledAt === 'number' ? item.lastReconciledAt : undefined;
  return {
    id: item.nodeId,
    host: item.host,
    connected: item.connected ?? false,
    connectTimestamp: item.connectTimestamp ?? null,
    connectCounter: item.connectCounter ?? 0,
    rate: item.rate ?? 0,
    state: item.state ?? 'not polled yet',
    stateSince: item.stateSince ?? null,
    stateReason: item.stateReason ?? null,
    firstContactAt: item.firstContactAt ?? null,
    lastContactAt: item.lastContactAt ?? null,
    contactCounter: item.contactCounter ?? 0,
    downSince: item.downSince ?? null,
    downReason: item.downReason ?? null,
    unreachableSince: item.unreachableSince ?? null,
    lostAt: item.lostAt ?? null,
    firstHookAt: item.firstHookAt ?? null,
    lastHookAt: item.lastHookAt ?? null,
    signedHookAt: item.signedHookAt ?? null,
    lastReconciledAt: reconciledAt ?? null,
    lastReconciledAgoS:
      reconciledAt === undefined ? null : Math.max(0, Math.round((now - reconciledAt) / 1000)),
    lastReconcile: item.lastReconcile ?? null,
    reconciledTotals: {
      sessionsEnded: item.sessionsEndedTotal ?? 0,
      streamsEnded: item.streamsEndedTotal ?? 0,
      sessionsFound: item.sessionsFoundTotal ?? 0,
      streamsFound: item.streamsFoundTotal ?? 0,
    },
  };
}

/** A node's status as `/topic/nodes` carries it: the same fields. */
export const nodeView = (item: Readonly<Record<string, unknown>>) => ({
  type: 'node',
  ...nodeStatusView(item),
});
