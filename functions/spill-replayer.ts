/**
 * The spill replayer: consumes the spill queue, applying each event hook that could not be written
 * when it arrived (`shared/http/spill.ts`). A hook that cannot be written because a dependency is down is
 * reported as a batch item failure and comes back later (after its last attempt, the queue's redrive
 * moves it to the spill dead-letter queue). A hook that can never be written (DynamoDB refuses it, or
 * it is not a spilled hook) is moved to the dead-letter queue at once, with the reason, and the
 * batch goes on: one poison message never holds the others back. Either way the dead-letter queue
 * alarms. Powertools' batch processor does the partial-batch bookkeeping.
 */

import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { replaySpilled } from '#shared/http/replay.ts';
import { deadLetterSpilled, reasonOf, type SpilledHook } from '#shared/http/spill.ts';
import { isDependencyFailure } from '#shared/kernel/budget.ts';
import { logger } from '#shared/kernel/logger.ts';
import { countForAlarm, METRIC, metrics } from '#shared/kernel/metrics.ts';

const processor = new BatchProcessor(EventType.SQS);

async function recordHandler(record: SQSRecord): Promise<void> {
  try {
    await replaySpilled(JSON.parse(record.body) as SpilledHook);
  } catch (error) {
    if (isDependencyFailure(error)) throw error;
    const reason = reasonOf(error);
    await deadLetterSpilled(record.body, reason);
    countForAlarm(METRIC.spillDeadLettered);
    logger.error('spilled hook can never be written: moved to the dead-letter queue', { reason });
  }
}

export const handler = async (event: SQSEvent) => {
  try {
    return await processPartialResponse(event, recordHandler, processor);
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};
