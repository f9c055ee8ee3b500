/**
 * The `usage` table's owner: applies the usage contributions of source items (`usage-model.ts`) as
 * the usage consumer hands their changes over, and reads the aggregates back as plain objects, for
 * the CLI, the realms and the analysts (docs/data-model.md, "`usage`"). Every read is one Query per
 * day and app (or stream name), none a Scan.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mapWithConcurrency } from '../kernel/concurrency.ts';
import { cancellationCodes, dynamo, queryAll, tableNameOf, transactWrite } from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';
import {
  appDay,
  applySourceChange,
  type Contribution,
  MAX_SPAN_DAYS,
  nameDay,
  type PublishUsage,
  type Source,
  type SourceChange,
  type StreamTotals,
  sourceAggregate,
  summarizeAppDay,
  summarizeNames,
  summarizeStream,
  type TargetKey,
  type UsagePeriod,
  type UsageStore,
} from './usage-model.ts';

const usageTable = () => tableNameOf('usage');
const CONTRIBUTION = 'contribution';
/** TransactWriteItems' limit: the contribution and at most 99 aggregate items. */
const MAX_TRANSACTION_ITEMS = 100;

const splitKey = (key: TargetKey) => {
  const at = key.lastIndexOf('|');
  return { aggregateKey: key.slice(0, at), slot: key.slice(at + 1) };
};

