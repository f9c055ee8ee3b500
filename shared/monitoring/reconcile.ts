/**
 * Reconciliation: makes the tables agree with what each WCS node really has (`docs/reconciliation.md`).
 *
 * Hooks can be lost (a node restarts, a hook times out, a network blip), so the sessions this backend
 * holds open and the streams it holds live may have ended long ago on the node; and a node may have
 * what no hook ever told. The poller reads each node's streams and connections, verified
 * (`answers.ts`: every entry checked, a 404 believed only from a confirmed WCS REST API), and:
 *
 * - what this backend holds (open sessions, PENDING or live streams, by the per-node indexes) that the
 *   node no longer has is ended through the recorder of the hook WCS would have sent
 *   (ConnectionStatusEvent DISCONNECTED, StreamStatusEvent UNPUBLISHED/STOPPED), so the lifecycle
 *   rules, holds, realtime topics and history behave as for a real end; stamped with when it
 *   happened as well as can be known (the last evidence of life), apart from when it was found;
 * - what the node has that was never recorded (or a session id it lists again after it ended: a new
 *   connection that reused it) is recorded provisionally, so its real hooks, if they come, replace
 *   what reconciliation wrote; a found publisher takes its name where the app allows one per name;
 * - a grace period (`RECONCILE_GRACE_S`) leaves alone what a hook moved just now (its end, or its
 *   start, may be in flight), and a stream the node says it created just now;
 * - at most `RECONCILE_MAX_CHANGES` ends and records per node and run: the rest wait for the next.
 *
 * A node that has neither answered nor sent a hook for `NODE_LOST_AFTER_S` is lost (`endLostNode`);
 * a live stream whose keep-alives stopped while its node's other hooks still arrive is ended
 * (`sweepKeepAlives`), where the node's own answer cannot say.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';
import { METRIC, metrics } from '../kernel/metrics.ts';
import { getAppPolicy } from '../state/apps.ts';
import type { NodeStatus, ReconcileCounts } from '../state/monitoring.ts';
import { recorderByMethod } from '../state/recorders.ts';
import { openSessionsOn, recordUnseenSession, sessionItems } from '../state/sessions.ts';
import { claimPublisher } from '../state/stream-names.ts';
import { liveStreamsOn, markNameHeld, streamItems } from '../state/streams.ts';
import type { WcsConnectionEntry, WcsStreamEntry } from './answers.ts';

const graceMs = setting('RECONCILE_GRACE_S') * 1000;
const maxChanges = setting('RECONCILE_MAX_CHANGES');
const keepAliveTimeoutMs = setting('STREAM_KEEP_ALIVE_TIMEOUT_S') * 1000;
/** Writes of one reconciliation in flight at once: DynamoDB takes them in parallel. */
const WRITE_CONCURRENCY = 8;

if (keepAliveTimeoutMs > 0 && keepAliveTimeoutMs < 3 * setting('KEEP_ALIVE_WRITE_INTERVAL_S') * 1000) {
  // `lastKeepAliveAt` is written at most every KEEP_ALIVE_WRITE_INTERVAL_S: a shorter timeout would
  // end streams whose keep-alives arrive.
  throw new Error(
    `STREAM_KEEP_ALIVE_TIMEOUT_S (${keepAliveTimeoutMs / 1000}) must be 0 or at least 3 × KEEP_ALIVE_WRITE_INTERVAL_S (${setting('KEEP_ALIVE_WRITE_INTERVAL_S')})`,
  );
}

/** Where a reconciliation's writes go: the recorders, as a real hook's. */
const record = recorderByMethod();

