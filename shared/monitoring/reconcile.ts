/**
 * Reconciliation: what this backend believes is live on a WCS node, made to agree with what the node
 * says it has (`/rest-api/connection/find_all`, and the streams the poller already asked for), so a
 * lost end hook, a node that crashed or restarted, leaves no session open and no stream live.
 *
 * - An open session or live stream the node no longer has is ended through the same path as WCS's
 *   own DISCONNECTED, UNPUBLISHED or STOPPED (the recorders: holds released, realtime told), with
 *   an `info` beginning `Reconciled by wcs-hooks:` that says when the node last confirmed it.
 * - A session or stream the node has and this backend never saw (its start hooks lost) is recorded,
 *   marked found by reconciliation.
 * - Anything whose last hook is younger than `RECONCILE_GRACE_S` is left alone (its hook may be in
 *   flight), and the lifecycle rules keep any newer real hook: nothing ended is reopened, and a
 *   recorded start is a duplicate to the real one.
 * - A node that gives no usable answer (5xx, 401, garbage) is not reconciled: nothing is ended.
 * - A node that has not answered at all for `NODE_LOST_AFTER_S` is lost: everything on it is ended.
 */
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';
import { askNode } from '../sender/wcs-client.ts';
import type { NodeStatus } from '../state/monitoring.ts';
import { recorderByMethod } from '../state/recorders.ts';
import { openSessionsOn, recordUnseenSession, sessionItems } from '../state/sessions.ts';
import { liveStreamsOn, streamItems } from '../state/streams.ts';
import type { WcsStream } from './plan.ts';

const graceMs = setting('RECONCILE_GRACE_S') * 1000;

/** Where a reconciliation's writes go: the recorders, as a real hook's. */
const record = recorderByMethod();

export interface ReconcileSummary {
  readonly sessionsEnded: number;
  readonly streamsEnded: number;
  readonly sessionsFound: number;
  readonly streamsFound: number;
}

/** A connection as `connection/find_all` lists it (reference §3.5). */
interface WcsConnection {
  readonly sessionId: string;
  readonly appKey?: unknown;
}

