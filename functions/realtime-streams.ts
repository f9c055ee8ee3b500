/**
 * The realtime fan-out: DynamoDB Streams of the sessions, streams and counters tables trigger it, and
 * each change goes to the subscribers of the matching destinations through the WebSocket management
 * API (`shared/realtime/fanout.ts`, the same code the local runtime runs). A connection that answers
 * 410 Gone is removed: that connection, found by its own id.
 */

import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { fanOut, type TableChange } from '#shared/realtime/fanout.ts';
import { postToConnection } from '#shared/realtime/management-api.ts';
import { STREAMED_TABLES, streamedTableEnv } from '#shared/store/tables.ts';

/** Which table a record comes from, by its stream ARN (`.../table/<name>/stream/...`). */
function tableOf(arn: string | undefined): TableChange['table'] | undefined {
  const name = arn?.split('/')[1];
  return STREAMED_TABLES.find((table) => process.env[streamedTableEnv(table)] === name);
}

export const handler = async (event: DynamoDBStreamEvent): Promise<void> => {
  const changes: TableChange[] = [];
  for (const record of event.Records) {
    const table = tableOf(record.eventSourceARN);
    if (!table) continue;
    changes.push({
      table,
      ...(record.dynamodb?.NewImage && { newImage: unmarshall(record.dynamodb.NewImage as never) }),
      ...(record.dynamodb?.OldImage && { oldImage: unmarshall(record.dynamodb.OldImage as never) }),
    });
  }
  await fanOut(changes, (connectionId, text) => postToConnection(connectionId, text));
};
