/**
 * The configuration store: the one module that reads and writes the `config` table. Operators'
 * settings that are data, not deployment (app policies, WCS node REST URLs), each an item
 * `{kind, id, value, updatedAt}`, a kind one partition, listed with one Query. Managed with the CLI
 * (`npm run cli -- apps|nodes ...`), locally or against a stack; read by the functions through
 * their own short caches.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, isConditionFailure, queryAll, tableNameOf } from '../store/dynamo.ts';
import { EXPIRY_ATTRIBUTE } from '../store/tables.ts';

/**
 * What the store holds: `app` policies (`apps.ts`), `node` REST URLs (`wcs-nodes.ts`), and WCS OAM's
 * monitoring `profile`s, `rule`s and threshold `alarm`s (`oam-config.ts`), numbered by a `sequence`;
 * WebSocket `endpoint`s (`endpoints.ts`); `denial`s of users and tokens (`denials.ts`).
 */
export type ConfigKind = 'app' | 'node' | 'profile' | 'rule' | 'alarm' | 'endpoint' | 'denial';

export interface ConfigEntry {
  readonly id: string;
  readonly value: unknown;
  readonly updatedAt: string;
}

const tableName = () => tableNameOf('config');

/** The value stored for `kind`/`id`, read consistently (a change is seen at once); `undefined` if none. */
export async function getConfig(kind: ConfigKind, id: string): Promise<unknown> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: tableName(), Key: { kind, id }, ConsistentRead: true }),
  );
  return Item?.value;
}

/**
 * Stores `value` for `kind`/`id`, replacing what was there. With `expiresAt`, DynamoDB TTL removes
 * the entry some time after it (TTL deletes late, within days: a reader checks the time itself).
 */
export async function putConfig(
  kind: ConfigKind,
  id: string,
  value: unknown,
  expiresAt?: Date,
): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        kind,
        id,
        value,
        updatedAt: new Date().toISOString(),
        ...(expiresAt && { [EXPIRY_ATTRIBUTE]: Math.ceil(expiresAt.getTime() / 1000) }),
      },
    }),
  );
}

/** Stores `value` for `kind`/`id` only if no entry is there; false when there was one (it is kept). */
export function createConfig(kind: ConfigKind, id: string, value: unknown): Promise<boolean> {
  return putIf('attribute_not_exists(id)', kind, id, value);
}

/** Stores `value` for `kind`/`id` only if an entry is there; false when there was none. */
export function replaceConfig(kind: ConfigKind, id: string, value: unknown): Promise<boolean> {
  return putIf('attribute_exists(id)', kind, id, value);
}

async function putIf(condition: string, kind: ConfigKind, id: string, value: unknown): Promise<boolean> {
  try {
    await dynamo.send(
      new PutCommand({
        TableName: tableName(),
        Item: { kind, id, value, updatedAt: new Date().toISOString() },
        ConditionExpression: condition,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** The next number of `kind` (1, 2, ...): one atomic counter per kind (`kind` = `sequence`). */
export async function nextConfigNumber(kind: ConfigKind): Promise<number> {
  const { Attributes } = await dynamo.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: { kind: 'sequence', id: kind },
      UpdateExpression: 'ADD #v :one SET updatedAt = :now',
      ExpressionAttributeNames: { '#v': 'value' },
      ExpressionAttributeValues: { ':one': 1, ':now': new Date().toISOString() },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(Attributes?.value);
}

/** Removes `kind`/`id`; false when there was nothing to remove. */
export async function deleteConfig(kind: ConfigKind, id: string): Promise<boolean> {
  try {
    await dynamo.send(
      new DeleteCommand({
        TableName: tableName(),
        Key: { kind, id },
        ConditionExpression: 'attribute_exists(id)',
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Every entry of `kind`, by id: one Query, paged. */
export async function listConfig(kind: ConfigKind): Promise<ConfigEntry[]> {
  const items = await queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'kind = :kind',
    ExpressionAttributeValues: { ':kind': kind },
  });
  return items.map((item) => ({ id: String(item.id), value: item.value, updatedAt: String(item.updatedAt) }));
}
