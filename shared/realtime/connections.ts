/**
 * The realtime API's connections: each one's STOMP state and subscriptions, in the `connections`
 * table, so that any function (or the local server) can handle any of its frames, and a change can
 * be pushed to the subscribers of a destination with one Query.
 */
import { DeleteCommand, GetCommand, PutCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { hostOf } from '../state/monitoring.ts';
import { cancellationCodes, dynamo, queryAll, tableNameOf, transactWrite } from '../store/dynamo.ts';
import { METRICS_TOPIC, newSessionState, type StompSessionState } from './stomp/session.ts';

const tableName = tableNameOf('connections');
const STATE = '#state';
/** API Gateway ends a WebSocket connection after 2 h; items outlive it an hour, then TTL removes them. */
const LIFETIME_SECONDS = 3 * 3600;

const expiresAt = () => Math.floor(Date.now() / 1000) + LIFETIME_SECONDS;

/**
 * The key a subscription to `destination` is found by (the `byDestination` index): the destination
 * itself, except OAM's metric topic, whose node is keyed by its IP, whether the client named it by
 * nodeId (`<id>@<ip>`) or by IP. A sample is then pushed to both kinds of subscription with one
 * Query, as before (a mediaId is a node's own, so one IP and mediaId name one stream).
 */
export function subscriptionKeyOf(destination: string): string {
  const metrics = METRICS_TOPIC.exec(destination);
  return metrics ? `/stream/${hostOf(metrics[1] as string)}/${metrics[2]}` : destination;
}

/** A connection as stored: its STOMP state, the unfinished frame its messages left, its version. */
export interface StoredConnection {
  readonly state: StompSessionState;
  /** Bytes of a frame split across WebSocket messages, completed by the next message. */
  readonly pending: Uint8Array;
  /** How many messages `pending` was made of. */
  readonly pendingParts: number;
  /** Bumped by every save; a save is conditional on it, so two concurrent messages never overwrite each other. */
  readonly version: number;
}

/** `connectionId` as stored; `undefined` for one never opened, or closed since. */
export async function loadConnection(connectionId: string): Promise<StoredConnection | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: tableName, Key: { connectionId, key: STATE }, ConsistentRead: true }),
  );
  if (!Item) return undefined;
  return {
    state: Item.state as StompSessionState,
    pending: (Item.pending as Uint8Array | undefined) ?? new Uint8Array(0),
    pendingParts: Number(Item.pendingParts ?? 0),
    version: Number(Item.version ?? 0),
  };
}

/** Records a new connection and who opened it. */
export async function openConnection(connectionId: string, principal: string): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        connectionId,
        key: STATE,
        state: newSessionState(Date.now()),
        version: 0,
        principal,
        openedAt: new Date().toISOString(),
        expiresAt: expiresAt(),
      },
    }),
  );
}

/**
 * Saves `after` over `before` in one transaction: the state item (only if nobody saved since
 * `before` was loaded, and the connection is still open) and the subscription items that changed,
 * one per subscription, so the `byDestination` index finds the subscribers of a destination.
 * Answers false when the condition failed: load again and redo the work.
 * At most `MAX_SUBSCRIPTIONS` before and after, so the transaction stays within DynamoDB's 100 items.
 */
export async function saveConnection(
  connectionId: string,
  before: StoredConnection,
  after: { state: StompSessionState; pending: Uint8Array; pendingParts: number },
): Promise<boolean> {
  const writes: TransactWriteCommandInput['TransactItems'] = [
    {
      Update: {
        TableName: tableName,
        Key: { connectionId, key: STATE },
        UpdateExpression: 'SET #s = :s, pending = :p, pendingParts = :parts, version = :next, expiresAt = :e',
        ConditionExpression: 'version = :v',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: {
          ':s': after.state,
          ':p': after.pending,
          ':parts': after.pendingParts,
          ':next': before.version + 1,
          ':v': before.version,
          ':e': expiresAt(),
        },
      },
    },
  ];
  const was = before.state.subscriptions;
  for (const [id, destination] of Object.entries(after.state.subscriptions)) {
    if (was[id] === destination) continue;
    writes.push({
      Put: {
        TableName: tableName,
        Item: {
          connectionId,
          key: `sub#${id}`,
          subscriptionId: id,
          destination: subscriptionKeyOf(destination),
          expiresAt: expiresAt(),
        },
      },
    });
  }
  for (const id of Object.keys(was)) {
    if (!(id in after.state.subscriptions))
      writes.push({ Delete: { TableName: tableName, Key: { connectionId, key: `sub#${id}` } } });
  }
  try {
    await transactWrite({ TransactItems: writes });
    return true;
  } catch (error) {
    // The first item is the state's update: its condition failing means another save came first.
    if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') return false;
    throw error;
  }
}

/** The subscriptions found by `key` (`subscriptionKeyOf`): which connection, under which subscription id. */
export async function subscribersOf(
  key: string,
): Promise<{ connectionId: string; subscriptionId: string }[]> {
  const items = await queryAll({
    TableName: tableName,
    IndexName: 'byDestination',
    KeyConditionExpression: 'destination = :d',
    ExpressionAttributeValues: { ':d': key },
  });
  return items.map((i) => ({
    connectionId: String(i.connectionId),
    subscriptionId: String(i.subscriptionId),
  }));
}

/**
 * Removes everything of `connectionId` (it closed, or API Gateway says it is gone): that
 * connection's items only. The state item goes first: a message being handled at the same moment
 * then fails its save's condition instead of subscribing a closed connection.
 */
export async function removeConnection(connectionId: string): Promise<void> {
  await dynamo.send(new DeleteCommand({ TableName: tableName, Key: { connectionId, key: STATE } }));
  const items = await queryAll({
    TableName: tableName,
    KeyConditionExpression: 'connectionId = :c',
    ExpressionAttributeValues: { ':c': connectionId },
    ProjectionExpression: 'connectionId, #k',
    ExpressionAttributeNames: { '#k': 'key' },
  });
  for (const item of items) {
    await dynamo.send(new DeleteCommand({ TableName: tableName, Key: { connectionId, key: item.key } }));
  }
}
