/**
 * Stream names in use, per app: who publishes a name (when an app allows one publisher per name)
 * and how many players it has (when an app limits them). Every change is a conditional write, so
 * two publishers racing for a name cannot both win, and the player count can never pass its limit
 * or go below zero. Reference: WCS refuses a second publisher itself with "Stream name is already
 * in use" (§3.3); this does the same per app, before WCS starts the stream.
 */
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TERMINAL_RANK } from './lifecycle.ts';
import { expiresAtFor } from './retention.ts';
import { dynamo, isConditionFailure, tableNameOf } from './store/dynamo.ts';

const namesTable = tableNameOf('streamNames');
const streamsTable = tableNameOf('streams');

/** A media session, as the streams table keys it. */
export interface StreamRef {
  readonly sessionId: string;
  readonly mediaSessionId: string;
}

export type ClaimOutcome =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly holder: StreamRef };

async function streamItem(ref: StreamRef, projection: string) {
  const { Responses } = await dynamo.send(
    new BatchGetCommand({
      RequestItems: {
        [streamsTable]: { Keys: [ref], ProjectionExpression: projection, ConsistentRead: true },
      },
    }),
  );
  return Responses?.[streamsTable]?.[0];
}

/** True when the stream `ref` is over (or was never recorded): its hold on a name is stale. */
async function hasEnded(ref: StreamRef): Promise<boolean> {
  const item = await streamItem(ref, 'statusRank');
  return item === undefined || Number(item.statusRank ?? -1) >= TERMINAL_RANK;
}

/**
 * Makes `stream` the publisher of `name`. Idempotent for the holder (WCS retries); refused while
 * another live stream holds the name. A holder whose stream has ended without releasing the name
 * (its end hook lost) is replaced, conditionally, so two claimants still cannot both win.
 */
export async function claimPublisher(
  appKey: string,
  name: string,
  stream: StreamRef,
  now: Date,
): Promise<ClaimOutcome> {
  const claim = (condition: string, values: Record<string, unknown>) =>
    dynamo.send(
      new UpdateCommand({
        TableName: namesTable,
        Key: { appKey, name },
        UpdateExpression:
          'SET publisherMediaSessionId = :ms, publisherSessionId = :s, publishedAt = :at REMOVE expiresAt',
        ConditionExpression: condition,
        ExpressionAttributeValues: {
          ':ms': stream.mediaSessionId,
          ':s': stream.sessionId,
          ':at': now.toISOString(),
          ...values,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  let holder: StreamRef;
  try {
    await claim('attribute_not_exists(publisherMediaSessionId) OR publisherMediaSessionId = :ms', {});
    return { claimed: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const old = unmarshall((error as { Item: Parameters<typeof unmarshall>[0] }).Item);
    holder = {
      sessionId: String(old.publisherSessionId),
      mediaSessionId: String(old.publisherMediaSessionId),
    };
  }
  if (!(await hasEnded(holder))) return { claimed: false, holder };
  try {
    await claim('publisherMediaSessionId = :stale', { ':stale': holder.mediaSessionId });
    return { claimed: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return { claimed: false, holder };
  }
}

/** Frees `name` if `stream` holds it; a no-op otherwise. */
export async function releasePublisher(
  appKey: string,
  name: string,
  stream: StreamRef,
  now: Date,
): Promise<void> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: namesTable,
        Key: { appKey, name },
        UpdateExpression:
          'REMOVE publisherMediaSessionId, publisherSessionId, publishedAt SET expiresAt = :exp',
        ConditionExpression: 'publisherMediaSessionId = :ms',
        ExpressionAttributeValues: { ':ms': stream.mediaSessionId, ':exp': expiresAtFor(now) },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

function cancellationCodes(error: unknown): string[] | undefined {
  if ((error as { name?: string }).name !== 'TransactionCanceledException') return undefined;
  return ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map(
    (r) => r.Code ?? 'None',
  );
}

/**
 * Admits `player` to `name` if fewer than `maxPlayers` are admitted: one transaction increments
 * the count (only below the limit) and marks the player's stream item admitted (only once, so a
 * retried playStream is not counted twice). At the limit, the count is recomputed from the
 * streams table once, in case it drifted because end hooks were lost, and the admission retried.
 */
export async function admitPlayer(
  appKey: string,
  name: string,
  player: StreamRef,
  maxPlayers: number,
  now: Date,
): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: namesTable,
                Key: { appKey, name },
                UpdateExpression: 'ADD playerCount :one REMOVE expiresAt',
                ConditionExpression: 'attribute_not_exists(playerCount) OR playerCount < :max',
                ExpressionAttributeValues: { ':one': 1, ':max': maxPlayers },
              },
            },
            {
              Update: {
                TableName: streamsTable,
                Key: player,
                UpdateExpression: 'SET admittedAt = :at',
                ConditionExpression: 'attribute_not_exists(admittedAt)',
                ExpressionAttributeValues: { ':at': now.toISOString() },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      const codes = cancellationCodes(error);
      if (!codes) throw error;
      // Already admitted: a retry of the same playStream.
      if (codes[1] === 'ConditionalCheckFailed') return true;
      if (codes[0] !== 'ConditionalCheckFailed' || attempt > 0) return false;
      const actual = await recountPlayers(appKey, name);
      if (actual >= maxPlayers) return false;
      await setPlayerCount(appKey, name, actual);
    }
  }
  return false;
}

/**
 * Releases `player`'s place under `name`: once, and never below zero. If the count would go below
 * zero it had drifted; the player is released and the count recomputed.
 */
export async function releasePlayer(
  appKey: string,
  name: string,
  player: StreamRef,
  now: Date,
): Promise<void> {
  const markReleased = {
    TableName: streamsTable,
    Key: player,
    UpdateExpression: 'SET releasedAt = :at',
    ConditionExpression: 'attribute_exists(admittedAt) AND attribute_not_exists(releasedAt)',
    ExpressionAttributeValues: { ':at': now.toISOString() },
  };
  try {
    await dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          { Update: markReleased },
          {
            Update: {
              TableName: namesTable,
              Key: { appKey, name },
              UpdateExpression: 'ADD playerCount :minus SET expiresAt = :exp',
              ConditionExpression: 'playerCount > :zero',
              ExpressionAttributeValues: { ':minus': -1, ':zero': 0, ':exp': expiresAtFor(now) },
            },
          },
        ],
      }),
    );
  } catch (error) {
    const codes = cancellationCodes(error);
    if (!codes) throw error;
    if (codes[0] === 'ConditionalCheckFailed') return; // never admitted, or released already
    try {
      await dynamo.send(new UpdateCommand(markReleased));
    } catch (inner) {
      if (!isConditionFailure(inner)) throw inner;
      return;
    }
    await setPlayerCount(appKey, name, await recountPlayers(appKey, name));
  }
}

