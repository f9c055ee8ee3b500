/**
 * Sessions: one item per WCS WebSocket session (`sessionId`), from `connect` to DISCONNECTED or
 * FAILED, with the user and grants admission gave it. See `docs/data-model.md`.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { customWithoutCredentials } from '../kernel/credentials.ts';
import { withoutValueAt } from '../kernel/dotted-path.ts';
import type { ConnectBody, ConnectionStatusEventBody } from '../kernel/schemas.ts';
import { batchGetAll, dynamo, isConditionFailure, queryAll, tableNameOf } from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';
import { storedCustom } from './client-json.ts';
import {
  applyTransition,
  type LifecycleModel,
  markRefused,
  type Reported,
  reportedFacts,
  TERMINAL_RANK,
  type TransitionResult,
} from './lifecycle.ts';

const tableName = () => tableNameOf('sessions');

/** What a client may do, as its verified token says (`shared/admission/tokens.ts`); kept on its session. */
export interface ClientGrants {
  readonly userId: string;
  /** The token's `jti`, when it has one: what `deny --token` names (`denials.ts`). */
  readonly tokenId?: string;
  readonly publish: string[];
  readonly play: string[];
  readonly data: boolean;
}

/**
 * Summaries of earlier generations a session item keeps (`previousGenerations`): a bound on the
 * item's size, which every later write of it pays for; the older ones are counted.
 */
export const PREVIOUS_GENERATIONS_KEPT = 10;

/**
 * Session statuses (reference §3.2): PENDING from `connect` until WCS reports ESTABLISHED, then
 * DISCONNECTED or FAILED. FAILED outranks DISCONNECTED because WCS sends FAILED then DISCONNECTED
 * for a refused connect (§1.2), and the failure is the fact worth keeping.
 */
export const SESSION_LIFECYCLE: LifecycleModel = {
  ranks: { PENDING: 0, ESTABLISHED: 1, DISCONNECTED: 2, FAILED: 3 },
  liveAttribute: 'openAppKey',
  liveFromRank: 0,
  nodeAttribute: 'openNodeId',
  // WCS ids like `/clientIP:port/serverIP:port` come back behind NAT: a later connection under an
  // ended session's id is a new generation of the item, the earlier ones kept in brief.
  generations: {
    summary: [
      'generationStartedAt',
      'appKey',
      'nodeId',
      'userId',
      'connectedAt',
      'firstStatusAt',
      'endedAt',
      'endDetectedAt',
      'status',
      'info',
      'statusHistory',
      'refusedAt',
    ],
    kept: PREVIOUS_GENERATIONS_KEPT,
  },
};

/** The user a session belongs to when its token named none (open admission). */
export const ANONYMOUS = '-';

/** The sort key of a session in the `openByApp` index: its user first, so one user's sessions are one range. */
export function openKeyOf(userId: string | undefined, sessionId: string): string {
  return `${userId ?? ANONYMOUS}#${sessionId}`;
}

/**
 * `custom` without the token, as text (`client-json.ts`): a credential is not history. `connect`
 * knows the app's token path and removes exactly it; any other hook removes every credential-named
 * field (`credentials.ts`), as it cannot read the app's policy.
 */
function customWithoutToken(custom: unknown, tokenPath: string | undefined) {
  if (
    tokenPath?.startsWith('custom.') &&
    typeof custom === 'object' &&
    custom !== null &&
    !Array.isArray(custom)
  ) {
    return storedCustom(withoutValueAt(custom, tokenPath.slice('custom.'.length)));
  }
  // Client-defined JSON, kept as text: any depth, any number, nothing DynamoDB could refuse.
  return storedCustom(tokenPath ? custom : customWithoutCredentials(custom));
}

/** What every hook of a session says about its client; the same in each, so the first one seen is kept. */
function clientFacts(body: ConnectBody, tokenPath?: string) {
  return {
    nodeId: body.nodeId,
    appKey: body.appKey,
    clientVersion: body.clientVersion,
    clientOSVersion: body.clientOSVersion,
    clientBrowserVersion: body.clientBrowserVersion,
    mediaProviders: body.mediaProviders,
    ...customWithoutToken(body.custom, tokenPath),
  };
}

/** Who admission let in: the token's user and grants, or nobody in particular. */
export interface Admitted {
  readonly grants?: ClientGrants;
  /** Where the token was in the body, so it is not stored. */
  readonly tokenPath?: string;
}

