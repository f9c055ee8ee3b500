/**
 * The usage consumer: DynamoDB Streams of the sessions, streams, data messages and counters tables
 * trigger it, and each change updates the usage aggregates (`shared/state/usage.ts`, the same code
 * the local runtime runs). Changes of one item are applied in order; items apart, concurrently.
 */

import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { mapWithConcurrency } from '#shared/kernel/concurrency.ts';
import { tableVariable } from '#shared/kernel/config.ts';
import { logger } from '#shared/kernel/logger.ts';
import { applyUsageChange } from '#shared/state/usage.ts';
import { type SourceChange, versionOf } from '#shared/state/usage-model.ts';
import { streamedTableEnv, USAGE_SOURCE_TABLES } from '#shared/store/tables.ts';

/** Which table a record comes from, by its stream ARN (`.../table/<name>/stream/...`). */
function tableOf(arn: string | undefined): SourceChange['table'] | undefined {
  const name = arn?.split('/')[1];
  return USAGE_SOURCE_TABLES.find((table) => tableVariable(streamedTableEnv(table)) === name);
}

/** Items applied at once (each item's changes in order). */
const CONCURRENCY = 10;

/**
 * Reports the earliest change it could not apply as a partial batch failure: Lambda's event source
 * retries from there (what was applied before is applied again, which changes nothing), and after
 * its last attempt sends the rest to the on-failure destination. Records of other tables are skipped.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const byItem = new Map<string, { index: number; change: SourceChange }[]>();
  event.Records.forEach((record, index) => {
    const table = tableOf(record.eventSourceARN);
    if (!table || !record.dynamodb?.SequenceNumber) return;
    const key = `${table}#${JSON.stringify(record.dynamodb.Keys ?? {})}`;
    const change: SourceChange = {
      table,
      version: versionOf(record.dynamodb.SequenceNumber),
      ...(record.dynamodb.NewImage && { newImage: unmarshall(record.dynamodb.NewImage as never) }),
      ...(record.dynamodb.OldImage && { oldImage: unmarshall(record.dynamodb.OldImage as never) }),
    };
    byItem.set(key, [...(byItem.get(key) ?? []), { index, change }]);
  });
  let failedAt: number | undefined;
  let failure: unknown;
  await mapWithConcurrency([...byItem.values()], CONCURRENCY, async (changes) => {
    for (const { index, change } of changes) {
      try {
        await applyUsageChange(change);
      } catch (error) {
        if (failedAt === undefined || index < failedAt) [failedAt, failure] = [index, error];
        return;
      }
    }
  });
  if (failedAt === undefined) return { batchItemFailures: [] };
  const sequence = String(event.Records[failedAt]?.dynamodb?.SequenceNumber);
  logger.error('usage not updated; the stream will deliver the changes again', {
    failedAt: sequence,
    error: (failure as Error)?.message,
  });
  return { batchItemFailures: [{ itemIdentifier: sequence }] };
};
