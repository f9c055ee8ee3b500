/**
 * Streams: one item per media session (`mediaSessionId`), a publish or a play, from the request
 * hook through PUBLISHING/PLAYING to UNPUBLISHED, STOPPED or FAILED, with the history of statuses.
 * See `docs/data-model.md`.
 */
import { createHash } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { setting } from '../kernel/config.ts';
import type { StreamBody, StreamEventBody } from '../kernel/schemas.ts';
import {
  batchGetAll,
  dynamo,
  isConditionFailure,
  queryAll,
  queryUpTo,
  tableNameOf,
} from '../store/dynamo.ts';
import { expiresAtFor } from '../store/retention.ts';
import { UpdateExpression } from '../store/update-expression.ts';
import { storedCustom, storedText } from './client-json.ts';
import {
  applyTransition,
  type LifecycleModel,
  markRefused,
  type Reported,
  reportedFacts,
  TERMINAL_RANK,
  type TransitionResult,
} from './lifecycle.ts';
import { codecsOf } from './sdp.ts';

const tableName = () => tableNameOf('streams');
/** Raw SDP is kilobytes per hook; it is kept only when `STORE_SDP=true`. Codecs are always kept. */
const storeSdp = setting('STORE_SDP');

/**
 * Stream statuses (reference §3.1): PENDING in the publishStream/playStream request, PUBLISHING or
 * PLAYING while live, then UNPUBLISHED (publisher), STOPPED (player) or FAILED, which outranks them.
 */
export const STREAM_LIFECYCLE: LifecycleModel = {
  ranks: { PENDING: 0, PUBLISHING: 1, PLAYING: 1, UNPUBLISHED: 2, STOPPED: 2, FAILED: 3 },
  liveAttribute: 'liveShard',
  liveFromRank: 1,
  failedAttribute: 'failedAppKey',
  nodeAttribute: 'liveNodeId',
  // An admitted stream whose PUBLISHING/PLAYING and FAILED hooks were lost still holds its name or
  // its place: reconciliation must find it by node to end it.
  nodeFromRank: 0,
};

/** The item key of the stream in `body`. */
export function streamKey(body: { sessionId: string; mediaSessionId: string }) {
  return { sessionId: body.sessionId, mediaSessionId: body.mediaSessionId };
}

/**
 * Partitions of the `liveStreams` index. Every app's live streams are in it, whether or not the app
 * has a policy, spread over this many partition keys so that no one key takes every live write;
 * listing all live streams is one Query per shard.
 */
export const LIVE_SHARDS = 16;

/** The `liveStreams` partition of a stream: by app and name, so one name's players are in one shard. */
export function liveShardOf(appKey: string, name: string): string {
  const digest = createHash('sha1').update(`${appKey}\n${name}`).digest();
  return `live#${String(digest.readUInt16BE(0) % LIVE_SHARDS).padStart(2, '0')}`;
}

/** Shards of one day in the `byDay` index: a day's stream starts spread over this many partition keys. */
export const HISTORY_DAY_SHARDS = 8;

/** The `byDay` partition of a stream that started at `at` (ISO): its UTC day, and a shard by its id. */
export function historyDayOf(at: string, mediaSessionId: string): string {
  const shard = createHash('sha1').update(mediaSessionId).digest().readUInt16BE(0) % HISTORY_DAY_SHARDS;
  return `${at.slice(0, 10)}#${shard}`;
}

/** Every `liveStreams` partition. */
export const ALL_LIVE_SHARDS: readonly string[] = Array.from(
  { length: LIVE_SHARDS },
  (_, i) => `live#${String(i).padStart(2, '0')}`,
);

/**
 * The sort key of a live stream in the `liveStreams` index: by name, then role, so a name's players
 * are one key range of their shard. A name may contain `#`, so a range is confirmed by filtering on
 * `name` and `appKey` (other apps' streams share shards).
 */
export function liveKeyOf(name: string, published: boolean, mediaSessionId: string): string {
  return `${name}#${published ? 'publisher' : 'player'}#${mediaSessionId}`;
}

/** A stream hook's body: a decision's (every field checked) or an event's (only the key required). */
export type StreamFacts = StreamBody | StreamEventBody;

