/**
 * The realtime fan-out: DynamoDB Streams of the sessions, streams and counters tables trigger it, and
 * each change goes to the subscribers of the matching destinations through the WebSocket management
 * API (`shared/realtime/fanout.ts`, the same code the local runtime runs). A connection that answers
 * 410 Gone is removed: that connection, found by its own id.
 */

import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { tableVariable } from '#shared/kernel/config.ts';
import { logger } from '#shared/kernel/logger.ts';
import { fanOut, type TableChange } from '#shared/realtime/fanout.ts';
import { postToConnection } from '#shared/realtime/management-api.ts';
import { STREAMED_TABLES, streamedTableEnv } from '#shared/store/tables.ts';

/** Which table a record comes from, by its stream ARN (`.../table/<name>/stream/...`). */
function tableOf(arn: string | undefined): TableChange['table'] | undefined {
  const name = arn?.split('/')[1];
  return STREAMED_TABLES.find((table) => tableVariable(streamedTableEnv(table)) === name);
}

/**
 * Reports the first change it could not push as a partial batch failure (its sequence number):
 * Lambda's event source retries from there, and after its last attempt sends the rest of the batch
 * to the on-failure destination, where an alarm sees it. Records of other tables are skipped.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const changes: TableChange[] = [];
  const sequences: string[] = [];
  for (const record of event.Records) {
    const table = tableOf(record.eventSourceARN);
    if (!table) continue;
    changes.push({
      table,
      ...(record.dynamodb?.NewImage && { newImage: unmarshall(record.dynamodb.NewImage as never) }),
      ...(record.dynamodb?.OldImage && { oldImage: unmarshall(record.dynamodb.OldImage as never) }),
    });
    sequences.push(String(record.dynamodb?.SequenceNumber));
  }
  const { failedAt, error } = await fanOut(changes, (connectionId, text) =>
    postToConnection(connectionId, text),
  );
  if (failedAt === undefined) return { batchItemFailures: [] };
  logger.error('realtime changes not pushed; the stream will deliver them again', {
    failedAt: sequences[failedAt],
    error: (error as Error)?.message,
  });
  return { batchItemFailures: [{ itemIdentifier: sequences[failedAt] as string }] };
};
