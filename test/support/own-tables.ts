/**
 * Tables of a test file's own, under a fresh prefix, for a test that runs the node poller: it polls
 * every node the monitoring table knows, and the other test files leave theirs (fake nodes nobody
 * serves) in the shared tables. Call before `startHookServer`, which reads the table names. Answers
 * the prefix (the CLI's `TABLE_PREFIX` for the same tables).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTables, exportTableNames } from '../../infra/local/tables.ts';

export async function useOwnTables(name: string): Promise<string> {
  const prefix = `${name}-${randomUUID().slice(0, 8)}`;
  const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
  await ensureTables(client, prefix);
  client.destroy();
  exportTableNames(prefix);
  return prefix;
}