/** The node's connections: a list (404 "not found" is none), or why the answer cannot be used. */
async function connectionsOf(nodeId: string): Promise<WcsConnection[] | { unusable: string }> {
  const answer = await askNode(nodeId, '/connection/find_all', {});
  if (!answer.answered) return { unusable: answer.reason };
  if (answer.status === 404 && /not found/i.test(answer.text) && !/<html/i.test(answer.text)) return [];
  if (answer.status !== 200) return { unusable: `connection/find_all answered ${answer.status}` };
  let list: unknown;
  try {
    list = JSON.parse(answer.text);
  } catch {
    return { unusable: 'connection/find_all answered with a body that is not JSON' };
  }
  if (!Array.isArray(list)) return { unusable: 'connection/find_all answered JSON that is not a list' };
  if (!list.every((c) => typeof (c as WcsConnection | null)?.sessionId === 'string'))
    return { unusable: 'connection/find_all listed a connection without a sessionId' };
  return list as WcsConnection[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const isLive = (status: unknown) => status === 'PUBLISHING' || status === 'PLAYING';

/** When the node last confirmed `item`: its last hook, or the last reconciliation that found it. */
function lastConfirmed(item: Record<string, unknown>, node: NodeStatus): string {
  const last = Date.parse(String(item.lastStatusAt ?? item.firstStatusAt ?? ''));
  const reconciled = node.lastReconciledAt;
  const first = Date.parse(String(item.firstStatusAt ?? ''));
  const confirmed = reconciled !== undefined && first < reconciled ? Math.max(last || 0, reconciled) : last;
  return Number.isFinite(confirmed) && confirmed > 0 ? iso(confirmed) : 'never';
}

/** A hook that moved this item within the grace period: its end may be in flight, or its start. */
function tooYoung(item: Record<string, unknown>, now: number): boolean {
  const last = Date.parse(String(item.lastStatusAt ?? ''));
  return Number.isFinite(last) && now - last < graceMs;
}

/**
 * Applies the StreamStatusEvent WCS would have sent for `stream` (an item of ours, or a stream the
 * node lists), through its recorder, as a hook of `node` received at `now`.
 */
function recordStream(
  node: NodeStatus,
  stream: { appKey?: unknown; sessionId?: unknown; mediaSessionId?: unknown; name?: unknown },
  change: { published: boolean | undefined; status: unknown },
  info: string,
  now: number,
  why: 'reconciled' | 'found',
): Promise<unknown> {
  return record(
    {
      nodeId: node.nodeId,
      appKey: stream.appKey,
      sessionId: stream.sessionId,
      mediaSessionId: stream.mediaSessionId,
      ...(typeof stream.name === 'string' && { name: stream.name }),
      ...(change.published !== undefined && { published: change.published }),
      status: change.status,
      info,
    },
    {
      method: 'StreamStatusEvent',
      receivedAt: new Date(now),
      digest: `${why}-${String(stream.mediaSessionId)}-${now}`,
    },
  );
}

/** Ends `sessions` and `streams` (items) through the recorders, each with `info`. */
async function endAll(
  node: NodeStatus,
  sessions: readonly Record<string, unknown>[],
  streams: readonly Record<string, unknown>[],
  now: number,
  info: (item: Record<string, unknown>) => string,
): Promise<void> {
  const receivedAt = new Date(now);
  for (const stream of streams) {
    const published = stream.published === true;
    await recordStream(
      node,
      stream,
      { published, status: published ? 'UNPUBLISHED' : 'STOPPED' },
      info(stream),
      now,
      'reconciled',
    );
  }
  for (const session of sessions) {
    await record(
      {
        nodeId: node.nodeId,
        appKey: session.appKey,
        sessionId: session.sessionId,
        status: 'DISCONNECTED',
        info: info(session),
      },
      {
        method: 'ConnectionStatusEvent',
        receivedAt,
        digest: `reconciled-${String(session.sessionId)}-${now}`,
      },
    );
  }
}

/**
 * Reconciles `node` with what it has: `streams` (as the poller's own request found them) and its
 * connections (asked here). `{unusable}`, with why, when the node's answer cannot be used: nothing
 * is changed.
 */
export async function reconcileNode(
  node: NodeStatus,
  streams: readonly WcsStream[],
  now: number,
): Promise<ReconcileSummary | { unusable: string }> {
  const connections = await connectionsOf(node.nodeId);
  if (!Array.isArray(connections)) return connections;
  const theirSessions = new Map(connections.map((c) => [c.sessionId, c]));
  const theirStreams = new Map(streams.map((s) => [s.mediaSessionId, s]));
  const [ourSessionIds, ourStreamRefs] = await Promise.all([
    openSessionsOn(node.nodeId),
    liveStreamsOn(node.nodeId),
  ]);
  const ourSessions = new Set(ourSessionIds);
  const ourStreams = new Set(ourStreamRefs.map((r) => r.mediaSessionId));

  // Gone: what we hold open or live that the node no longer has, unless a hook may be in flight.
  const goneSessions = (await sessionItems(ourSessionIds.filter((id) => !theirSessions.has(id)))).filter(
    (item) => !tooYoung(item, now),
  );
  const goneStreams = (
    await streamItems(ourStreamRefs.filter((r) => !theirStreams.has(r.mediaSessionId)))
  ).filter((item) => !tooYoung(item, now));
  await endAll(
    node,
    goneSessions,
    goneStreams,
    now,
    (item) =>
      `Reconciled by wcs-hooks: node ${node.nodeId} no longer has it (asked at ${iso(now)}; last confirmed ${lastConfirmed(item, node)})`,
  );

  // Found: what the node has and this backend never recorded (an item it ended stays ended).
  const unseenSessions = connections.filter(
    (c) => !ourSessions.has(c.sessionId) && typeof c.appKey === 'string',
  );
  const knownSessions = new Set(
    (await sessionItems(unseenSessions.map((c) => c.sessionId))).map((i) => i.sessionId),
  );
  let sessionsFound = 0;
  for (const connection of unseenSessions) {
    if (knownSessions.has(connection.sessionId)) continue;
    await recordUnseenSession(
      { nodeId: node.nodeId, appKey: connection.appKey as string, sessionId: connection.sessionId },
      'reconciliation',
      new Date(now),
    );
    sessionsFound++;
  }
  const unseenStreams = streams.filter(
    (s) =>
      !ourStreams.has(s.mediaSessionId) &&
      isLive(s.status) &&
      typeof s.sessionId === 'string' &&
      typeof s.appKey === 'string',
  );
  const knownStreams = new Set(
    (
      await streamItems(
        unseenStreams.map((s) => ({ sessionId: s.sessionId as string, mediaSessionId: s.mediaSessionId })),
      )
    )
      .filter((i) => i.status !== undefined)
      .map((i) => i.mediaSessionId),
  );
  let streamsFound = 0;
  for (const stream of unseenStreams) {
    if (knownStreams.has(stream.mediaSessionId)) continue;
    await recordStream(
      node,
      stream,
      {
        published: typeof stream.published === 'boolean' ? stream.published : undefined,
        status: stream.status,
      },
      `Found by wcs-hooks reconciliation at ${iso(now)}: node ${node.nodeId} has it, its start hooks never arrived`,
      now,
      'found',
    );
    streamsFound++;
  }
  const summary = {
    sessionsEnded: goneSessions.length,
    streamsEnded: goneStreams.length,
    sessionsFound,
    streamsFound,
  };
  if (Object.values(summary).some((n) => n > 0))
    logger.info('reconciled a WCS node', { nodeId: node.nodeId, ...summary });
  return summary;
}

/**
 * Ends everything `node` holds open or live, because the node is lost (it has not answered for
 * `NODE_LOST_AFTER_S`); answers how many of each were ended.
 */
export async function endLostNode(node: NodeStatus, now: number, reason: string): Promise<ReconcileSummary> {
  const [sessionIds, streamRefs] = await Promise.all([
    openSessionsOn(node.nodeId),
    liveStreamsOn(node.nodeId),
  ]);
  const [sessions, streams] = await Promise.all([sessionItems(sessionIds), streamItems(streamRefs)]);
  const since = node.downSince === undefined ? 'now' : iso(node.downSince);
  await endAll(
    node,
    sessions,
    streams,
    now,
    () => `Node lost (wcs-hooks): ${node.nodeId} has not answered since ${since} (${reason})`,
  );
  logger.warn('a WCS node is lost: its sessions and streams were ended', {
    nodeId: node.nodeId,
    sessions: sessions.length,
    streams: streams.length,
  });
  return { sessionsEnded: sessions.length, streamsEnded: streams.length, sessionsFound: 0, streamsFound: 0 };
}
