/**
 * The usage consumer (`functions/usage-streams.ts`) as Lambda's event source calls it, against
 * DynamoDB Local: a batch delivered again, or its records in another order, leaves the same usage;
 * a change it could not apply is reported as a partial batch failure, and the batch delivered again
 * from there counts each change once.
 */
import { randomUUID } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { streamedTableEnv, TABLES, USAGE_SOURCE_TABLES } from '../../shared/store/tables.ts';

let handler: typeof import('../../functions/usage-streams.ts').handler;
let usageOfApp: typeof import('../../shared/state/usage.ts').usageOfApp;

beforeAll(async () => {
  for (const table of USAGE_SOURCE_TABLES)
    process.env[streamedTableEnv(table)] = process.env[TABLES[table].envVar];
  ({ handler } = await import('../../functions/usage-streams.ts'));
  ({ usageOfApp } = await import('../../shared/state/usage.ts'));
});

const DAY = '2026-11-20';
let sequence = 1000;

/** A stream record of `table`: the change from `oldImage` to `newImage`, with the next sequence number. */
function record(
  table: 'sessions' | 'streams',
  keys: Record<string, string>,
  newImage: Record<string, unknown>,
  oldImage?: Record<string, unknown>,
): DynamoDBRecord {
  return {
    eventSourceARN: `arn:aws:dynamodb:local:000000000000:table/${process.env[TABLES[table].envVar]}/stream/x`,
    dynamodb: {
      SequenceNumber: String(sequence++),
      Keys: marshall(keys) as never,
      NewImage: marshall({ ...keys, ...newImage }) as never,
      ...(oldImage && { OldImage: marshall({ ...keys, ...oldImage }) as never }),
    },
  };
}

/** A session's three changes: connect, ESTABLISHED, DISCONNECTED 30 minutes later. */
function sessionRecords(appKey: string, at: string): DynamoDBRecord[] {
  const keys = { sessionId: randomUUID() };
  const pending = { appKey, status: 'PENDING', firstStatusAt: at };
  const established = { ...pending, status: 'ESTABLISHED' };
  const ended = {
    ...established,
    status: 'DISCONNECTED',
    endedAt: new Date(Date.parse(at) + 1_800_000).toISOString(),
  };
  return [
    record('sessions', keys, pending),
    record('sessions', keys, established, pending),
    record('sessions', keys, ended, established),
  ];
}

const batch = (records: DynamoDBRecord[]) => ({ Records: records }) as DynamoDBStreamEvent;

describe('the usage consumer', () => {
  it('leaves the same usage when a batch comes again, or in another order', async () => {
    // Arrange
    const app = `consumer-${randomUUID().slice(0, 8)}`;
    const records = [
      ...sessionRecords(app, `${DAY}T10:00:00.000Z`),
      ...sessionRecords(app, `${DAY}T10:10:00.000Z`),
    ];

    // Act
    expect(await handler(batch(records))).toEqual({ batchItemFailures: [] });
    expect(await handler(batch([...records].reverse()))).toEqual({ batchItemFailures: [] });
    expect(await handler(batch(records))).toEqual({ batchItemFailures: [] });

    // Assert
    const [day] = await usageOfApp(app, DAY, DAY);
    expect(day).toMatchObject({
      sessions: 2,
      anonymousSessions: 2,
      peakSessions: 2,
      peakSessionsAt: `${DAY}T10:10Z`,
    });
  });

  it('reports the first change it could not apply, and counts each change once when delivered again', async () => {
    // Arrange: the usage table is out of reach for the first delivery.
    const app = `consumer-${randomUUID().slice(0, 8)}`;
    const records = sessionRecords(app, `${DAY}T11:00:00.000Z`);
    const table = process.env.USAGE_TABLE;
    process.env.USAGE_TABLE = `missing-${randomUUID()}`;

    // Act
    const failed = await handler(batch(records)).finally(() => {
      process.env.USAGE_TABLE = table;
    });
    const again = await handler(batch(records));

    // Assert
    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]?.dynamodb?.SequenceNumber }] });
    expect(again).toEqual({ batchItemFailures: [] });
    const [day] = await usageOfApp(app, DAY, DAY);
    expect(day).toMatchObject({ sessions: 1, peakSessions: 1 });
  });
});
