/**
 * Creates the tables the local runtime needs, from the same definitions the CDK stack uses
 * (`shared/store/tables.ts`), and sets the environment variables that name them.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { TableName } from '#shared/hooks.ts';
import { LOCAL_QUEUE_TABLE, TABLES, toCreateTableInput } from '#shared/store/tables.ts';

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

/** Creates every table that does not exist yet, with TTL on the expiry attribute. Returns the names created. */
export async function ensureTables(client: DynamoDBClient, prefix: string): Promise<string[]> {
  const created: string[] = [];
  for (const table of LOCAL_TABLES) {
    const tableName = localTableName(prefix, table.name);
    if (await exists(client, tableName)) continue;
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
