import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateQuery, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { integerEnv, requireEnv } from '../config.ts';
import type { TableName } from '../hooks.ts';
import { checkAccess } from './access.ts';
import { TABLES } from './tables.ts';

/**
 * The DynamoDB document client, one per process. `DYNAMODB_ENDPOINT` points it at DynamoDB Local
 * (or any compatible endpoint); unset, it uses the Region's DynamoDB. Connection and request
 * timeouts are bounded (`DYNAMODB_CONNECT_TIMEOUT_MS`, `DYNAMODB_REQUEST_TIMEOUT_MS`).
 */
const client = new DynamoDBClient({
  ...(process.env.DYNAMODB_ENDPOINT && { endpoint: process.env.DYNAMODB_ENDPOINT }),
  // A request that hangs must not hold a hook past WCS's patience: fail it, and let the SDK retry.
  requestHandler: {
    connectionTimeout: integerEnv('DYNAMODB_CONNECT_TIMEOUT_MS', 1000),
    requestTimeout: integerEnv('DYNAMODB_REQUEST_TIMEOUT_MS', 2000),
    // Without this the handler only warns when the timeout passes, and the request hangs on.
    throwOnRequestTimeout: true,
  },
});

// Every call is checked against the grants of the function it is made for (`access.ts`), as IAM
// checks it in AWS: locally, a call a function is not granted fails too.
client.middlewareStack.add(
  (next, context) => async (args) => {
    checkAccess(context.commandName ?? '', args.input as Record<string, unknown>);
    return next(args);
  },
  { step: 'initialize', name: 'declaredTableAccess' },
);

export const dynamo = DynamoDBDocumentClient.from(client, {
  marshallOptions: { removeUndefinedValues: true },
});

/** The physical name of `table`, from its environment variable; missing, the function fails at start. */
export function tableNameOf(table: TableName): string {
  return requireEnv(TABLES[table].envVar);
}

/** True for the error DynamoDB returns when a write's condition does not hold. */
export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/**
 * The reason code of each item of a cancelled transaction (`ConditionalCheckFailed`, `None`, ...),
 * in the order of the request; `undefined` for any other error.
 */
export function cancellationCodes(error: unknown): string[] | undefined {
  if ((error as { name?: string } | null)?.name !== 'TransactionCanceledException') return undefined;
  return ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map(
    (r) => r.Code ?? 'None',
  );
}

/** Every item a Query matches, across all its pages (lib-dynamodb's paginator). */
export async function queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateQuery({ client: dynamo }, input)) items.push(...(page.Items ?? []));
  return items;
}