/**
 * Records an admitted `connect` (reference §1.2): the session exists, PENDING until ESTABLISHED. A
 * connect for a session that has ended, received strictly after its end was, is a later connection
 * under the same id: it starts a new generation. One received no later than the end (the connect
 * write of a decision abandoned to its fail mode, whose FAILED carries the connect's own arrival)
 * never reopens it. `foreign` when the session is open on another node.
 */
export function recordConnect(
  body: ConnectBody,
  receivedAt: Date,
  admitted: Admitted = {},
): Promise<TransitionResult> {
  const { grants } = admitted;
  return applyTransition(tableName(), SESSION_LIFECYCLE, {
    key: { sessionId: body.sessionId },
    status: 'PENDING',
    appKey: body.appKey,
    at: receivedAt.toISOString(),
    expiresAt: expiresAtFor(receivedAt),
    constants: {
      ...clientFacts(body, admitted.tokenPath),
      connectedAt: receivedAt.toISOString(),
      openKey: openKeyOf(grants?.userId, body.sessionId),
      userId: grants?.userId,
      tokenId: grants?.tokenId,
      grantsPublish: grants?.publish,
      grantsPlay: grants?.play,
      grantsData: grants?.data,
    },
    latest: {},
    marks: { connectSeen: true },
    newGenerationIfEndedBefore: receivedAt.toISOString(),
  });
}

/** How reconciliation records a session a node has (`recordUnseenSession`). */
export interface UnseenSessionOptions {
  /** Found on the node, not reported by WCS: the real ESTABLISHED, arriving later, replaces it. */
  readonly provisional?: boolean;
  /**
   * When the session's item has ended, and its end was detected before this time (the node lists
   * the id again past the grace: a later connection under it), a new generation of it is started.
   * Default: an ended session stays ended.
   */
  readonly newGenerationIfEndedBefore?: Date;
}

/**
 * Records a session this backend first hears of from a later hook (`method`): its `connect` went to
 * another backend, or the app calls only some methods here, or reconciliation found it on its node.
 * WCS sends that hook only for an established session, so it is recorded ESTABLISHED, with
 * `connectSeen: false` (until a late `connect` says otherwise) and the method it was first seen by.
 */
export function recordUnseenSession(
  body: { nodeId: string; appKey: string; sessionId: string },
  method: string,
  receivedAt: Date,
  options: UnseenSessionOptions = {},
): Promise<TransitionResult> {
  return applyTransition(tableName(), SESSION_LIFECYCLE, {
    key: { sessionId: body.sessionId },
    status: 'ESTABLISHED',
    appKey: body.appKey,
    at: receivedAt.toISOString(),
    ...(options.provisional && { provisional: true }),
    ...(options.newGenerationIfEndedBefore && {
      newGenerationIfEndedBefore: options.newGenerationIfEndedBefore.toISOString(),
    }),
    expiresAt: expiresAtFor(receivedAt),
    constants: {
      nodeId: body.nodeId,
      appKey: body.appKey,
      openKey: openKeyOf(undefined, body.sessionId),
      connectSeen: false,
      firstSeenBy: method,
    },
    latest: {},
    historyDetails: { seenBy: method },
  });
}

/**
 * Records a `ConnectionStatusEvent` (reference §1.4): ESTABLISHED, FAILED or DISCONNECTED, with
 * `info`; `reported` says when an end happened, or that reconciliation found the status.
 */
export function recordConnectionStatus(
  body: ConnectionStatusEventBody,
  receivedAt: Date,
  reported: Reported = {},
): Promise<TransitionResult> {
  return applyTransition(tableName(), SESSION_LIFECYCLE, {
    key: { sessionId: body.sessionId },
    status: body.status,
    appKey: body.appKey,
    at: receivedAt.toISOString(),
    ...reportedFacts(reported),
    expiresAt: expiresAtFor(receivedAt),
    constants: { ...clientFacts(body), openKey: openKeyOf(undefined, body.sessionId), connectSeen: false },
    latest: { info: body.info },
  });
}

/**
 * Marks the session in `body` refused by its `connect` (`markRefused`): what tells the usage
 * aggregates a refused connect from an admitted session that failed, since WCS reports a refused
 * connect as FAILED (reference §1.2). Written before the 403 is answered; a later connection under
 * the same id (a new generation) starts without it, and an earlier one's item is left as it is.
 */
export function recordConnectRefusal(
  body: { nodeId: string; appKey: string; sessionId: string },
  receivedAt: Date,
  reason: string,
): Promise<boolean> {
  return markRefused(
    tableName(),
    { sessionId: body.sessionId },
    {
      at: receivedAt.toISOString(),
      reason,
      nodeId: body.nodeId,
      expiresAt: expiresAtFor(receivedAt),
      facts: { appKey: body.appKey },
    },
  );
}

