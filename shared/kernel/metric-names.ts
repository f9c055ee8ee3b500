/** Metric names, as they appear on the dashboard and in alarms; no emitter here (the CDK stack imports it). */
export const METRIC = {
  /** Every hook answered 200, by `method`. */
  hooks: 'Hooks',
  /** Hooks refused with a 4xx, by `method` and `error`. */
  rejected: 'HookRejected',
  /** Hooks that failed with a 5xx, by `method`. */
  errors: 'HookErrors',
  /** Time to answer a hook, in milliseconds, by `method`. */
  latency: 'HookLatency',
  /** Decision hooks that admitted (200), by `method`. Refusals are `HookRejected` with `error` Forbidden. */
  admitted: 'Admitted',
  /** Event hooks spilled (the database failed or was slow) to be replayed later, by `method`. */
  spilled: 'HookSpilled',
  /** Spilled event hooks that can never be written, moved to the spill dead-letter queue with the reason. */
  spillDeadLettered: 'SpillDeadLettered',
  /** Decisions answered by their fail mode (deadline or dependency failure), by `method` and `failMode`. */
  decisionFallback: 'DecisionFallback',
  /** Operator API requests answered (`/api/...`), by `route`. */
  apiRequests: 'ApiRequests',
  /** Sends that failed on the node's configuration: not confirmed as a WCS REST API (a wrong URL), or refused (outside the allowed networks, not `<id>@<ip>`). */
  wcsNodeMisconfigured: 'WcsNodeMisconfigured',
  /** WCS nodes the poller found down in a run (no answer, 5xx, garbage, credentials refused), by `reason`. */
  wcsNodeDown: 'WcsNodeDown',
  /** WCS nodes found lost (no answer and no hook for `NODE_LOST_AFTER_S`): their sessions and streams were ended. */
  wcsNodeLost: 'WcsNodeLost',
  /** WCS nodes whose hooks arrive but whose REST API the poller cannot reach: alive, and not reconciled. */
  wcsNodeUnreachable: 'WcsNodeUnreachable',
  /** WCS nodes the poller may ask that have not been reconciled for `RECONCILE_STALE_AFTER_S`. */
  wcsNodeNotReconciled: 'WcsNodeNotReconciled',
  /** Runs in which so many nodes would have been lost at once that none was (`NODE_LOSS_BRAKE_PERCENT`). */
  wcsNodeLossBraked: 'WcsNodeLossBraked',
  /** Reconciliations or losses that ended at least `RECONCILE_MASS_END_PERCENT` of what a node held. */
  reconcileMassEnd: 'ReconcileMassEnd',
  /** Live streams ended because their keep-alives stopped (`STREAM_KEEP_ALIVE_TIMEOUT_S`). */
  keepAliveLost: 'StreamKeepAliveLost',
  /** Hooks naming a node other than the one their session or stream is on: not applied to it, kept as events. */
  hookFromOtherNode: 'HookFromOtherNode',
  /** An endpoint's logic that threw, timed out, answered what is not an answer, or could not be reached. */
  endpointLogicFailed: 'EndpointLogicFailed',
} as const;

/**
 * The metrics an alarm watches (`countForAlarm`, `infra/constructs/hook-observability.ts`): each is a
 * failure, or the sign of one (the database failing: decisions by fail mode, spilled events).
 */
export const ALARMED_METRICS = [
  METRIC.decisionFallback,
  METRIC.spilled,
  METRIC.wcsNodeMisconfigured,
  METRIC.spillDeadLettered,
  METRIC.wcsNodeDown,
  METRIC.wcsNodeLost,
  METRIC.wcsNodeUnreachable,
  METRIC.wcsNodeNotReconciled,
  METRIC.wcsNodeLossBraked,
  METRIC.reconcileMassEnd,
  METRIC.hookFromOtherNode,
  METRIC.endpointLogicFailed,
] as const;
