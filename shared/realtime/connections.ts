/**
 * The realtime API's connections: each one's STOMP state and subscriptions, in the `connections`
 * table, so that any function (or the local server) can handle any of its frames, and a change can
 * be pushed to the subscribers of a destination with one Query.
 */
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { newSessionState, type StompSessionState } from '../stomp/session.ts';
import { dynamo, queryAll, tableNameOf } from '../store/dynamo.ts';

const tableName = tableNameOf('connections');
const STATE = '#state';
/** API Gateway ends a WebSocket connection after 2 h; items outlive it an hour, then TTL removes them. */
const LIFETIME_SECONDS = 3 * 3600;

const expiresAt = () => Math.floor(Date.now() / 1000) + LIFETIME_SECONDS;

/** The STOMP state of `connectionId`; a fresh one for a connection not seen yet. */
export async function loadConnection(connectionId: string): Promise<StompSessionState> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: tableName, Key: { connectionId, key: STATE }, ConsistentRead: true }),
  );
  return Item ? (Item.state as StompSessionState) : newSessionState();
}

/** Records a new connection and who opened it. */
export async function openConnection(connectionId: string, principal: string): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        connectionId,
        key: STATE,
        state: newSessionState(),
        principal,
        openedAt: new Date().toISOString(),
        expiresAt: expiresAt(),
      },
    }),
  );
}

/**
 * Saves `after`, and the subscription items that changed since `before`: one item per subscription,
 * so the `byDestination` index finds the subscribers of a destination.
 */
export async function saveConnection(
  connectionId: string,
  before: StompSessionState,
  after: StompSessionState,
): Promise<void> {
  const writes: Record<string, unknown>[] = [];
  for (const [id, destination] of Object.entries(after.subscriptions)) {
    if (before.subscriptions[id] !== destination) {
      writes.push({
        PutRequest: {
          Item: { connectionId, key: `sub#${id}`, subscriptionId: id, destination, expiresAt: expiresAt() },
        },
      });
    }
  }
  for (const id of Object.keys(before.subscriptions)) {
    if (!(id in after.subscriptions))
      writes.push({ DeleteRequest: { Key: { connectionId, key: `sub#${id}` } } });
  }
  writes.push({ PutRequest: { Item: { connectionId, key: STATE, state: after, expiresAt: expiresAt() } } });
  for (let i = 0; i < writes.length; i += 25) {
    let request: Record<string, Record<string, unknown>[]> | undefined = {
      [tableName]: writes.slice(i, i + 25),
    };
    while (request && (request[tableName]?.length ?? 0) > 0) {
      const result = await dynamo.send(new BatchWriteCommand({ RequestItems: request as never }));
      request = result.UnprocessedItems as typeof request;
    }
  }
}

/** The subscriptions to `destination`: which connection, under which subscription id. */
export async function subscribersOf(
  destination: string,
): Promise<{ connectionId: string; subscriptionId: string }[]> {
  const items = await queryAll({
    TableName: tableName,
    IndexName: 'byDestination',
    KeyConditionExpression: 'destination = :d',
    ExpressionAttributeValues: { ':d': destination },
  });
  return items.map((i) => ({
    connectionId: String(i.connectionId),
    subscriptionId: String(i.subscriptionId),
  }));
}

/** Removes everything of `connectionId` (it closed, or API Gateway says it is gone): that connection's items only. */
export async function removeConnection(connectionId: string): Promise<void> {
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
