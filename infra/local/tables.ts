/**
 * Creates the tables the local runtime needs, from the same definitions the CDK stack uses
 * (`shared/store/tables.ts`), and sets the environment variables that name them.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { TableName } from '#shared/kernel/registry.ts';
import { LOCAL_QUEUE_TABLE, TABLES, type TableDefinition, toCreateTableInput } from '#shared/store/tables.ts';

/** The physical table name of `table` under `prefix` (e.g. `wcs-hooks-local-sessions`). */
export function localTableName(prefix: string, table: TableName): string {
  return `${prefix}-${table}`;
}

const LOCAL_TABLES = [...Object.values(TABLES), LOCAL_QUEUE_TABLE];

/** Sets `SESSIONS_TABLE` and its siblings, as the CDK stack sets them on each function. */
export function exportTableNames(prefix: string, env: NodeJS.ProcessEnv = process.env): void {
  for (const table of LOCAL_TABLES) env[table.envVar] = localTableName(prefix, table.name);
}

async function exists(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException || (error as Error).name === 'ResourceNotFoundException')
      return false;
    throw error;
  }
}

/**
 * Brings the global indexes of an existing table in line with its definition (a `.data/` kept from
 * an older version): creates the ones missing and deletes the ones no longer defined, one per
 * UpdateTable as DynamoDB requires. Returns what it changed. Local indexes cannot change after a
 * table is made: a mismatch there is an error that says how to start afresh.
 */
async function migrateIndexes(client: DynamoDBClient, table: TableDefinition, tableName: string) {
  const describe = async () => (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  const current = await describe();
  const wanted = toCreateTableInput(table, tableName);
  const indexes = current?.GlobalSecondaryIndexes ?? [];
  const have = new Set(indexes.map((i) => i.IndexName));
  const deleting = new Set(indexes.filter((i) => i.IndexStatus === 'DELETING').map((i) => i.IndexName));
  const want = new Map((wanted.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
  const localHave = (current?.LocalSecondaryIndexes ?? []).map((i) => i.IndexName).sort();
  const localWant = (wanted.LocalSecondaryIndexes ?? []).map((i) => i.IndexName).sort();
  if (JSON.stringify(localHave) !== JSON.stringify(localWant)) {
    throw new Error(
      `table ${tableName} has local indexes [${localHave.join(', ')}], the code needs [${localWant.join(', ')}]; ` +
        'local indexes cannot change: remove the local data (DATA_DIR, default .data/dynamodb) to start afresh',
    );
  }
  const changes: string[] = [];
  // DynamoDB changes one index of a table at a time: each creation waits for the one before it.
  // Deletions come last and are not waited for (DynamoDB Local can take long to finish one); one
  // that must wait for another is left for the next start.
  const created = async (name: string) => {
    for (let i = 0; i < 1200; i++) {
      const index = (await describe())?.GlobalSecondaryIndexes?.find((g) => g.IndexName === name);
      if (index?.IndexStatus === 'ACTIVE') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`index ${name} of ${tableName} did not become active`);
  };
  for (const [name, index] of want) {
    if (have.has(name)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: wanted.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [
          { Create: { IndexName: name, KeySchema: index.KeySchema, Projection: index.Projection } },
        ],
      }),
    );
    await created(name as string);
    changes.push(`+${name}`);
  }
  for (const name of have) {
    if (!name || want.has(name) || deleting.has(name)) continue;
    try {
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: name } }],
        }),
      );
      changes.push(`-${name}`);
    } catch (error) {
      const code = (error as Error).name;
      if (code !== 'LimitExceededException' && code !== 'ResourceInUseException') throw error;
    }
  }
  return changes.length > 0 ? `${tableName} (${changes.join(' ')})` : undefined;
}

/**
 * Creates every table that does not exist yet, with TTL on the expiry attribute, and updates the
 * global indexes of those that do. Returns the names created or changed.
 */
export async function ensureTables(client: DynamoDBClient, prefix: string): Promise<string[]> {
  const created: string[] = [];
  for (const table of LOCAL_TABLES) {
    const tableName = localTableName(prefix, table.name);
    if (await exists(client, tableName)) {
      const migrated = await migrateIndexes(client, table, tableName);
      if (migrated) created.push(migrated);
      continue;
    }
    await client.send(new CreateTableCommand(toCreateTableInput(table, tableName)));
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: table.timeToLiveAttribute, Enabled: true },
      }),
    );
    created.push(tableName);
  }
  return created;
}
