/**
 * The spill replayer: consumes the spill queue, applying each event hook that could not be written
 * when it arrived (`shared/spill.ts`). A hook that still cannot be written is reported as a batch
 * item failure and comes back later; after its last attempt it goes to the spill dead-letter queue.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { replaySpilled } from '#shared/replay.ts';
import type { SpilledHook } from '#shared/spill.ts';

const processor = new BatchProcessor(EventType.SQS);

const recordHandler = (record: SQSRecord) => replaySpilled(JSON.parse(record.body) as SpilledHook);

export const handler = (event: SQSEvent) => processPartialResponse(event, recordHandler, processor);
