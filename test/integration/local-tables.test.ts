/**
 * The local runtime's tables (`infra/local/tables.ts`): created from the shared definitions, and
 * brought up to date when `.data/` holds tables made by an older version.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ensureTables, localTableName } from '../../infra/local/tables.ts';
import { TABLES, toCreateTableInput } from '../../shared/store/tables.ts';

const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
afterAll(() => client.destroy());

const indexesOf = async (tableName: string) =>
  (
    (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.GlobalSecondaryIndexes ??
    []
  )
    .map((i) => i.IndexName)
    .sort();

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
    // DynamoDB Local builds an index in the background: slow while the rest of the suite loads it.
  }, 150_000);
});