/** Statuses only a publisher has, and only a player has (reference §3.1). */
const PUBLISHER_STATUSES = new Set(['PUBLISHING', 'UNPUBLISHED']);
const PLAYER_STATUSES = new Set(['PLAYING', 'STOPPED']);

/**
 * Whether the stream is a publisher: as the body says, or as its `mediaType` (`publish`/`play`) or
 * its status (PUBLISHING/UNPUBLISHED are a publisher's, PLAYING/STOPPED a player's) tell when WCS
 * left `published` out. `undefined` when nothing tells.
 */
export function publishedOf(body: StreamFacts, status?: string): boolean | undefined {
  if (typeof body.published === 'boolean') return body.published;
  if (body.mediaType === 'publish') return true;
  if (body.mediaType === 'play') return false;
  const said = status ?? body.status ?? undefined;
  if (said && PUBLISHER_STATUSES.has(said)) return true;
  if (said && PLAYER_STATUSES.has(said)) return false;
  return undefined;
}

/** What identifies the stream beyond its key, as far as the hook tells it; the same in every hook about it. */
function identity(body: StreamFacts, name: string | undefined, published: boolean | undefined) {
  return {
    ...(name !== undefined &&
      published !== undefined && { liveKey: liveKeyOf(name, published, body.mediaSessionId) }),
    nodeId: body.nodeId,
    appKey: body.appKey,
    name,
    published,
  };
}

/**
 * A number as DynamoDB can store it: JSON numbers it cannot (past ±2^53 the SDK refuses to round
 * one; past its range of 1E-130 to 1E+126 DynamoDB does) are kept as their text instead.
 */
export function storableNumber(value: number | null | undefined): number | string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Number.isInteger(value)) return Number.isSafeInteger(value) ? value : String(value);
  const magnitude = Math.abs(value);
  return Number.isFinite(value) && magnitude < 1e125 && magnitude > 1e-129 ? value : String(value);
}

/** The media facts of the stream object (reference §3.4), as the latest hook states them. */
function mediaFacts(body: StreamFacts) {
  return {
    info: body.info,
    hasVideo: body.hasVideo,
    hasAudio: body.hasAudio,
    record: body.record,
    recordName: body.recordName,
    audioCodec: body.audioCodec,
    videoCodec: body.videoCodec,
    width: storableNumber(body.width),
    height: storableNumber(body.height),
    bitrate: storableNumber(body.bitrate),
    minBitrate: storableNumber(body.minBitrate),
    maxBitrate: storableNumber(body.maxBitrate),
    quality: storableNumber(body.quality),
    mediaProvider: body.mediaProvider,
    mediaType: body.mediaType,
    transport: body.transport,
    cvoExtension: body.cvoExtension,
    createDate: storableNumber(body.createDate),
    rtmpUrl: body.rtmpUrl,
    audioMuted: body.audioState?.muted,
    videoMuted: body.videoState?.muted,
    ...storedCustom(body.custom),
    ...(storeSdp && storedText('sdp', body.sdp, false)),
  };
}

/**
 * The stream's name and role: from the hook, or, when an event left them out, from what earlier
 * hooks recorded (one consistent read, only then).
 */
async function nameAndRole(body: StreamFacts, status: string) {
  let name = body.name ?? undefined;
  let published = publishedOf(body, status);
  if (name === undefined || published === undefined) {
    const { Item } = await dynamo.send(
      new GetCommand({
        TableName: tableName(),
        Key: streamKey(body),
        ProjectionExpression: '#n, published',
        ExpressionAttributeNames: { '#n': 'name' },
        ConsistentRead: true,
      }),
    );
    name ??= typeof Item?.name === 'string' ? Item.name : undefined;
    published ??= typeof Item?.published === 'boolean' ? Item.published : undefined;
  }
  return { name, published };
}

/**
 * Records a hook that reports the stream's status: publishStream/playStream (PENDING, §1.3) and
 * StreamStatusEvent (§1.4). The history entry keeps the codecs offered in the SDP, when WCS sent one.
 * A stream whose name or role no hook has told yet is recorded, and joins the live index once one does.
 * `reported` says when an end happened, or that reconciliation found the stream on its node.
 */
