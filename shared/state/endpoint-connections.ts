/**
 * The user agents' open WebSocket connections to endpoints: the one owner of the
 * `endpointConnections` table. Each item is one connection: its endpoint, user and roles, the
 * query string and chosen headers it was opened with, the context its endpoint's logic keeps
 * (meveo's session `context`), its message-rate bucket and a version every save is conditional on. Presence and a user's connections are one Query of
 * `byEndpoint` (`<user>#<connectionId>`), never a Scan.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, isConditionFailure, queryAll, tableNameOf } from '../store/dynamo.ts';

const tableName = () => tableNameOf('endpointConnections');

/** API Gateway ends a WebSocket connection after 2 h; an item outlives it an hour, then TTL removes it. */
const LIFETIME_SECONDS = 3 * 3600;

/** The largest context a connection keeps, in bytes of JSON (an item stays well under DynamoDB's 400 KB). */
export const MAX_CONTEXT_BYTES = 16 * 1024;

/** A connection's message budget: `tokens` left at `at` (epoch ms), refilled at the endpoint's rate. */
export interface RateBucket {
  readonly tokens: number;
  readonly at: number;
}

export interface EndpointConnection {
  readonly connectionId: string;
  readonly endpoint: string;
  readonly user: string;
  readonly roles: readonly string[];
  readonly appKey?: string;
  readonly openedAt: string;
  /** The query string it was opened with (but the token), and the headers its endpoint forwards. */
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly context: Readonly<Record<string, unknown>>;
  readonly bucket: RateBucket;
  readonly version: number;
}

/** One connection of a user, as `byEndpoint` lists it. */
export interface UserConnection {
  readonly user: string;
  readonly connectionId: string;
}

const userKey = (user: string, connectionId: string) => `${user}#${connectionId}`;

/** `<user>#<connectionId>` read back: connection ids have no `#`, users may. */
function parseUserKey(key: string): UserConnection {
  const at = key.lastIndexOf('#');
  return { user: key.slice(0, at), connectionId: key.slice(at + 1) };
}

/**
 * The budget after one message at `now`, or `undefined` when there is none left: a token bucket of
 * `burst` tokens refilled at `perSecond`. Pure, so a conflicting save can charge it again.
 */
export function takeToken(
  bucket: RateBucket,
  perSecond: number,
  burst: number,
  now: number,
): RateBucket | undefined {
  const refilled = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * perSecond);
  if (refilled < 1) return undefined;
  return { tokens: refilled - 1, at: now };
}

/** Records an open connection (after its endpoint's logic accepted it), with a full budget. */
export async function openEndpointConnection(
  connection: Omit<EndpointConnection, 'version' | 'bucket'> & { readonly burst: number },
): Promise<void> {
  const { burst, ...fields } = connection;
  await dynamo.send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...fields,
        userKey: userKey(connection.user, connection.connectionId),
        bucket: { tokens: burst, at: Date.now() },
        version: 0,
        expiresAt: Math.floor(Date.now() / 1000) + LIFETIME_SECONDS,
      },
    }),
  );
}

function connectionOf(item: Record<string, unknown>): EndpointConnection {
  return {
    connectionId: String(item.connectionId),
    endpoint: String(item.endpoint),
    user: String(item.user),
    roles: (item.roles as string[] | undefined) ?? [],
    ...(typeof item.appKey === 'string' && { appKey: item.appKey }),
    openedAt: String(item.openedAt),
    query: (item.query as Record<string, string> | undefined) ?? {},
    headers: (item.headers as Record<string, string> | undefined) ?? {},
    context: (item.context as Record<string, unknown> | undefined) ?? {},
    bucket: (item.bucket as RateBucket | undefined) ?? { tokens: 0, at: 0 },
    version: Number(item.version ?? 0),
  };
}

/** Connection `connectionId`, read consistently; `undefined` when it is not open (or is gone). */
export async function loadEndpointConnection(connectionId: string): Promise<EndpointConnection | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: tableName(), Key: { connectionId }, ConsistentRead: true }),
  );
  return Item ? connectionOf(Item) : undefined;
}

/**
 * Saves a connection's bucket and/or context, if nobody saved it since `version` was read (two
 * messages of one connection may be handled at once in AWS). False when someone did, or the
 * connection is gone: load it again.
 */
export async function saveEndpointConnection(
  connectionId: string,
  version: number,
  changes: { bucket?: RateBucket; context?: Readonly<Record<string, unknown>> },
): Promise<boolean> {
  const sets = ['version = :next'];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':next': version + 1, ':v': version };
  if (changes.bucket) {
    sets.push('#b = :b');
    names['#b'] = 'bucket';
    values[':b'] = changes.bucket;
  }
  if (changes.context) {
    sets.push('#c = :c');
    names['#c'] = 'context';
    values[':c'] = changes.context;
  }
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { connectionId },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'version = :v',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Forgets connection `connectionId`; what it was (for its `close` event), or `undefined` if it was not open. */
export async function removeEndpointConnection(
  connectionId: string,
): Promise<EndpointConnection | undefined> {
  const { Attributes } = await dynamo.send(
    new DeleteCommand({ TableName: tableName(), Key: { connectionId }, ReturnValues: 'ALL_OLD' }),
  );
  return Attributes ? connectionOf(Attributes) : undefined;
}

/** The open connections of `user` on `endpoint` (one Query). */
export async function connectionsOfUser(endpoint: string, user: string): Promise<UserConnection[]> {
  const items = await queryAll({
    TableName: tableName(),
    IndexName: 'byEndpoint',
    KeyConditionExpression: 'endpoint = :e AND begins_with(userKey, :u)',
    ExpressionAttributeValues: { ':e': endpoint, ':u': `${user}#` },
  });
  // `begins_with` also matches a user whose name extends this one's with a `#`: kept out.
  return items.map((i) => parseUserKey(String(i.userKey))).filter((c) => c.user === user);
}

/** Every open connection on `endpoint`, by user (one Query, paged): who is on it. */
export async function connectionsOnEndpoint(endpoint: string): Promise<UserConnection[]> {
  const items = await queryAll({
    TableName: tableName(),
    IndexName: 'byEndpoint',
    KeyConditionExpression: 'endpoint = :e',
    ExpressionAttributeValues: { ':e': endpoint },
  });
  return items.map((i) => parseUserKey(String(i.userKey)));
}