/** What decisions need to know about a session. */
export interface SessionState {
  readonly sessionId: string;
  readonly appKey: string;
  readonly nodeId: string;
  readonly status: string;
  readonly ended: boolean;
  readonly revoked: boolean;
  readonly userId?: string;
  /** The `jti` of the token it connected with, if any. */
  readonly tokenId?: string;
  readonly grantsPublish: string[];
  readonly grantsPlay: string[];
  readonly grantsData: boolean;
}

/** The state of a session just admitted: established, no grants (a token's come with its `connect`). */
export function newSessionState(context: {
  sessionId: string;
  appKey: string;
  nodeId: string;
}): SessionState {
  return {
    sessionId: context.sessionId,
    appKey: context.appKey,
    nodeId: context.nodeId,
    status: 'ESTABLISHED',
    ended: false,
    revoked: false,
    grantsPublish: [],
    grantsPlay: [],
    grantsData: false,
  };
}

/** The whole item of session `sessionId` (its status history included), as the analysts' realms show it. */
/** The sessions open on WCS node `nodeId`, as this backend knows them (`openByNode`): their ids. */
export async function openSessionsOn(nodeId: string): Promise<string[]> {
  const keys = await queryAll({
    TableName: tableName(),
    IndexName: 'openByNode',
    KeyConditionExpression: 'openNodeId = :node',
    ExpressionAttributeValues: { ':node': nodeId },
  });
  return keys.map((k) => String(k.sessionId));
}

/** The items of sessions `ids` (those that exist): `batchGetAll`. */
export function sessionItems(ids: readonly string[]): Promise<Record<string, unknown>[]> {
  return batchGetAll(
    tableName(),
    ids.map((sessionId) => ({ sessionId })),
  );
}

export async function sessionRecord(sessionId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.send(new GetCommand({ TableName: tableName(), Key: { sessionId } }));
  return Item;
}

/** The session `sessionId`, read consistently (its `connect` may have been written a moment ago). */
export async function getSession(sessionId: string): Promise<SessionState | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: tableName(), Key: { sessionId }, ConsistentRead: true }),
  );
  if (!Item) return undefined;
  return {
    sessionId,
    appKey: String(Item.appKey),
    nodeId: String(Item.nodeId),
    status: String(Item.status),
    ended: Number(Item.statusRank ?? -1) >= TERMINAL_RANK,
    revoked: Item.revoked === true,
    ...(typeof Item.userId === 'string' && { userId: Item.userId }),
    ...(typeof Item.tokenId === 'string' && { tokenId: Item.tokenId }),
    grantsPublish: (Item.grantsPublish as string[] | undefined) ?? [],
    grantsPlay: (Item.grantsPlay as string[] | undefined) ?? [],
    grantsData: Item.grantsData === true,
  };
}

/** An open session, as the `openByApp` index lists it. */
export interface OpenSession {
  readonly sessionId: string;
  readonly nodeId: string;
  readonly appKey: string;
}

/** The open sessions of `appKey`, or of one user in it. One Query on the `openByApp` index, paged. */
export async function listOpenSessions(appKey: string, userId?: string): Promise<OpenSession[]> {
  const sessions: OpenSession[] = [];
  const items = await queryAll({
    TableName: tableName(),
    IndexName: 'openByApp',
    KeyConditionExpression: userId
      ? 'openAppKey = :app AND begins_with(openKey, :user)'
      : 'openAppKey = :app',
    ExpressionAttributeValues: { ':app': appKey, ...(userId && { ':user': `${userId}#` }) },
  });
  for (const item of items) {
    // A user id may itself contain `#`: the key range of user `a` also holds user `a#b`'s sessions.
    if (userId !== undefined && item.userId !== userId) continue;
    sessions.push({ sessionId: String(item.sessionId), nodeId: String(item.nodeId), appKey });
  }
  return sessions;
}

/**
 * Marks `sessionId` revoked: its next StreamKeepAliveEvent is refused, which makes WCS end the
 * stream (reference §1.4), and it may not publish, play or send data any more. False if unknown.
 */
export async function revokeSession(sessionId: string, now: Date): Promise<boolean> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: { sessionId },
        UpdateExpression: 'SET revoked = :true, revokedAt = if_not_exists(revokedAt, :at)',
        ConditionExpression: 'attribute_exists(sessionId)',
        ExpressionAttributeValues: { ':true': true, ':at': now.toISOString() },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