export async function recordStreamStatus(
  body: StreamFacts,
  status: string,
  receivedAt: Date,
  extra: Record<string, unknown> = {},
  reported: Reported = {},
): Promise<TransitionResult> {
  const { name, published } = await nameAndRole(body, status);
  return applyTransition(tableName(), STREAM_LIFECYCLE, {
    key: streamKey(body),
    status,
    appKey: body.appKey,
    liveValue: name !== undefined && published !== undefined ? liveShardOf(body.appKey, name) : null,
    at: receivedAt.toISOString(),
    ...reportedFacts(reported),
    expiresAt: expiresAtFor(receivedAt),
    constants: {
      ...identity(body, name, published),
      historyDay: historyDayOf(receivedAt.toISOString(), body.mediaSessionId),
    },
    latest: { ...mediaFacts(body), ...extra },
    ...(body.sdp && { historyDetails: { codecs: codecsOf(body.sdp) } }),
  });
}

/**
 * Records an unPublishStream/stopStream request (§1.3): the client asked to stop. The status does
 * not change here; WCS reports the end in a StreamStatusEvent. One idempotent write, made only to a
 * stream of the hook's node (`foreign` otherwise, with the stream's node).
 */
export async function recordStopRequest(body: StreamFacts, receivedAt: Date): Promise<TransitionResult> {
  const update = new UpdateExpression().setIfMissing('stopRequestedAt', receivedAt.toISOString());
  for (const [k, v] of Object.entries(identity(body, body.name ?? undefined, publishedOf(body))))
    if (v !== undefined) update.setIfMissing(k, v);
  const node = update.name('nodeId');
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: streamKey(body),
        ...update.toParams(`attribute_not_exists(${node}) OR ${node} = ${update.value(body.nodeId)}`),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { outcome: 'advanced' };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return { outcome: 'foreign', ...(nodeIdOf(error) !== undefined && { itemNodeId: nodeIdOf(error) }) };
  }
}

/**
 * Marks the publish or play in `body` refused by its decision hook (`markRefused`): what tells the
 * usage aggregates and the history a refused attempt from an admitted one that failed, since WCS
 * reports a refused publish or play as FAILED (reference §1.3) like any failure. Written before the
 * 403 is answered; a repeat (a WCS retry on a transport error) changes nothing. False when the item
 * is not this attempt's (another node's, or recorded before the refused hook).
 */
export function recordStreamRefusal(body: StreamFacts, receivedAt: Date, reason: string): Promise<boolean> {
  return markRefused(tableName(), streamKey(body), {
    at: receivedAt.toISOString(),
    reason,
    nodeId: body.nodeId,
    expiresAt: expiresAtFor(receivedAt),
    facts: identity(body, body.name ?? undefined, publishedOf(body)),
  });
}

/** The `nodeId` of the item a failed condition returned (in DynamoDB's wire format). */
function nodeIdOf(error: unknown): string | undefined {
  return (error as { Item?: { nodeId?: { S?: string } } }).Item?.nodeId?.S;
}

const keepAliveWriteMs = setting('KEEP_ALIVE_WRITE_INTERVAL_S') * 1000;
/** Streams whose keep-alive this instance wrote, and when (oldest first): at most `KEEP_ALIVE_MEMO_SIZE`. */
const keepAliveWritten = new Map<string, number>();
const KEEP_ALIVE_MEMO_SIZE = 20_000;

/**
 * Records a StreamKeepAliveEvent (§1.4): one write that refreshes `lastKeepAliveAt` of a live stream.
 * A keep-alive for a stream we have not seen live (its PUBLISHING/PLAYING hook was lost or is late)
 * is that status report; a keep-alive for an ended stream revives nothing, nor does one from another
 * node than the stream's (`foreign`).
 *
 * WCS sends one per stream every few seconds (`streaming_sessions_keep_alive_interval`, 10 s in its
 * examples): a stream this instance found live and refreshed less than `KEEP_ALIVE_WRITE_INTERVAL_S`
 * ago is not written again (no write unit, and `undefined`), since the write would change only that
 * time. What the keep-alive decides (a revoked session's stream refused) is decided on every one all
 * the same.
 */