/** The usage store in DynamoDB: each change a TransactWriteItems of the contribution and the ADDs. */
export const dynamoUsageStore: UsageStore = {
  async storedContribution(sourceId) {
    const { Item } = await dynamo.send(
      new GetCommand({
        TableName: usageTable(),
        Key: { aggregateKey: sourceAggregate(sourceId), slot: CONTRIBUTION },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    return {
      version: String(Item.version),
      contribution: JSON.parse(String(Item.contribution)) as Contribution,
    };
  },

  async commit(sourceId, expected, version, contribution, delta) {
    const now = new Date();
    const TableName = usageTable();
    const adds = Object.entries(delta) as [TargetKey, Record<string, number>][];
    if (adds.length + 1 > MAX_TRANSACTION_ITEMS)
      throw new Error(`usage of ${sourceId} touches ${adds.length} items, more than a transaction holds`);
    try {
      await transactWrite({
        TransactItems: [
          {
            Put: {
              TableName,
              Item: {
                aggregateKey: sourceAggregate(sourceId),
                slot: CONTRIBUTION,
                version,
                contribution: JSON.stringify(contribution),
                expiresAt: expiresAtFor(now),
              },
              ConditionExpression:
                expected === undefined ? 'attribute_not_exists(aggregateKey)' : 'version = :expected',
              ...(expected !== undefined && { ExpressionAttributeValues: { ':expected': expected } }),
            },
          },
          ...adds.map(([key, fields]) => {
            const names: Record<string, string> = {};
            const values: Record<string, unknown> = { ':exp': expiresAtFor(now) };
            const terms = Object.entries(fields).map(([field, value], i) => {
              names[`#f${i}`] = field;
              values[`:v${i}`] = value;
              return `#f${i} :v${i}`;
            });
            return {
              Update: {
                TableName,
                Key: splitKey(key),
                UpdateExpression: `ADD ${terms.join(', ')} SET expiresAt = :exp`,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
              },
            };
          }),
        ],
      });
      return true;
    } catch (error) {
      if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') return false;
      throw error;
    }
  },

  async countUser(user) {
    const now = new Date();
    try {
      await transactWrite({
        TransactItems: [
          {
            Put: {
              TableName: usageTable(),
              Item: {
                aggregateKey: user.aggregate,
                slot: `user#${user.userId}`,
                userId: user.userId,
                expiresAt: expiresAtFor(now),
              },
              ConditionExpression: 'attribute_not_exists(aggregateKey)',
            },
          },
          {
            Update: {
              TableName: usageTable(),
              Key: { aggregateKey: user.aggregate, slot: `day#${user.shard}` },
              UpdateExpression: 'ADD uniqueUsers :one SET expiresAt = :exp',
              ExpressionAttributeValues: { ':one': 1, ':exp': expiresAtFor(now) },
            },
          },
        ],
      });
    } catch (error) {
      if (cancellationCodes(error)?.[0] !== 'ConditionalCheckFailed') throw error;
    }
  },
};

/** Applies one table change to the usage aggregates in DynamoDB (`applySourceChange`). */
export const applyUsageChange = (change: SourceChange) => applySourceChange(dynamoUsageStore, change);

export type { PublishUsage, Source, StreamTotals, UsagePeriod };

/** The UTC days from `from` to `to` (`YYYY-MM-DD`, both included). */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (
    let at = Date.parse(`${from.slice(0, 10)}T00:00:00Z`);
    at <= Date.parse(`${to.slice(0, 10)}T00:00:00Z`);
    at += 86_400_000
  )
    days.push(new Date(at).toISOString().slice(0, 10));
  return days;
}

/** Days read at once. */
const READ_CONCURRENCY = 8;

/**
 * The usage of `appKey` from day `from` to day `to` (UTC, both included), one entry per day or
 * per hour (hours with nothing in them left out): one Query per day, of that day's partition
 * without its user markers.
 */
export async function usageOfApp(
  appKey: string,
  from: string,
  to: string,
  by: 'day' | 'hour' = 'day',
): Promise<UsagePeriod[]> {
  const days = await mapWithConcurrency(daysBetween(from, to), READ_CONCURRENCY, async (day) =>
    summarizeAppDay(
      day,
      await queryAll({
        TableName: usageTable(),
        KeyConditionExpression: 'aggregateKey = :a AND slot BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':a': appDay(appKey, day), ':from': 'day#', ':to': 'hour#~' },
      }),
    ),
  );
  return by === 'day' ? days.map((d) => d.day) : days.flatMap((d) => d.hours);
}

/**
 * The publishes of stream name `name` of `appKey` that began from day `from` to day `to` (UTC,
 * both included), each with its players, viewer-minutes and peak of players: one Query per day,
 * and one per later day a publish went on into (players of the name are kept by the day they
 * were present), up to `MAX_SPAN_DAYS` past `to`.
 */
export async function usageOfStream(
  appKey: string,
  name: string,
  from: string,
  to: string,
): Promise<PublishUsage[]> {
  const readDays = (days: readonly string[]) =>
    mapWithConcurrency(days, READ_CONCURRENCY, async (day) => ({
      day,
      items: await queryAll({
        TableName: usageTable(),
        KeyConditionExpression: 'aggregateKey = :a',
        ExpressionAttributeValues: { ':a': nameDay(appKey, name, day) },
      }),
    }));
  const read = await readDays(daysBetween(from, to));
  // The publishes that went on past `to`: the days they reach, too.
  const lastEnd = Math.max(
    0,
    ...read.flatMap(({ items }) =>
      items
        .filter((item) => String(item.slot).startsWith('publish#'))
        .map((item) => Number(item.endMs ?? Date.now())),
    ),
  );
  const toMs = Date.parse(`${to.slice(0, 10)}T00:00:00Z`);
  const until = Math.min(lastEnd, toMs + MAX_SPAN_DAYS * 86_400_000);
  if (until >= toMs + 86_400_000)
    read.push(
      ...(await readDays(
        daysBetween(new Date(toMs + 86_400_000).toISOString(), new Date(until).toISOString()),
      )),
    );
  return summarizeStream(read).filter(
    (p) => p.start.slice(0, 10) <= to.slice(0, 10) && p.start.slice(0, 10) >= from.slice(0, 10),
  );
}

/**
 * The stream names of `appKey` whose publishes or plays began from day `from` to day `to` (UTC,
 * both included), with their totals, most viewer-minutes first: one Query per day, of that day's
 * `name#` items (`summarizeNames`).
 */
export async function streamsOfApp(appKey: string, from: string, to: string): Promise<StreamTotals[]> {
  const days = await mapWithConcurrency(daysBetween(from, to), READ_CONCURRENCY, (day) =>
    queryAll({
      TableName: usageTable(),
      KeyConditionExpression: 'aggregateKey = :a AND begins_with(slot, :n)',
      ExpressionAttributeValues: { ':a': appDay(appKey, day), ':n': 'name#' },
    }),
  );
  return summarizeNames(days.flat());
}

/** The users (token users) seen on `appKey` on `day`: one Query of the day's user markers. */
export async function usersOfAppDay(appKey: string, day: string): Promise<string[]> {
  const items = await queryAll({
    TableName: usageTable(),
    KeyConditionExpression: 'aggregateKey = :a AND begins_with(slot, :u)',
    ExpressionAttributeValues: { ':a': appDay(appKey, day), ':u': 'user#' },
  });
  return items.map((item) => String(item.userId));
}
