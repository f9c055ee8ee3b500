/**
 * Streams: one item per media session (`mediaSessionId`), a publish or a play, from the request
 * hook through PUBLISHING/PLAYING to UNPUBLISHED, STOPPED or FAILED, with the history of statuses.
 * See `docs/data-model.md`.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { booleanEnv } from './config.ts';
import { applyTransition, type LifecycleModel, type TransitionResult } from './lifecycle.ts';
import { expiresAtFor } from './retention.ts';
import type { StreamBody } from './schemas.ts';
import { codecsOf } from './sdp.ts';
import { dynamo, isConditionFailure, tableNameOf } from './store/dynamo.ts';
import { UpdateExpression } from './store/update-expression.ts';

const tableName = tableNameOf('streams');
/** Raw SDP is kilobytes per hook; it is kept only when `STORE_SDP=true`. Codecs are always kept. */
const storeSdp = booleanEnv('STORE_SDP', false);

/**
 * Stream statuses (reference §3.1): PENDING in the publishStream/playStream request, PUBLISHING or
 * PLAYING while live, then UNPUBLISHED (publisher), STOPPED (player) or FAILED, which outranks them.
 */
export const STREAM_LIFECYCLE: LifecycleModel = {
  ranks: { PENDING: 0, PUBLISHING: 1, PLAYING: 1, UNPUBLISHED: 2, STOPPED: 2, FAILED: 3 },
  liveAttribute: 'liveAppKey',
  liveFromRank: 1,
  failedAttribute: 'failedAppKey',
};

/** The item key of the stream in `body`. */
export function streamKey(body: { sessionId: string; mediaSessionId: string }) {
  return { sessionId: body.sessionId, mediaSessionId: body.mediaSessionId };
}

/** The sort key of a live stream in the `liveByApp` index: by name, then role, so a name's players are one range. */
export function liveKeyOf(name: string, published: boolean, mediaSessionId: string): string {
  return `${name}#${published ? 'publisher' : 'player'}#${mediaSessionId}`;
}

/** What identifies the stream beyond its key; the same in every hook about it. */
function identity(body: StreamBody) {
  return {
    liveKey: liveKeyOf(body.name, body.published, body.mediaSessionId),
    nodeId: body.nodeId,
    appKey: body.appKey,
    name: body.name,
    published: body.published,
  };
}

/** The media facts of the stream object (reference §3.4), as the latest hook states them. */
function mediaFacts(body: StreamBody) {
  return {
    info: body.info,
    hasVideo: body.hasVideo,
    hasAudio: body.hasAudio,
    record: body.record,
    recordName: body.recordName,
    audioCodec: body.audioCodec,
    videoCodec: body.videoCodec,
    width: body.width,
    height: body.height,
    bitrate: body.bitrate,
    minBitrate: body.minBitrate,
    maxBitrate: body.maxBitrate,
    quality: body.quality,
    mediaProvider: body.mediaProvider,
    mediaType: body.mediaType,
    transport: body.transport,
    cvoExtension: body.cvoExtension,
    createDate: body.createDate,
    rtmpUrl: body.rtmpUrl,
    audioMuted: body.audioState?.muted,
    videoMuted: body.videoState?.muted,
    custom: body.custom === undefined || body.custom === null ? undefined : JSON.stringify(body.custom),
    sdp: storeSdp ? body.sdp : undefined,
  };
}

/**
 * Records a hook that reports the stream's status: publishStream/playStream (PENDING, §1.3) and
 * StreamStatusEvent (§1.4). The history entry keeps the codecs offered in the SDP, when WCS sent one.
 */
export function recordStreamStatus(
  body: StreamBody,
  status: string,
  receivedAt: Date,
  extra: Record<string, unknown> = {},
): Promise<TransitionResult> {
  return applyTransition(tableName, STREAM_LIFECYCLE, {
    key: streamKey(body),
    status,
    appKey: body.appKey,
    at: receivedAt.toISOString(),
    expiresAt: expiresAtFor(receivedAt),
    constants: identity(body),
    latest: { ...mediaFacts(body), ...extra },
    ...(body.sdp && { historyDetails: { codecs: codecsOf(body.sdp) } }),
  });
}

/**
 * Records an unPublishStream/stopStream request (§1.3): the client asked to stop. The status does
 * not change here; WCS reports the end in a StreamStatusEvent. One idempotent write.
 */
export async function recordStopRequest(body: StreamBody, receivedAt: Date): Promise<void> {
  const update = new UpdateExpression().setIfMissing('stopRequestedAt', receivedAt.toISOString());
  for (const [k, v] of Object.entries(identity(body))) update.setIfMissing(k, v);
  await dynamo.send(
    new UpdateCommand({
      TableName: tableName,
      Key: streamKey(body),
      ...update.toParams(),
    }),
  );
}

/**
 * Records a StreamKeepAliveEvent (§1.4): one write that refreshes `lastKeepAliveAt` of a live stream.
 * A keep-alive for a stream we have not seen live (its PUBLISHING/PLAYING hook was lost or is late)
 * is that status report; a keep-alive for an ended stream revives nothing.
 */
export async function recordKeepAlive(body: StreamBody, status: string, receivedAt: Date): Promise<void> {
  const update = new UpdateExpression()
    .set('lastKeepAliveAt', receivedAt.toISOString())
    .set('expiresAt', expiresAtFor(receivedAt));
  // Rank 1 is PUBLISHING/PLAYING: the stream is live and this is the routine refresh.
  const condition = `${update.name('statusRank')} = ${update.value(1)}`;
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: tableName,
        Key: streamKey(body),
        ...update.toParams(condition),
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    await recordStreamStatus(body, status, receivedAt, { lastKeepAliveAt: receivedAt.toISOString() });
  }
}
