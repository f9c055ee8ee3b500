/**
 * Starts one DynamoDB Local (in memory, on a free port) for the whole test run and creates the
 * tables from the shared definitions. Test workers inherit `DYNAMODB_ENDPOINT` from here.
 */
import { freePort, startDynamoDbLocalWithTables } from '../../infra/local/dynamodb-local.ts';
import { TEST_TABLE_PREFIX } from './constants.ts';

export default async function globalSetup() {
  const started = Date.now();
  const dynamo = await startDynamoDbLocalWithTables({
    port: await freePort(),
    tablePrefix: TEST_TABLE_PREFIX,
  });
  process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
  (globalThis as { __dynamoDbLocal?: typeof dynamo }).__dynamoDbLocal = dynamo;
  process.stdout.write(`\nDynamoDB Local ready at ${dynamo.endpoint} in ${Date.now() - started} ms\n`);
}
