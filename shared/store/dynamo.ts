import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
  paginateQuery,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { requireEnv, setting } from '../kernel/config.ts';
import { FUNCTIONS, type FunctionName, type TableName } from '../kernel/registry.ts';
import { checkAccess, FUNCTION_NAME_ENV } from './access.ts';
import { TABLES } from './tables.ts';

/**
 * The DynamoDB document client, one per process. `DYNAMODB_ENDPOINT` points it at DynamoDB Local
 * (or any compatible endpoint); unset, it uses the Region's DynamoDB. Connection and request
 * timeouts are bounded (`DYNAMODB_CONNECT_TIMEOUT_MS`, `DYNAMODB_REQUEST_TIMEOUT_MS`).
 */
const client = new DynamoDBClient({
  ...(setting('DYNAMODB_ENDPOINT') && { endpoint: setting('DYNAMODB_ENDPOINT') }),
  // A request that hangs must not hold a hook past WCS's patience: fail it, and let the SDK retry.
  requestHandler: {
    connectionTimeout: setting('DYNAMODB_CONNECT_TIMEOUT_MS'),
    requestTimeout: setting('DYNAMODB_REQUEST_TIMEOUT_MS'),
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

/** The physical name of `table`, from its environment variable (read at each call: cheap). */
export function tableNameOf(table: TableName): string {
  return requireEnv(TABLES[table].envVar);
}

/**
 * A deployed function without one of the tables its registry entry declares fails at start, not at
 * its first hook: every declared table's name is read now.
 */
function requireDeclaredTables(): void {
  const name = setting('WCS_HOOKS_FUNCTION');
  if (name === undefined) return;
  const declaration = FUNCTIONS[name as FunctionName];
  if (!declaration)
    throw new Error(`${FUNCTION_NAME_ENV} is ${name}, which is not a function of the registry`);
  for (const table of Object.keys(declaration.tables) as TableName[]) tableNameOf(table);
}
requireDeclaredTables();

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

/**
 * The items of `keys` in `tableName`, in no particular order (those that exist): 100 keys to a
 * BatchGetItem request, unprocessed keys read again.
 */
export async function batchGetAll(
  tableName: string,
  keys: readonly Record<string, unknown>[],
  options: { projection?: string; consistent?: boolean } = {},
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let request: BatchGetCommandInput['RequestItems'] = {
      [tableName]: {
        Keys: keys.slice(i, i + 100),
        ...(options.projection && { ProjectionExpression: options.projection }),
        ...(options.consistent && { ConsistentRead: true }),
      },
    };
    while (request && Object.keys(request).length > 0) {
      const page: {
        Responses?: Record<string, Record<string, unknown>[]>;
        UnprocessedKeys?: BatchGetCommandInput['RequestItems'];
      } = await dynamo.send(new BatchGetCommand({ RequestItems: request }));
      items.push(...(page.Responses?.[tableName] ?? []));
      request = page.UnprocessedKeys;
    }
  }
  return items;
}

/** Most tries of one BatchWriteItem request whose items DynamoDB keeps leaving unprocessed. */
const BATCH_WRITE_TRIES = 11;

/**
 * Puts `items` into `tableName`, 25 to a BatchWriteItem request; what DynamoDB leaves unprocessed
 * is written again after a full-jitter pause, and a request still unprocessed after
 * `BATCH_WRITE_TRIES` throws.
 */
export async function batchPutAll(
  tableName: string,
  items: readonly Record<string, unknown>[],
): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let request: BatchWriteCommandInput['RequestItems'] = {
      [tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
    };
    for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
      if (attempt >= BATCH_WRITE_TRIES)
        throw new Error(
          `DynamoDB left items of ${tableName} unprocessed ${BATCH_WRITE_TRIES} times in a row`,
        );
      if (attempt > 0)
        await new Promise((r) => setTimeout(r, Math.random() * 50 * 2 ** Math.min(attempt, 6)));
      const answer: { UnprocessedItems?: BatchWriteCommandInput['RequestItems'] } = await dynamo.send(
        new BatchWriteCommand({ RequestItems: request }),
      );
      request = answer.UnprocessedItems;
    }
  }
}

/** The first `max` items of a Query, in its order: pages only as far as needed (`Limit` per page). */
export async function queryUpTo(input: QueryCommandInput, max: number): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  if (max <= 0) return items;
  for await (const page of paginateQuery({ client: dynamo }, { ...input, Limit: Math.min(max, 1000) })) {
    items.push(...(page.Items ?? []));
    if (items.length >= max) break;
  }
  return items.slice(0, max);
}

/** Retries of a transaction cancelled by a conflict before it counts as contention (a dependency failure). */
const CONFLICT_RETRIES = 6;

/** Contention: a transaction still conflicted after its retries. A dependency failure, not a refusal. */
export class TransactionConflictError extends Error {
  constructor() {
    super(`transaction conflicted with others on the same items ${CONFLICT_RETRIES + 1} times`);
    this.name = 'TransactionConflictException';
  }
}

/**
 * Runs a TransactWriteItems, again when DynamoDB cancelled it because another transaction was
 * writing the same item at that moment (a cancellation reason `TransactionConflict`: nothing was
 * applied, and the same request can succeed a moment later), with full-jitter backoff; throws
 * `TransactionConflictError` when it still conflicts. Any other cancellation (a condition that does
 * not hold) is thrown as it is, for the caller to read (`cancellationCodes`).
 */
export async function transactWrite(input: TransactWriteCommandInput): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await dynamo.send(new TransactWriteCommand(input));
      return;
    } catch (error) {
      if (!cancellationCodes(error)?.includes('TransactionConflict')) throw error;
      if (attempt === CONFLICT_RETRIES) throw new TransactionConflictError();
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(500, 20 * 2 ** attempt)));
    }
  }
}
