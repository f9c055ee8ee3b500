import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { setting } from './config.ts';
import type { ALARMED_METRICS } from './metric-names.ts';

/**
 * The one metrics emitter (Powertools, CloudWatch Embedded Metric Format). Namespace from
 * `POWERTOOLS_METRICS_NAMESPACE` (default `WcsHooks`). The local runtime turns it off
 * (`POWERTOOLS_METRICS_DISABLED=true`): EMF only means something to CloudWatch.
 */
export const metrics = new Metrics({
  namespace: setting('POWERTOOLS_METRICS_NAMESPACE'),
  serviceName: setting('POWERTOOLS_SERVICE_NAME'),
});

export { METRIC } from './metric-names.ts';

/**
 * Counts one occurrence of something an alarm watches, as a metric with only the `service`
 * dimension (`ALARMED_METRICS`): an alarm needs one exact metric, and the per-method series the
 * dashboard shows (the same name with a `method` dimension) are many. Emitted at once, apart from
 * the invocation's other metrics, so it is never lost to a failure later in the invocation.
 */
export function countForAlarm(name: (typeof ALARMED_METRICS)[number]): void {
  if (setting('POWERTOOLS_METRICS_DISABLED') === 'true') return;
  const single = metrics.singleMetric();
  single.addMetric(name, MetricUnit.Count, 1);
  single.publishStoredMetrics();
}
