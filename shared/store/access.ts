/**
 * Which DynamoDB actions a function may take, on which tables: what its registry entry declares
 * (`shared/kernel/registry.ts`), and nothing else. The CDK stack grants exactly these (`TABLE_ACTIONS`,
 * `infra/constructs/hook-function.ts`); the local runtime and the tests enforce the same, with an
 * AWS SDK middleware on the one DynamoDB client (`dynamo.ts`), so that a call a function is not
 * granted fails locally as it fails in AWS: with `AccessDeniedException`.
 *
 * The local runtime runs every function in one process, sharing that client: which function a call
 * is made for is carried by `runAsFunction` (Node's AsyncLocalStorage) from the invocation down.
 * A call made outside any function (the local runtime itself, a test preparing its data) is not
 * checked; in AWS, IAM checks every call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setting, tableVariable } from '../kernel/config.ts';
import type { TableAccess, TableName } from '../kernel/registry.ts';
import { TABLES } from './tables.ts';

/**
 * The environment variable naming the function a process runs (`FUNCTIONS`, the registry): the CDK
 * stack sets it on every function, which then checks at start that its declared tables are set
 * (`dynamo.ts`). The local runtime, which runs them all in one process, does not set it.
 */
export const FUNCTION_NAME_ENV = 'WCS_HOOKS_FUNCTION';

/** The DynamoDB actions each kind of access needs: exactly what the store modules call. */
export const TABLE_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  read: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
  write: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:BatchGetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
  ],
  manage: [
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:BatchGetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
  ],
  batchWrite: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem'],
};

/** What a function may do, by physical table name. */
export type Grants = ReadonlyMap<string, ReadonlySet<string>>;

/** The grants of a declaration: each declared table (by its physical name, from the environment), its actions. */
export function grantsOf(declaration: {
  readonly tables: Readonly<Partial<Record<TableName, TableAccess>>>;
  readonly sendQueue?: 'send' | 'consume';
}): Grants {
  const grants = new Map<string, ReadonlySet<string>>();
  for (const [table, access] of Object.entries(declaration.tables) as [TableName, TableAccess][]) {
    const name = tableVariable(TABLES[table].envVar);
    if (name) grants.set(name, new Set(TABLE_ACTIONS[access]));
  }
  // Locally the send queue is a table (the stand-in for SQS): sending to it is writing there.
  const queue = setting('LOCAL_QUEUE_TABLE');
  if (declaration.sendQueue && queue) grants.set(queue, new Set(['dynamodb:BatchWriteItem']));
  return grants;
}

const current = new AsyncLocalStorage<{ readonly name: string; readonly grants: Grants }>();

/** Runs `work` as function `name` with `grants`: its DynamoDB calls are checked against them. */
export function runAsFunction<T>(name: string, grants: Grants, work: () => T): T {
  return current.run({ name, grants }, work);
}

/** The actions a DynamoDB command takes, on which table (the first of a pair is the action). */
export function actionsOf(commandName: string, input: Record<string, unknown>): [string, string][] {
  const action = `dynamodb:${commandName.replace(/Command$/, '')}`;
  const table = (value: unknown) => String((value as { TableName?: unknown } | undefined)?.TableName);
  switch (commandName) {
    case 'BatchGetItemCommand':
    case 'BatchWriteItemCommand':
      return Object.keys((input.RequestItems as Record<string, unknown>) ?? {}).map((t) => [action, t]);
    case 'TransactWriteItemsCommand':
      return ((input.TransactItems as Record<string, unknown>[]) ?? []).map((item) => {
        const [kind, operation] = Object.entries(item)[0] ?? ['', {}];
        const itemAction = {
          Put: 'PutItem',
          Update: 'UpdateItem',
          Delete: 'DeleteItem',
          ConditionCheck: 'ConditionCheckItem',
        }[kind];
        return [`dynamodb:${itemAction ?? kind}`, table(operation)];
      });
    case 'TransactGetItemsCommand':
      return ((input.TransactItems as { Get?: unknown }[]) ?? []).map((item) => [
        'dynamodb:GetItem',
        table(item.Get),
      ]);
    default:
      return [[action, table(input)]];
  }
}

/** AWS's answer to a call no policy allows. */
export class AccessDeniedException extends Error {
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };

  constructor(functionName: string, action: string, table: string) {
    super(
      `User: arn:aws:sts::000000000000:assumed-role/${functionName}/${functionName} is not authorized to perform: ${action} on resource: arn:aws:dynamodb:local:000000000000:table/${table} because no identity-based policy allows the ${action} action`,
    );
    this.name = 'AccessDeniedException';
  }
}

/**
 * Throws `AccessDeniedException` when the function running now (`runAsFunction`) may not take
 * every action of the command; does nothing outside a function.
 */
export function checkAccess(commandName: string, input: Record<string, unknown>): void {
  const running = current.getStore();
  if (!running) return;
  for (const [action, table] of actionsOf(commandName, input)) {
    if (!running.grants.get(table)?.has(action)) throw new AccessDeniedException(running.name, action, table);
  }
}
