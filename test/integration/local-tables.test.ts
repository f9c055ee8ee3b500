/**
 * The local runtime's tables (`infra/local/tables.ts`): created from the shared definitions, and
 * brought up to date when `.data/` holds tables made by an older version.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, type RunningDynamoDbLocal, startDynamoDbLocal } from '../../infra/local/dynamodb-local.ts';
import { ensureTables, localTableName } from '../../infra/local/tables.ts';
import { TABLES, toCreateTableInput } from '../../shared/store/tables.ts';

// A DynamoDB Local of its own: it builds a new index in the background, which takes minutes on the
// run's shared instance while the rest of the suite loads it.
let dynamo: RunningDynamoDbLocal;
let client: DynamoDBClient;
beforeAll(async () => {
  dynamo = await startDynamoDbLocal({ port: await freePort() });
  client = new DynamoDBClient({ endpoint: dynamo.endpoint });
}, 90_000);
afterAll(async () => {
  client.destroy();
  await dynamo.stop();
});

const indexesOf = async (tableName: string) =>
  (
    (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.GlobalSecondaryIndexes ??
    []
  )
    .map((i) => i.IndexName)
    .sort();

describe('DynamoDB Local', () => {
  it('runs with its telemetry off: nothing leaves the machine unasked', () => {
    const args = readFileSync(`/proc/${dynamo.process.pid}/cmdline`, 'utf8').split('\0');
    expect(args).toContain('-disableTelemetry');
  });
});

describe('the local tables', () => {
  it('replace the global indexes of a table an older version made with the ones defined now', async () => {
    const prefix = `old-${randomUUID().slice(0, 8)}`;
    const tableName = localTableName(prefix, 'streams');
    const current = toCreateTableInput(TABLES.streams, tableName);
    // The streams table as it was: live streams indexed per app, in `liveByApp`.
    await client.send(
      new CreateTableCommand({
        ...current,
        AttributeDefinitions: [
          ...(current.AttributeDefinitions ?? []).filter((a) => a.AttributeName !== 'liveShard'),
          { AttributeName: 'liveAppKey', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          ...(current.GlobalSecondaryIndexes ?? []).filter((i) => i.IndexName !== 'liveStreams'),
          {
            IndexName: 'liveByApp',
            KeySchema: [
              { AttributeName: 'liveAppKey', KeyType: 'HASH' },
              { AttributeName: 'liveKey', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    );

    const changed = await ensureTables(client, prefix);

    expect(changed).toContain(`${tableName} (+liveStreams -liveByApp)`);
    // The obsolete index is being deleted (DynamoDB Local may take its time); the new one is in use.
    expect(await indexesOf(tableName)).toEqual(
      expect.arrayContaining(TABLES.streams.globalIndexes.map((i) => i.indexName)),
    );
    expect(await ensureTables(client, prefix)).not.toContainEqual(expect.stringContaining('+liveStreams'));
  }, 60_000);
});
