/**
 * Tables of a test file's own, under a fresh prefix, for a test that runs the node poller: it polls
 * every node the monitoring table knows, and the other test files leave theirs (fake nodes nobody
 * serves) in the shared tables. Call before `startHookServer`, which reads the table names. Answers
 * the prefix (the CLI's `TABLE_PREFIX` for the same tables).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll } from '@jest/globals';
import {
  freePort,
  type RunningDynamoDbLocal,
  startDynamoDbLocalWithTables,
} from '../../infra/local/dynamodb-local.ts';
import { ensureTables, exportTableNames } from '../../infra/local/tables.ts';

export async function useOwnTables(name: string): Promise<string> {
  const prefix = `${name}-${randomUUID().slice(0, 8)}`;
  const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
  await ensureTables(client, prefix);
  client.destroy();
  exportTableNames(prefix);
  return prefix;
}

/**
 * A DynamoDB Local of a test file's own, for a test whose load or latency must not depend on what
 * the run's other files left in the shared one (in-memory DynamoDB Local slows as it fills: a burst of
 * writes that takes a second on a fresh one passes the SDK's 2 s limit late in a run). Call at the
 * top level: it registers the `afterAll` that stops every one the file started, whatever its tests
 * did (a Java process left running would keep Jest, which runs the files in its own process on a
 * 2-core machine, from exiting).
 */
export function ownDynamoDbLocals(): (tablePrefix: string) => Promise<RunningDynamoDbLocal> {
  const started: RunningDynamoDbLocal[] = [];
  afterAll(async () => {
    await Promise.all(started.splice(0).map((dynamo) => dynamo.stop()));
  });
  return async (tablePrefix) => {
    const dynamo = await startDynamoDbLocalWithTables({ port: await freePort(), tablePrefix });
    started.push(dynamo);
    return dynamo;
  };
}
