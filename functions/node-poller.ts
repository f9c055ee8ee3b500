/**
 * The node poller (`shared/monitoring/poller.ts`), invoked by EventBridge Scheduler every
 * `NODE_POLL_INTERVAL_S` in AWS and by a timer under `npm start`. Each run polls for at most 90 % of
 * the interval, so runs never overlap, and leaves a margin before the function's timeout.
 */
import type { Context } from 'aws-lambda';
import { logger } from '#shared/kernel/logger.ts';
import { metrics } from '#shared/kernel/metrics.ts';
import { RUN_WINDOW_MS, runPoller } from '#shared/monitoring/poller.ts';

export const handler = async (_event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => {
  const remaining = context?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY;
  const runForMs = Math.min(RUN_WINDOW_MS, remaining - 10_000);
  try {
    const summary = await runPoller(runForMs);
    if (summary.nodesDown > 0 || summary.alarmsRaised > 0 || summary.alarmsCleared > 0)
      logger.info('node poller run', { ...summary });
    return summary;
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};
