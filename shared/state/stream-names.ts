/**
 * Stream names in use, per app: who publishes a name (when an app allows one publisher per name)
 * and how many players it has (when an app limits them). Every change is a conditional write, so
 * two publishers racing for a name cannot both win, and the player count can never pass its limit
 * or go below zero. Reference: WCS refuses a second publisher itself with "Stream name is already
 * in use" (§3.3); this does the same per app, before WCS starts the stream.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  cancellationCodes,
  dynamo,
  isConditionFailure,
  tableNameOf,
  transactWrite,
} from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';
import { TERMINAL_RANK } from './lifecycle.ts';
import {
  countAdmittedPlayers,
  holdingStreamsOf,
  playerAdmission,
  playerRelease,
  type StreamRef,
  streamStatusRank,
} from './streams.ts';

const namesTable = () => tableNameOf('streamNames');

export type ClaimOutcome =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly holder: StreamRef };

/**
 * How long a claim whose holder has no stream item yet counts as live: the holder's item is written
 * just after its claim, so a claimant racing it must not take the name; a holder that never wrote
 * its item (it crashed in between) loses the name after this.
 */
const UNRECORDED_HOLDER_GRACE_MS = 30_000;

/** True when the holder `ref` of a claim made at `claimedAt` no longer holds it: its stream ended, or never began. */
async function isStale(ref: StreamRef, claimedAt: string, now: Date): Promise<boolean> {
  const rank = await streamStatusRank(ref);
  if (rank === undefined) return now.getTime() - Date.parse(claimedAt) > UNRECORDED_HOLDER_GRACE_MS;
  return rank >= TERMINAL_RANK;
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
        TableName: namesTable(),
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
  let claimedAt: string;
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
    claimedAt = String(old.publishedAt);
  }
  if (!(await isStale(holder, claimedAt, now))) return { claimed: false, holder };
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
        TableName: namesTable(),
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

/**
 * Admits `player` to `name` if fewer than `maxPlayers` are admitted: one transaction increments
 * the count (only below the limit) and marks the player's stream item admitted (only once, so a
 * retried playStream is not counted twice). At the limit, when no player has joined for a few
 * seconds, the count is recomputed from the streams table once, in case it drifted because end
 * hooks were lost, and the admission retried.
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
      await transactWrite({
        TransactItems: [
          {
            Update: {
              TableName: namesTable(),
              Key: { appKey, name },
              UpdateExpression: 'ADD playerCount :one SET lastAdmittedAt = :at REMOVE expiresAt',
              ConditionExpression: 'attribute_not_exists(playerCount) OR playerCount < :max',
              ExpressionAttributeValues: { ':one': 1, ':max': maxPlayers, ':at': now.toISOString() },
            },
          },
          { Update: playerAdmission(player, appKey, name, now) },
        ],
      });
      return true;
    } catch (error) {
      // A conflict was retried (`transactWrite`): what is left is an answer of the conditions.
      const codes = cancellationCodes(error);
      if (!codes) throw error;
      // Already admitted (a retry of the same playStream), or the stream has ended: no place taken.
      if (codes[1] === 'ConditionalCheckFailed') return true;
      if (codes[0] !== 'ConditionalCheckFailed' || attempt > 0) return false;
      if (await admittedRecently(appKey, name, now)) return false;
      const actual = await countAdmittedPlayers(appKey, name);
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
  const markReleased = playerRelease(player, now);
  try {
    await transactWrite({
      TransactItems: [
        { Update: markReleased },
        {
          Update: {
            TableName: namesTable(),
            Key: { appKey, name },
            UpdateExpression: 'ADD playerCount :minus SET expiresAt = :exp',
            ConditionExpression: 'playerCount > :zero',
            ExpressionAttributeValues: { ':minus': -1, ':zero': 0, ':exp': expiresAtFor(now) },
          },
        },
      ],
    });
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
    await setPlayerCount(appKey, name, await countAdmittedPlayers(appKey, name));
  }
}

/**
 * How long after the last admission the count is trusted as it is: the recount reads an index,
 * which may not show a player admitted a moment ago, so during a burst of joins it could undercount
 * and let the limit be passed. A count that drifted is repaired once joins pause this long.
 */
const RECOUNT_QUIET_MS = 5_000;

async function admittedRecently(appKey: string, name: string, now: Date): Promise<boolean> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: namesTable(),
      Key: { appKey, name },
      ProjectionExpression: 'lastAdmittedAt',
      ConsistentRead: true,
    }),
  );
  const last = typeof Item?.lastAdmittedAt === 'string' ? Date.parse(Item.lastAdmittedAt) : Number.NaN;
  return now.getTime() - last < RECOUNT_QUIET_MS;
}

async function setPlayerCount(appKey: string, name: string, count: number): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: namesTable(),
      Key: { appKey, name },
      UpdateExpression: 'SET playerCount = :n',
      ExpressionAttributeValues: { ':n': count },
    }),
  );
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
  const items = await holdingStreamsOf(sessionId);
  for (const item of items) await releaseHolds(item, now);
}