export async function recordKeepAlive(
  body: StreamFacts,
  status: string,
  receivedAt: Date,
): Promise<TransitionResult | undefined> {
  const memoKey = `${body.nodeId}#${body.sessionId}#${body.mediaSessionId}`;
  const writtenAt = keepAliveWritten.get(memoKey);
  if (writtenAt !== undefined && receivedAt.getTime() - writtenAt < keepAliveWriteMs) return undefined;
  const update = new UpdateExpression()
    .set('lastKeepAliveAt', receivedAt.toISOString())
    .set('expiresAt', expiresAtFor(receivedAt));
  // Rank 1 is PUBLISHING/PLAYING: the stream is live and this is the routine refresh, from its node.
  const condition = `${update.name('statusRank')} = ${update.value(1)} AND ${update.name('nodeId')} = ${update.value(body.nodeId)}`;
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName(),
        Key: streamKey(body),
        ...update.toParams(condition),
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return recordStreamStatus(body, status, receivedAt, { lastKeepAliveAt: receivedAt.toISOString() });
  }
  // Found live, and refreshed: remembered (re-inserted, so the map stays oldest first).
  keepAliveWritten.delete(memoKey);
  keepAliveWritten.set(memoKey, receivedAt.getTime());
  if (keepAliveWritten.size > KEEP_ALIVE_MEMO_SIZE) {
    const oldest = keepAliveWritten.keys().next().value;
    if (oldest !== undefined) keepAliveWritten.delete(oldest);
  }
  return { outcome: 'advanced' };
}

/** A live stream (PUBLISHING or PLAYING), as the `liveStreams` index projects it. */
export interface LiveStream {
  readonly sessionId: string;
  readonly mediaSessionId: string;
  readonly appKey: string;
  readonly name: string;
  readonly published: boolean;
  readonly nodeId: string;
}

export interface LiveStreamFilter {
  /** Only this app's. Default: every app's, whether or not it has a policy. */
  readonly appKey?: string;
  /** Only this name's: with `appKey`, one Query; without, the name in every app. */
  readonly name?: string;
  /** Only publishers (`true`) or only players (`false`). */
  readonly published?: boolean;
}

/**
 * The live streams `filter` names, from the `liveStreams` index: one Query for one app's name, one
 * per shard otherwise; never a Scan.
 */
export async function listLiveStreams(filter: LiveStreamFilter = {}): Promise<LiveStream[]> {
  const { appKey, name, published } = filter;
  const role = published === undefined ? '' : `${published ? 'publisher' : 'player'}#`;
  const shards = appKey !== undefined && name !== undefined ? [liveShardOf(appKey, name)] : ALL_LIVE_SHARDS;
  const conditions = [
    ...(appKey !== undefined ? ['appKey = :app'] : []),
    ...(name !== undefined ? ['#n = :name'] : []),
    ...(published !== undefined ? ['published = :published'] : []),
  ];
  const pages = await Promise.all(
    shards.map((shard) =>
      queryAll({
        TableName: tableName(),
        IndexName: 'liveStreams',
        KeyConditionExpression:
          name === undefined ? 'liveShard = :shard' : 'liveShard = :shard AND begins_with(liveKey, :prefix)',
        ...(conditions.length > 0 && { FilterExpression: conditions.join(' AND ') }),
        ...(name !== undefined && { ExpressionAttributeNames: { '#n': 'name' } }),
        ExpressionAttributeValues: {
          ':shard': shard,
          ...(name !== undefined && { ':prefix': `${name}#${role}`, ':name': name }),
          ...(appKey !== undefined && { ':app': appKey }),
          ...(published !== undefined && { ':published': published }),
        },
      }),
    ),
  );
  return pages.flat().map((item) => ({
    sessionId: String(item.sessionId),
    mediaSessionId: String(item.mediaSessionId),
    appKey: String(item.appKey),
    name: String(item.name),
    published: item.published === true,
    nodeId: String(item.nodeId),
  }));
}

/** A media session, as the streams table keys it. */
export interface StreamRef {
  readonly sessionId: string;
  readonly mediaSessionId: string;
}

