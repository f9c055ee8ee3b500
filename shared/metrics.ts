import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * The one metrics emitter (Powertools, CloudWatch Embedded Metric Format). Namespace from
 * `POWERTOOLS_METRICS_NAMESPACE` (default `WcsHooks`). The local runtime turns it off
 * (`POWERTOOLS_METRICS_DISABLED=true`): EMF only means something to CloudWatch.
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'WcsHooks',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'wcs-hooks',
});

/** Metric names, as they appear on the dashboard and in alarms. */
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
  /** Decisions answered by their fail mode (deadline or dependency failure), by `method` and `failMode`. */
  decisionFallback: 'DecisionFallback',
} as const;
