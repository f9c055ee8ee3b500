import type { RunningDynamoDbLocal } from '../../infra/local/dynamodb-local.ts';

export default async function globalTeardown() {
  await (globalThis as { __dynamoDbLocal?: RunningDynamoDbLocal }).__dynamoDbLocal?.stop();
}
