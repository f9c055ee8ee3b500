/**
 * Starts one DynamoDB Local (in memory, on a free port) for the whole test run and creates the
 * tables from the shared definitions. Test workers inherit `DYNAMODB_ENDPOINT` from here.
 */
import { createServer } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal } from '../../infra/local/dynamodb-local.ts';
import { ensureTables } from '../../infra/local/tables.ts';
import { TEST_TABLE_PREFIX } from './constants.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export default async function globalSetup() {
  const started = Date.now();
  const dynamo = await startDynamoDbLocal({ port: await freePort() });
  process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
  (globalThis as { __dynamoDbLocal?: typeof dynamo }).__dynamoDbLocal = dynamo;
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTables(client, TEST_TABLE_PREFIX);
  client.destroy();
  process.stdout.write(`\nDynamoDB Local ready at ${dynamo.endpoint} in ${Date.now() - started} ms\n`);
}
