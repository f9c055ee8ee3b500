/** Reads what the tables hold, to assert on state rather than on answers alone. */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from '@jest/globals';
import type { TableName } from '../../shared/kernel/registry.ts';
import { dynamo, tableNameOf } from '../../shared/store/dynamo.ts';

export function getItem(
  table: TableName,
  key: Record<string, string>,
): Promise<Record<string, unknown> | undefined> {
  return dynamo
    .send(new GetCommand({ TableName: tableNameOf(table), Key: key, ConsistentRead: true }))
    .then((r) => r.Item);
}

/** Every item whose `attribute` (a key of the table or of `indexName`) equals `value`. */
export async function queryBy(
  table: TableName,
  attribute: string,
  value: string,
  indexName?: string,
): Promise<Record<string, unknown>[]> {
  const result = await dynamo.send(
    new QueryCommand({
      TableName: tableNameOf(table),
      ...(indexName && { IndexName: indexName }),
      KeyConditionExpression: '#k = :v',
      ExpressionAttributeNames: { '#k': attribute },
      ExpressionAttributeValues: { ':v': value },
    }),
  );
  return result.Items ?? [];
}

/** The statuses in an item's history, in the order they were recorded. */
export function historyOf(item: Record<string, unknown> | undefined): string[] {
  return ((item?.statusHistory as { status: string }[] | undefined) ?? []).map((e) => e.status);
}

/**
 * What a refused attempt leaves on its item: the refusal's mark (`refusedAt`, `refusal`), no status
 * (docs/data-model.md, "Refused attempts"), so WCS's FAILED after it is counted as a refusal's.
 */
export async function expectOnlyRefused(
  table: 'sessions' | 'streams',
  key: Record<string, string>,
  reason: string | RegExp,
): Promise<void> {
  const item = await getItem(table, key);
  expect(item).toMatchObject({
    refusedAt: expect.any(String),
    refusal: expect.stringMatching(reason),
  });
  expect(item).not.toHaveProperty('status');
}