async function setPlayerCount(appKey: string, name: string, count: number): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: namesTable,
      Key: { appKey, name },
      UpdateExpression: 'SET playerCount = :n',
      ExpressionAttributeValues: { ':n': count },
    }),
  );
}

/**
 * The players of `name` in `appKey` admitted and not yet released, counted from the streams table
 * (the `byName` index, then the items). Costs a read per play of the name within retention: used
 * only when the count is in doubt.
 */
export async function recountPlayers(appKey: string, name: string): Promise<number> {
  const keys: StreamRef[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: streamsTable,
        IndexName: 'byName',
        KeyConditionExpression: '#n = :name',
        ExpressionAttributeNames: { '#n': 'name' },
        ExpressionAttributeValues: { ':name': name },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? [])
      keys.push({ sessionId: String(item.sessionId), mediaSessionId: String(item.mediaSessionId) });
    start = page.LastEvaluatedKey;
  } while (start);
  let count = 0;
  for (let i = 0; i < keys.length; i += 100) {
    let request: BatchGetCommandInput['RequestItems'] = {
      [streamsTable]: {
        Keys: keys.slice(i, i + 100),
        ProjectionExpression: 'appKey, published, admittedAt, releasedAt, statusRank',
      },
    };
    while (request && Object.keys(request).length > 0) {
      const page: {
        Responses?: Record<string, Record<string, unknown>[]>;
        UnprocessedKeys?: BatchGetCommandInput['RequestItems'];
      } = await dynamo.send(new BatchGetCommand({ RequestItems: request }));
      const { Responses, UnprocessedKeys } = page;
      for (const item of Responses?.[streamsTable] ?? []) {
        const live = Number(item.statusRank ?? -1) < TERMINAL_RANK;
        if (item.appKey === appKey && item.published === false && item.admittedAt && !item.releasedAt && live)
          count++;
      }
      request = UnprocessedKeys;
    }
  }
  return count;
}

/**
 * Releases what a stream item holds: the name it publishes (one publisher per name) and its place
 * as a player (player limit). Each release is conditional, so releasing twice (its own end hook,
 * then its session's DISCONNECTED) changes nothing the second time.
 */
export async function releaseHolds(item: Record<string, unknown>, now: Date): Promise<void> {
  const ref = { sessionId: String(item.sessionId), mediaSessionId: String(item.mediaSessionId) };
  const [appKey, name] = [String(item.appKey), String(item.name)];
  if (item.holdsName === true) await releasePublisher(appKey, name, ref, now);
  if (item.admittedAt !== undefined && item.releasedAt === undefined)
    await releasePlayer(appKey, name, ref, now);
}

/** Releases the holds of every stream of `sessionId` (it ended: DISCONNECTED or FAILED). */
export async function releaseSessionHolds(sessionId: string, now: Date): Promise<void> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: streamsTable,
        KeyConditionExpression: 'sessionId = :s',
        FilterExpression:
          'holdsName = :true OR (attribute_exists(admittedAt) AND attribute_not_exists(releasedAt))',
        ExpressionAttributeValues: { ':s': sessionId, ':true': true },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) await releaseHolds(item, now);
    start = page.LastEvaluatedKey;
  } while (start);
}