/**
 * The streams WCS node `nodeId` should still have, as this backend knows them (`liveByNode`): the
 * live ones and the admitted ones not yet live (PENDING).
 */
export async function liveStreamsOn(nodeId: string): Promise<StreamRef[]> {
  const keys = await queryAll({
    TableName: tableName(),
    IndexName: 'liveByNode',
    KeyConditionExpression: 'liveNodeId = :node',
    ExpressionAttributeValues: { ':node': nodeId },
  });
  return keys.map((k) => ({ sessionId: String(k.sessionId), mediaSessionId: String(k.mediaSessionId) }));
}

/** The items of `keys`, whole, in no particular order (the realms show live streams with their status and times). */
export const streamItems = (keys: readonly StreamRef[]) => getStreams(keys);

/** Reads `keys` (`batchGetAll`), each item with `projection` or whole. */
function getStreams(
  keys: readonly StreamRef[],
  options: { projection?: string; consistent?: boolean } = {},
): Promise<Record<string, unknown>[]> {
  return batchGetAll(tableName(), keys.map(streamKey), options);
}

/** The status rank of stream `ref` (`STREAM_LIFECYCLE`), read consistently; `undefined` if it has no item yet. */
export async function streamStatusRank(ref: StreamRef): Promise<number | undefined> {
  const [item] = await getStreams([ref], { projection: 'statusRank', consistent: true });
  return item === undefined ? undefined : Number(item.statusRank ?? -1);
}

/** Every stream of session `sessionId`, in the order of their keys. */
export async function streamsOfSession(sessionId: string): Promise<Record<string, unknown>[]> {
  return queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'sessionId = :s',
    ExpressionAttributeValues: { ':s': sessionId },
  });
}

/** The streams of session `sessionId` that hold something: a name they publish, or a player's place. */
export async function holdingStreamsOf(sessionId: string): Promise<Record<string, unknown>[]> {
  return queryAll({
    TableName: tableName(),
    KeyConditionExpression: 'sessionId = :s',
    FilterExpression:
      'holdsName = :true OR (attribute_exists(admittedAt) AND attribute_not_exists(releasedAt))',
    ExpressionAttributeValues: { ':s': sessionId, ':true': true },
  });
}

/**
 * Every publish and play of `name` (any app) whose first status is within `from`..`to` when given,
 * newest first, at most `limit`: the `byName` index, then the items.
 */
export async function streamsByName(
  name: string,
  range: { from?: string; to?: string; limit: number },
): Promise<Record<string, unknown>[]> {
  const ranged = range.from !== undefined || range.to !== undefined;
  const keys = await queryUpTo(
    {
      TableName: tableName(),
      IndexName: 'byName',
      KeyConditionExpression: ranged ? '#n = :name AND firstStatusAt BETWEEN :from AND :to' : '#n = :name',
      ExpressionAttributeNames: { '#n': 'name' },
      ExpressionAttributeValues: {
        ':name': name,
        ...(ranged && { ':from': range.from ?? '', ':to': range.to ?? '~' }),
      },
      ScanIndexForward: false,
    },
    range.limit,
  );
  return getStreams(
    keys.map((k) => ({ sessionId: String(k.sessionId), mediaSessionId: String(k.mediaSessionId) })),
  );
}

/**
 * Every publish and play whose first status is within `from`..`to` (ISO; at most `HISTORY_DAYS_MAX`
 * days apart), newest first, at most `limit` after skipping `offset`: one Query per shard of each day
 * of the `byDay` index (newest day first, stopping once enough are found), then the items.
 */
