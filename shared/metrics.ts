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

export { METRIC } from './metric-names.ts';
