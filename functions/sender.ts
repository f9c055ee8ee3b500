/**
 * The sender: consumes the send queue (SQS in AWS, the local queue under `npm start`). Each record
 * is a fan-out to expand or one send to deliver; a record whose send can still succeed is reported
 * as a batch item failure, so the queue delivers it again, and after its last attempt moves it to
 * the dead-letter queue. Powertools' batch processor does the partial-batch bookkeeping.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { metrics } from '#shared/kernel/metrics.ts';
import type { QueueMessage } from '#shared/sender/send-queue.ts';
import { processQueueMessage } from '#shared/sender/sender.ts';

const processor = new BatchProcessor(EventType.SQS);

const recordHandler = (record: SQSRecord) => processQueueMessage(JSON.parse(record.body) as QueueMessage);

export const handler = async (event: SQSEvent) => {
  try {
    return await processPartialResponse(event, recordHandler, processor);
  } finally {
    // The sends' metrics (a node whose REST URL is wrong, ...), emitted once per batch.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};