export async function streamsByTime(range: {
  from: string;
  to: string;
  limit: number;
  offset: number;
  keep?: (key: StreamRef) => boolean;
}): Promise<Record<string, unknown>[]> {
  const wanted = range.offset + range.limit;
  const found: { key: StreamRef; at: string }[] = [];
  for (
    let day = new Date(`${range.to.slice(0, 10)}T00:00:00Z`);
    ;
    day = new Date(day.getTime() - 86_400_000)
  ) {
    const dayText = day.toISOString().slice(0, 10);
    if (dayText < range.from.slice(0, 10)) break;
    const shards = await Promise.all(
      Array.from({ length: HISTORY_DAY_SHARDS }, (_, shard) =>
        queryUpTo(
          {
            TableName: tableName(),
            IndexName: 'byDay',
            KeyConditionExpression: 'historyDay = :day AND firstStatusAt BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':day': `${dayText}#${shard}`,
              ':from': range.from,
              ':to': range.to,
            },
            ScanIndexForward: false,
          },
          // A filter may drop keys: read more than asked for then, never the whole day.
          range.keep ? wanted * 4 : wanted,
        ),
      ),
    );
    const ofDay = shards
      .flat()
      .map((k) => ({
        key: { sessionId: String(k.sessionId), mediaSessionId: String(k.mediaSessionId) },
        at: String(k.firstStatusAt),
      }))
      .filter((k) => range.keep?.(k.key) ?? true)
      .sort((a, b) => b.at.localeCompare(a.at));
    found.push(...ofDay);
    if (found.length >= wanted) break;
  }
  return getStreams(found.slice(range.offset, wanted).map((k) => k.key));
}

/**
 * The players of `name` in `appKey` admitted and not yet released, counted from the items (the
 * `byName` index, then each item). Costs a read per play of the name within retention: for when a
 * player count is in doubt.
 */
export async function countAdmittedPlayers(appKey: string, name: string): Promise<number> {
  const keys = await queryAll({
    TableName: tableName(),
    IndexName: 'byName',
    KeyConditionExpression: '#n = :name',
    ExpressionAttributeNames: { '#n': 'name' },
    ExpressionAttributeValues: { ':name': name },
  });
  const items = await getStreams(
    keys.map((k) => ({ sessionId: String(k.sessionId), mediaSessionId: String(k.mediaSessionId) })),
    { projection: 'appKey, published, admittedAt, releasedAt, statusRank' },
  );
  return items.filter(
    (item) =>
      item.appKey === appKey &&
      item.published === false &&
      item.admittedAt &&
      !item.releasedAt &&
      Number(item.statusRank ?? -1) < TERMINAL_RANK,
  ).length;
}

/**
 * The update, for a transaction of the caller's, that marks `player` admitted under `name`: once,
 * and never a player whose stream has already ended (its STOPPED, or a refusal, came first), which
 * would hold a place nobody releases. With the fields a recount reads (and the byName index needs).
 */
export function playerAdmission(player: StreamRef, appKey: string, name: string, now: Date) {
  return {
    TableName: tableName(),
    Key: streamKey(player),
    UpdateExpression:
      'SET admittedAt = :at, appKey = :app, #n = :name, published = :false, firstStatusAt = if_not_exists(firstStatusAt, :at), historyDay = if_not_exists(historyDay, :day)',
    ConditionExpression:
      'attribute_not_exists(admittedAt) AND (attribute_not_exists(statusRank) OR statusRank < :terminal)',
    ExpressionAttributeNames: { '#n': 'name' },
    ExpressionAttributeValues: {
      ':at': now.toISOString(),
      ':day': historyDayOf(now.toISOString(), player.mediaSessionId),
      ':app': appKey,
      ':name': name,
      ':false': false,
      ':terminal': TERMINAL_RANK,
    },
  };
}

/** The update that marks `player`'s place released: once, and only an admitted player's. */
export function playerRelease(player: StreamRef, now: Date) {
  return {
    TableName: tableName(),
    Key: streamKey(player),
    UpdateExpression: 'SET releasedAt = :at',
    ConditionExpression: 'attribute_exists(admittedAt) AND attribute_not_exists(releasedAt)',
    ExpressionAttributeValues: { ':at': now.toISOString() },
  };
}

/**
 * Marks `ref` as the holder of its name (`holdsName`), once `stream-names.ts` let it claim the name:
 * a publisher found by reconciliation, whose publishStream (which marks it) never came. Its end then
 * releases the name as any publisher's does.
 */
export async function markNameHeld(ref: StreamRef): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: tableName(),
      Key: streamKey(ref),
      UpdateExpression: 'SET holdsName = :true',
      ExpressionAttributeValues: { ':true': true },
    }),
  );
}