export interface ReconcileSummary extends ReconcileCounts {
  /** What this backend held on the node before (open sessions, streams not ended). */
  readonly held: number;
  /** Changes left for the next run (past `RECONCILE_MAX_CHANGES`, or the run stopping). */
  readonly deferred: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const isLive = (status: unknown) => status === 'PUBLISHING' || status === 'PLAYING';
const timeOf = (value: unknown) => {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
};

/** The latest moment `item`'s own hooks show it alive: its last status or keep-alive. */
function ownEvidence(item: Record<string, unknown>): number | undefined {
  const times = [item.lastStatusAt, item.lastKeepAliveAt, item.firstStatusAt]
    .map(timeOf)
    .filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.max(...times) : undefined;
}

/**
 * The last evidence that `item` was alive on `node`: its own last hook or keep-alive, or the last
 * reconciliation that found it there (one that began after the item did, and did not end it).
 */
export function lastEvidence(item: Record<string, unknown>, node: NodeStatus): number | undefined {
  const own = ownEvidence(item);
  const first = timeOf(item.firstStatusAt);
  const reconciled = node.lastReconciledAt;
  return reconciled !== undefined && first !== undefined && first < reconciled
    ? Math.max(own ?? 0, reconciled)
    : own;
}

/** A hook that moved this item within the grace period: its end may be in flight, or its start. */
function tooYoung(item: Record<string, unknown>, now: number): boolean {
  const last = timeOf(item.lastStatusAt);
  return last !== undefined && now - last < graceMs;
}

/** Runs `work` over `items`, `limit` at a time, until done or `signal` stops it. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !signal?.aborted) await work(items[next++] as T);
  });
  await Promise.all(workers);
}

/** What an end stands for, as a hook would report it: why, and when it happened (`happenedAt`). */
interface EndStamp {
  readonly info: (item: Record<string, unknown>) => string;
  readonly happenedAt: (item: Record<string, unknown>) => number | undefined;
}

/** Ends `streams` and then `sessions` (items) through the recorders, as the hooks WCS would have sent. */
async function endAll(
  node: NodeStatus,
  sessions: readonly Record<string, unknown>[],
  streams: readonly Record<string, unknown>[],
  now: number,
  stamp: EndStamp,
  signal?: AbortSignal,
): Promise<void> {
  const hookOf = (method: string, item: Record<string, unknown>, key: unknown) => {
    const happened = stamp.happenedAt(item);
    return {
      method,
      receivedAt: new Date(now),
      digest: `reconciled-${String(key)}-${now}`,
      ...(happened !== undefined && happened < now && { happenedAt: new Date(happened) }),
    };
  };
  await inParallel(
    streams,
    WRITE_CONCURRENCY,
    async (stream) => {
      const published = stream.published === true;
      await record(
        {
          nodeId: node.nodeId,
          appKey: stream.appKey,
          sessionId: stream.sessionId,
          mediaSessionId: stream.mediaSessionId,
          ...(typeof stream.name === 'string' && { name: stream.name }),
          published,
          status: published ? 'UNPUBLISHED' : 'STOPPED',
          info: stamp.info(stream),
        },
        hookOf('StreamStatusEvent', stream, stream.mediaSessionId),
      );
    },
    signal,
  );
  await inParallel(
    sessions,
    WRITE_CONCURRENCY,
    async (session) => {
      await record(
        {
          nodeId: node.nodeId,
          appKey: session.appKey,
          sessionId: session.sessionId,
          status: 'DISCONNECTED',
          info: stamp.info(session),
        },
        hookOf('ConnectionStatusEvent', session, session.sessionId),
      );
    },
    signal,
  );
}

/** At most `budget` of `items`, and how many were left over. */
function within<T>(items: readonly T[], budget: { left: number }): T[] {
  const taken = items.slice(0, Math.max(0, budget.left));
  budget.left -= taken.length;
  return taken;
}

/**
 * Records `stream`, which the node has live and this backend never recorded, as its
 * StreamStatusEvent would have, provisionally; a publisher of an app that allows one publisher per
 * name takes the name (unless another live publisher holds it: then it is recorded without it, and
 * a warning says so).
 */
async function recordFoundStream(node: NodeStatus, stream: WcsStreamEntry, now: number): Promise<void> {
  const appKey = stream.appKey as string;
  const ref = { sessionId: stream.sessionId as string, mediaSessionId: stream.mediaSessionId };
  await record(
    {
      nodeId: node.nodeId,
      appKey,
      sessionId: ref.sessionId,
      mediaSessionId: ref.mediaSessionId,
      ...(typeof stream.name === 'string' && { name: stream.name }),
      ...(typeof stream.published === 'boolean' && { published: stream.published }),
      status: stream.status,
      info: `Found by wcs-hooks reconciliation at ${iso(now)}: node ${node.nodeId} has it, its start hooks never arrived`,
    },
    {
      method: 'StreamStatusEvent',
      receivedAt: new Date(now),
      digest: `found-${ref.mediaSessionId}-${now}`,
      provisional: true,
    },
  );
  if (stream.published !== true || typeof stream.name !== 'string') return;
  const policy = await getAppPolicy(appKey);
  if (!policy.singlePublisher) return;
  const claim = await claimPublisher(appKey, stream.name, ref, new Date(now));
  if (claim.claimed) await markNameHeld(ref);
  else
    logger.warn('a found publisher could not take its name: another live publisher holds it', {
      nodeId: node.nodeId,
      appKey,
      name: stream.name,
      mediaSessionId: ref.mediaSessionId,
      holder: claim.holder.mediaSessionId,
    });
}

/**
 * Reconciles `node` with what it has: `streams` and `connections`, as read and verified by the
 * poller (a finder's trusted "none" is an empty list). Ends what the node no longer has, records
 * what it has that was never recorded, at most `RECONCILE_MAX_CHANGES` of them; `signal` stops it
 * between writes.
 */
export async function reconcileNode(
  node: NodeStatus,
  streams: readonly WcsStreamEntry[],
  connections: readonly WcsConnectionEntry[],
  now: number,
  signal?: AbortSignal,
): Promise<ReconcileSummary> {
  const theirSessions = new Set(connections.map((c) => c.sessionId));
  const theirStreams = new Set(streams.map((s) => s.mediaSessionId));
  const [ourSessionIds, ourStreamRefs] = await Promise.all([
    openSessionsOn(node.nodeId),
    liveStreamsOn(node.nodeId),
  ]);
  const ourSessions = new Set(ourSessionIds);
  const ourStreams = new Set(ourStreamRefs.map((r) => r.mediaSessionId));
  const budget = { left: maxChanges };
  let wanted = 0;

  // Gone: what we hold that the node no longer has, unless a hook may be in flight.
  const [goneSessionItems, goneStreamItems] = await Promise.all([
    sessionItems(ourSessionIds.filter((id) => !theirSessions.has(id))),
    streamItems(ourStreamRefs.filter((r) => !theirStreams.has(r.mediaSessionId))),
  ]);
  const goneStreamsAll = goneStreamItems.filter((item) => !tooYoung(item, now));
  const goneSessionsAll = goneSessionItems.filter((item) => !tooYoung(item, now));
  wanted += goneStreamsAll.length + goneSessionsAll.length;
  const goneStreams = within(goneStreamsAll, budget);
  const goneSessions = within(goneSessionsAll, budget);
  await endAll(
    node,
    goneSessions,
    goneStreams,
    now,
    {
      info: (item) => {
        const evidence = lastEvidence(item, node);
        return `Reconciled by wcs-hooks: node ${node.nodeId} no longer has it (asked at ${iso(now)}; last confirmed ${evidence === undefined ? 'never' : iso(evidence)})`;
      },
      happenedAt: (item) => lastEvidence(item, node),
    },
    signal,
  );

  // Found: sessions the node has that we do not hold open. Never seen: recorded. Ended more than the
  // grace ago: a new connection reused the id (a new generation). Ended just now: its end stands.
  const unseenConnections = connections.filter(
    (c) => !ourSessions.has(c.sessionId) && typeof c.appKey === 'string',
  );
  const unseenItems = new Map(
    (await sessionItems(unseenConnections.map((c) => c.sessionId))).map((i) => [String(i.sessionId), i]),
  );
  const foundSessionsAll = unseenConnections.filter((c) => {
    const item = unseenItems.get(c.sessionId);
    if (!item) return true;
    // Open on another node (a hook named it elsewhere first): the node of a session is fixed.
    if (item.endedAt === undefined) return false;
    return !tooYoung(item, now);
  });
  wanted += foundSessionsAll.length;
  const foundSessions = within(foundSessionsAll, budget);
  await inParallel(
    foundSessions,
    WRITE_CONCURRENCY,
    async (connection) => {
      await recordUnseenSession(
        { nodeId: node.nodeId, appKey: connection.appKey as string, sessionId: connection.sessionId },
        'reconciliation',
        new Date(now),
        { provisional: true, newGenerationIfEndedBefore: new Date(now - graceMs) },
      );
    },
    signal,
  );

  // Found streams: live on the node, never recorded live here (an ended one stays ended: a media
  // session does not restart), and not created just now (its own hooks may be on their way).
  const unseenStreams = streams.filter(
    (s) =>
      !ourStreams.has(s.mediaSessionId) &&
      isLive(s.status) &&
      typeof s.sessionId === 'string' &&
      typeof s.appKey === 'string' &&
      !(typeof s.createDate === 'number' && now - s.createDate < graceMs),
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
  const foundStreamsAll = unseenStreams.filter((s) => !knownStreams.has(s.mediaSessionId));
  wanted += foundStreamsAll.length;
  const foundStreams = within(foundStreamsAll, budget);
  await inParallel(foundStreams, WRITE_CONCURRENCY, (s) => recordFoundStream(node, s, now), signal);

  const done = signal?.aborted ? 0 : goneSessions.length + goneStreams.length;
  const summary: ReconcileSummary = {
    sessionsEnded: signal?.aborted ? 0 : goneSessions.length,
    streamsEnded: signal?.aborted ? 0 : goneStreams.length,
    sessionsFound: signal?.aborted ? 0 : foundSessions.length,
    streamsFound: signal?.aborted ? 0 : foundStreams.length,
    held: ourSessionIds.length + ourStreamRefs.length,
    deferred: signal?.aborted ? wanted - done : wanted - (maxChanges - budget.left),
  };
  if (summary.sessionsEnded + summary.streamsEnded + summary.sessionsFound + summary.streamsFound > 0)
    logger.info('reconciled a WCS node', { nodeId: node.nodeId, ...summary });
  if (summary.deferred > 0)
    logger.warn(
      'a WCS node has more to reconcile than one run does (RECONCILE_MAX_CHANGES): the rest next run',
      {
        nodeId: node.nodeId,
        deferred: summary.deferred,
      },
    );
  return summary;
}

/**
 * Ends everything `node` holds open or live (at most `RECONCILE_MAX_CHANGES` a run), because it is
 * lost: it has neither answered nor sent a hook for `NODE_LOST_AFTER_S`. Each end is stamped with the
 * later of the item's own last evidence and `lastLifeAt`, the node's last sign of life.
 */
export async function endLostNode(
  node: NodeStatus,
  now: number,
  reason: string,
  lastLifeAt: number | undefined,
  signal?: AbortSignal,
): Promise<ReconcileSummary> {
  const [sessionIds, streamRefs] = await Promise.all([
    openSessionsOn(node.nodeId),
    liveStreamsOn(node.nodeId),
  ]);
  const budget = { left: maxChanges };
  const [streams, sessions] = [within(streamRefs, budget), within(sessionIds, budget)];
  const [sessionItemsOf, streamItemsOf] = await Promise.all([sessionItems(sessions), streamItems(streams)]);
  const since = lastLifeAt === undefined ? 'never' : iso(lastLifeAt);
  await endAll(
    node,
    sessionItemsOf,
    streamItemsOf,
    now,
    {
      info: () =>
        `Node lost (wcs-hooks): ${node.nodeId} has neither answered nor sent a hook since ${since} (${reason})`,
      happenedAt: (item) => {
        const own = ownEvidence(item);
        return own === undefined ? lastLifeAt : Math.max(own, lastLifeAt ?? 0);
      },
    },
    signal,
  );
  logger.warn('a WCS node is lost: its sessions and streams were ended', {
    nodeId: node.nodeId,
    sessions: sessionItemsOf.length,
    streams: streamItemsOf.length,
  });
  const total = sessionIds.length + streamRefs.length;
  return {
    sessionsEnded: sessionItemsOf.length,
    streamsEnded: streamItemsOf.length,
    sessionsFound: 0,
    streamsFound: 0,
    held: total,
    deferred: total - sessionItemsOf.length - streamItemsOf.length,
  };
}

/**
 * Ends the live streams of `node` that sent `StreamKeepAliveEvent`s and have sent none for
 * `STREAM_KEEP_ALIVE_TIMEOUT_S`, for a node whose own answer cannot say (unreachable, unusable, not
 * asked) while its other hooks still arrive: the hooks reach us, so this stream's silence means it
 * is gone. Each is stamped with its last keep-alive. Answers how many were ended.
 */
export async function sweepKeepAlives(node: NodeStatus, now: number, signal?: AbortSignal): Promise<number> {
  if (keepAliveTimeoutMs === 0) return 0;
  const items = await streamItems(await liveStreamsOn(node.nodeId));
  const silent = items.filter((item) => {
    const keptAlive = timeOf(item.lastKeepAliveAt);
    return (
      isLive(item.status) &&
      keptAlive !== undefined &&
      now - keptAlive >= keepAliveTimeoutMs &&
      now - (ownEvidence(item) ?? 0) >= keepAliveTimeoutMs
    );
  });
  const ended = within(silent, { left: maxChanges });
  await endAll(
    node,
    [],
    ended,
    now,
    {
      info: (item) =>
        `Keep-alives stopped (wcs-hooks): no StreamKeepAliveEvent since ${String(item.lastKeepAliveAt)} while node ${node.nodeId} still sends hooks`,
      happenedAt: (item) => timeOf(item.lastKeepAliveAt),
    },
    signal,
  );
  if (ended.length > 0) {
    metrics.addMetric(METRIC.keepAliveLost, MetricUnit.Count, ended.length);
    logger.warn('live streams were ended: their keep-alives stopped', {
      nodeId: node.nodeId,
      streams: ended.length,
    });
  }
  return ended.length;
}
