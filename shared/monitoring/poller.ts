/**
 * The node poller: what WCS OAM learns from its nodes over its private protocol, learnt here from
 * each node's public REST API (reference §4). Run on a schedule (EventBridge Scheduler in AWS, a
 * timer under `npm start`), for `NODE_POLL_INTERVAL_S` at a time (`docs/reconciliation.md`):
 *
 * - only nodes an operator registered, or that hooks vouch for under `NODE_DISCOVERY`, are asked
 *   (`sender/wcs-nodes.ts`); at most `NODE_POLL_MAX_NODES` a run, registered ones first; the others
 *   are known from their hooks and shown `not-asked`;
 * - one request per node and poll: `stream/find` with `display: ["metrics"]` when metrics are wanted,
 *   `stream/find_all` otherwise; a node that refuses `display` (a WCS before 5.2.923) and then
 *   answers `stream/find_all` is asked that, and `stream/metrics` per sampled stream, for ten
 *   minutes before `stream/find` is tried again;
 * - every answer is verified (`answers.ts`) and only a verified one changes state; once per run a
 *   node is reconciled (`reconcile.ts`) with its streams and `connection/find_all`;
 * - a node is alive while it answers or sends hooks: one that does not answer while its hooks arrive
 *   is `unreachable` (alarmed), never lost; one that does neither for `NODE_LOST_AFTER_S` is lost,
 *   unless so many nodes go silent at once that the poller suspects its own network (the brake);
 * - nodes that did not answer their last poll share a quarter of `NODE_POLL_CONCURRENCY`, so dead or
 *   spoofed nodes never hold up the others; a run stops promptly when told (`stopPollerRuns`);
 * - samples of the streams a node's profiles select go to the `metrics` table, and threshold alarms
 *   are raised and cleared.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';
import { countForAlarm, METRIC, metrics } from '../kernel/metrics.ts';
import { withSourceStack } from '../kernel/source-stack.ts';
import { askNode, isConfirmed, markConfirmed } from '../sender/wcs-client.ts';
import { listNodeUrls, NodeRefusedError, type NodeTarget, targetFrom } from '../sender/wcs-nodes.ts';
import { countNodeChanges } from '../state/counters.ts';
import { type MetricSample, writeSamples } from '../state/metrics.ts';
import {
  type AlarmState,
  type Contact,
  deleteAlarmState,
  getNode,
  listAlarmStates,
  listNodes,
  markNodeLost,
  type NodeState,
  type NodeStatus,
  putAlarmState,
  type ReconcileCounts,
  recordContact,
  recordReconciliation,
} from '../state/monitoring.ts';
import { type Alarm, listOam } from '../state/oam-config.ts';
import { openSessionsOn } from '../state/sessions.ts';
import { liveStreamsOn } from '../state/streams.ts';
import { type FinderRead, readFinder, type WcsStreamEntry } from './answers.ts';
import { evaluateAlarm, type MonitoringPlan, planFor, type WcsStream } from './plan.ts';
import { endLostNode, type ReconcileSummary, reconcileNode, sweepKeepAlives } from './reconcile.ts';

const intervalMs = setting('NODE_POLL_INTERVAL_S') * 1000;
const concurrency = setting('NODE_POLL_CONCURRENCY');
/** How long one run polls: 90 % of the interval, so that runs never overlap. */
export const RUN_WINDOW_MS = intervalMs * 0.9;
const lostAfterMs = setting('NODE_LOST_AFTER_S') * 1000;
const maxNodes = setting('NODE_POLL_MAX_NODES');
const staleAfterMs = setting('RECONCILE_STALE_AFTER_S') * 1000;
const massEndPercent = setting('RECONCILE_MASS_END_PERCENT');
const brakePercent = setting('NODE_LOSS_BRAKE_PERCENT');
/** A node's keep-alive sweep reads all its live streams: at most once a run, or half the timeout when longer. */
const keepAliveSweepEveryMs = Math.max(intervalMs, (setting('STREAM_KEEP_ALIVE_TIMEOUT_S') * 1000) / 2);

/** A node status is written when it changes, and at least this often while it does not. */
const STATUS_EVERY_MS = 60_000;
/** How long a node that refused `display` is asked stream by stream before `stream/find` is tried again. */
const LEGACY_RETRY_MS = 10 * 60_000;
/** A reconciliation or loss is a mass end only from this many items ended (and `RECONCILE_MASS_END_PERCENT`). */
const MASS_END_MIN_ITEMS = 5;
/** The brake holds only when at least this many nodes would be lost at once. */
const BRAKE_MIN_NODES = 2;
/** Slots of `NODE_POLL_CONCURRENCY` for nodes that did not answer their last poll: a quarter, at least one. */
const SUSPECT_SLOTS = Math.max(1, Math.floor(concurrency / 4));

/** What the poller keeps between polls, in this process (a new process starts from the node item). */
interface NodeMemory {
  nextPollAt: number;
  /** The period it was last polled at (a profile's rate, or the run interval). */
  periodMs: number;
  lastStatusWriteAt: number;
  contactsSinceWrite: number;
  /** Its state and why, as last recorded. */
  state?: NodeState;
  reason?: string;
  connected?: boolean;
  /** When it was last reconciled (once per run interval). */
  lastReconcileAt: number;
  /** Since when it has not answered at all. */
  unreachableSince?: number;
  /** It refused `display`: asked stream by stream until then. */
  legacyUntil?: number;
  lastSweepAt: number;
}
const memory = new Map<string, NodeMemory>();

function memoryOf(node: NodeStatus): NodeMemory {
  let mem = memory.get(node.nodeId);
  if (!mem) {
    mem = {
      nextPollAt: 0,
      periodMs: 0,
      lastStatusWriteAt: 0,
      contactsSinceWrite: 0,
      lastReconcileAt: 0,
      lastSweepAt: 0,
      ...(node.state !== undefined && { state: node.state }),
      ...(node.stateReason !== undefined && { reason: node.stateReason }),
      ...(node.connected !== undefined && { connected: node.connected }),
      ...(node.unreachableSince !== undefined && { unreachableSince: node.unreachableSince }),
    };
    memory.set(node.nodeId, mem);
  }
  return mem;
}

export interface PollSummary {
  readonly polls: number;
  readonly nodesDown: number;
  readonly nodesUnreachable: number;
  readonly nodesLost: number;
  readonly nodesBraked: number;
  readonly nodesNotAsked: number;
  readonly reconciled: number;
  readonly ended: number;
  readonly found: number;
  readonly deferred: number;
  readonly samples: number;
  readonly alarmsRaised: number;
  readonly alarmsCleared: number;
}

interface RunContext {
  readonly plan: MonitoringPlan;
  readonly alarms: readonly Alarm[];
  readonly states: Map<string, AlarmState>;
  readonly signal: AbortSignal;
  readonly force: boolean;
  summary: { -readonly [K in keyof PollSummary]: PollSummary[K] };
}

/** How often a node is polled: its profiles' lowest rate, or once per run without a profile. */
const periodOf = (plan: { rateSeconds: number | undefined }) =>
  plan.rateSeconds ? plan.rateSeconds * 1000 : intervalMs;

const stateKey = (s: Pick<AlarmState, 'alarmId' | 'nodeId' | 'mediaId'>) =>
  `${s.alarmId}#${s.nodeId}#${s.mediaId}`;

/** A verified stream entry as the plan and the alarms read it (nulls as absent). */
function asWcsStream(entry: WcsStreamEntry): WcsStream {
  const { metrics: values, ...rest } = entry;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== null && v !== undefined));
  return {
    ...defined,
    mediaSessionId: entry.mediaSessionId,
    ...(values && { metrics: values }),
  } as WcsStream;
}

/** A node and where it is asked (`targetFrom`). */
interface AskedNode {
  readonly node: NodeStatus;
  readonly target: NodeTarget;
}

/**
 * The streams of `node`, with their metrics when `withMetrics`: one request, two when the node
 * refuses `display` (an older WCS), which then is asked `stream/find_all` for `LEGACY_RETRY_MS`.
 */
async function streamsOf(
  { node, target }: AskedNode,
  withMetrics: boolean,
  mem: NodeMemory,
  signal: AbortSignal,
): Promise<{ read: FinderRead<WcsStreamEntry>; requests: number }> {
  const ask = (path: string, body: unknown) => askNode(node.nodeId, path, body, { base: target.url, signal });
  const findAll = async () => readFinder('stream', '/stream/find_all', await ask('/stream/find_all', {}));
  if (!withMetrics || (mem.legacyUntil ?? 0) > Date.now()) return { read: await findAll(), requests: 1 };
  const read = readFinder('stream', '/stream/find', await ask('/stream/find', { display: ['metrics'] }));
  // A WCS that does not know `display` answers 400 or 500 ("query parameters error"); so does one
  // failing for any reason. Only a node that then answers `find_all` is taken to be an older WCS.
  if (read.kind !== 'unusable' || (read.status !== 400 && read.status !== 500)) return { read, requests: 1 };
  const all = await findAll();
  if (all.kind === 'list' || all.kind === 'notFound') mem.legacyUntil = Date.now() + LEGACY_RETRY_MS;
  return { read: all.kind === 'unreachable' ? read : all, requests: 2 };
}

/** The metrics of one stream (`/stream/metrics`), for a node that does not give them with `stream/find`. */
async function metricsOf(
  { node, target }: AskedNode,
  mediaSessionId: string,
  signal: AbortSignal,
): Promise<Record<string, unknown> | undefined> {
  const answer = await askNode(
    node.nodeId,
    '/stream/metrics',
    { mediaSessionId },
    { base: target.url, signal },
  );
  if (!answer.answered || answer.status !== 200) return undefined;
  try {
    const parsed = JSON.parse(answer.text) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Why a node's answers were not enough to reconcile it, or what the reconciliation changed. */
type Reconciliation = { readonly unusable: string } | ReconcileSummary;

/** What a node holds by our tables: open sessions and streams not ended. */
async function heldOn(nodeId: string): Promise<number> {
  const [sessions, streams] = await Promise.all([openSessionsOn(nodeId), liveStreamsOn(nodeId)]);
  return sessions.length + streams.length;
}

/**
 * Reconciles `node` with its streams (`streams`, as read) and its connections (asked here). A
 * finder's "not found" is "none" only from a REST API confirmed to be WCS's: one of the two answers
 * is a list now, or the node item remembers that this URL answered as WCS within a day; without
 * that, it is believed only when this backend holds nothing there (nothing would change).
 */
async function reconcileWith(
  asked: AskedNode,
  streams: Extract<FinderRead<WcsStreamEntry>, { kind: 'list' | 'notFound' }>,
  run: RunContext,
  now: number,
): Promise<Reconciliation> {
  const { node, target } = asked;
  const connections = readFinder(
    'connection',
    '/connection/find_all',
    await askNode(node.nodeId, '/connection/find_all', {}, { base: target.url, signal: run.signal }),
  );
  if (connections.kind !== 'list' && connections.kind !== 'notFound') return { unusable: connections.reason };
  const confirmedNow = streams.kind === 'list' || connections.kind === 'list';
  if (
    !confirmedNow &&
    !isConfirmed(target.url, { url: node.restConfirmedUrl, at: node.restConfirmedAt }) &&
    (await heldOn(node.nodeId)) > 0
  ) {
    return {
      unusable: `${target.url} answered 404 to stream/find_all and connection/find_all and has not answered as a WCS REST API (a list) within a day: nothing is ended on a 404 from what may not be WCS (a proxy, a wrong URL in nodes put)`,
    };
  }
  if (confirmedNow) markConfirmed(target.url);
  const summary = await reconcileNode(
    node,
    streams.kind === 'list' ? streams.entries : [],
    connections.kind === 'list' ? connections.entries : [],
    now,
    run.signal,
  );
  if (run.signal.aborted) return summary;
  await recordReconciliation(node.nodeId, now, counts(summary), confirmedNow ? target.url : undefined);
  await noteChanges(node, now, summary);
  return summary;
}

const counts = (s: ReconcileCounts): ReconcileCounts => ({
  sessionsEnded: s.sessionsEnded,
  streamsEnded: s.streamsEnded,
  sessionsFound: s.sessionsFound,
  streamsFound: s.streamsFound,
});

/** Counts a reconciliation's or a loss's changes per hour and day, and alarms on a mass end. */
async function noteChanges(node: NodeStatus, now: number, summary: ReconcileSummary): Promise<void> {
  await countNodeChanges(node.nodeId, new Date(now), counts(summary));
  const ended = summary.sessionsEnded + summary.streamsEnded;
  if (ended >= MASS_END_MIN_ITEMS && summary.held > 0 && ended * 100 >= massEndPercent * summary.held) {
    countForAlarm(METRIC.reconcileMassEnd);
    logger.warn('a reconciliation ended most of what a WCS node held', {
      nodeId: node.nodeId,
      ended,
      held: summary.held,
    });
  }
}

/** What one poll of a node found: its state, and why when not `up`. */
type PollOutcome = { readonly state: NodeState; readonly reason?: string; readonly reconciled: boolean };

/** Polls one node, records what it found (but a loss: `decideLiveness`), and reconciles it once per run. */
async function pollNode(asked: AskedNode, run: RunContext, now: number): Promise<PollOutcome> {
  const { node } = asked;
  const mem = memoryOf(node);
  const nodePlan = run.plan.forNode(node);
  const alarms = run.alarms.filter(
    (a) => a.node === undefined || a.node === node.nodeId || a.node === node.host,
  );
  const withMetrics = nodePlan.collects || alarms.length > 0;
  const { read, requests } = await streamsOf(asked, withMetrics, mem, run.signal);
  run.summary.polls++;
  // A little early rather than late: the next scheduled run must find it due.
  mem.periodMs = periodOf(nodePlan);
  mem.nextPollAt = now + mem.periodMs - 250;
  if (run.signal.aborted) return { state: mem.state ?? 'up', reconciled: false };
  if (read.kind === 'unreachable' || read.kind === 'refused') {
    mem.unreachableSince ??= now;
    return { state: 'unreachable', reason: read.reason, reconciled: false };
  }
  mem.unreachableSince = undefined;
  if (read.kind === 'unusable') {
    await writeContact(node, mem, { state: 'unusable', at: now, reason: read.reason });
    return { state: 'unusable', reason: read.reason, reconciled: false };
  }

  let reconciled = false;
  let unusable: string | undefined;
  if (run.force || now - mem.lastReconcileAt >= RUN_WINDOW_MS) {
    const result = await reconcileWith(asked, read, run, now);
    if ('unusable' in result) unusable = result.unusable;
    else if (!run.signal.aborted) {
      reconciled = true;
      mem.lastReconcileAt = now;
      run.summary.reconciled++;
      run.summary.ended += result.sessionsEnded + result.streamsEnded;
      run.summary.found += result.sessionsFound + result.streamsFound;
      run.summary.deferred += result.deferred;
    }
  }
  mem.contactsSinceWrite += requests;
  const streams = read.kind === 'list' ? read.entries.map(asWcsStream) : [];
  if (withMetrics && (mem.legacyUntil ?? 0) > Date.now()) {
    for (const stream of streams) {
      if (nodePlan.metricsFor(stream).size > 0 || alarms.length > 0)
        stream.metrics ??= await metricsOf(asked, stream.mediaSessionId, run.signal);
    }
  }
  const samples: MetricSample[] = streams.flatMap((stream) => {
    const wanted = nodePlan.metricsFor(stream);
    if (wanted.size === 0 || !stream.metrics) return [];
    const values: Record<string, number | string> = {};
    for (const enumName of wanted) {
      const value = stream.metrics[enumName];
      if (typeof value === 'number' || typeof value === 'string') values[enumName] = value;
    }
    return Object.keys(values).length === 0
      ? []
      : [
          {
            nodeId: node.nodeId,
            mediaId: stream.mediaSessionId,
            ...(typeof stream.name === 'string' && { name: stream.name }),
            timestamp: now,
            values,
          },
        ];
  });
  await writeSamples(samples);
  run.summary.samples += samples.length;
  await watchAlarms(node, streams, alarms, run, now);
  if (unusable !== undefined) {
    await writeContact(node, mem, { state: 'unusable', at: now, reason: unusable });
    return { state: 'unusable', reason: unusable, reconciled: false };
  }
  const perMinute = nodePlan.rateSeconds ? (samples.length * 60) / nodePlan.rateSeconds : samples.length;
  await writeContact(node, mem, {
    state: 'up',
    at: now,
    contacts: mem.contactsSinceWrite,
    rate: Math.round(perMinute),
  });
  return { state: 'up', reconciled };
}

/**
 * Writes a node's contact when its state or reason changed, and at least every `STATUS_EVERY_MS`
 * while they do not (a node item written every poll would cost a write per node and poll).
 */
async function writeContact(node: NodeStatus, mem: NodeMemory, contact: Contact): Promise<void> {
  const reason = contact.state === 'up' ? undefined : contact.reason;
  const changed = contact.state !== mem.state || reason !== mem.reason;
  // A node that may not be asked has nothing new to say until that changes (spoofed ones cost nothing).
  const refresh = contact.state !== 'not-asked' && contact.at - mem.lastStatusWriteAt >= STATUS_EVERY_MS;
  if (changed || refresh) {
    await recordContact(
      {
        ...node,
        ...(mem.state !== undefined && { state: mem.state }),
        ...(mem.connected !== undefined && { connected: mem.connected }),
      },
      contact,
    );
    mem.lastStatusWriteAt = contact.at;
    mem.contactsSinceWrite = 0;
  }
  mem.state = contact.state;
  mem.reason = reason;
  mem.connected = contact.state === 'up';
}

/** Raises and clears the threshold alarms of `node`'s streams; a stream no longer there clears its own. */
async function watchAlarms(
  node: NodeStatus,
  streams: readonly WcsStream[],
  alarms: readonly Alarm[],
  run: RunContext,
  now: number,
): Promise<void> {
  const seen = new Set<string>();
  for (const alarm of alarms) {
    for (const stream of streams) {
      const key = stateKey({ alarmId: alarm.id, nodeId: node.nodeId, mediaId: stream.mediaSessionId });
      seen.add(key);
      const before = run.states.get(key);
      const after = evaluateAlarm(alarm, stream, before, node.nodeId, now);
      if (after === before) continue;
      if (after === undefined) {
        if (before) await clear(before, run);
        continue;
      }
      await putAlarmState(after);
      run.states.set(key, after);
      if (after.raised && !before?.raised) run.summary.alarmsRaised++;
    }
  }
  for (const state of [...run.states.values()]) {
    if (state.nodeId === node.nodeId && !seen.has(stateKey(state))) await clear(state, run);
  }
}

async function clear(state: AlarmState, run: RunContext): Promise<void> {
  await deleteAlarmState(state);
  run.states.delete(stateKey(state));
  if (state.raised) run.summary.alarmsCleared++;
}

/** Runs `work` over `items`, `limit` at a time, until done or `signal` stops it. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !signal.aborted) await work(items[next++] as T);
  });
  await Promise.all(workers);
}

/** Waits `ms`, or less when `signal` stops the run. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** The runs going on in this process, each with the abort that stops it. */
const runs = new Set<AbortController>();

/**
 * Stops every run of this process at once (the local runtime on Ctrl-C or SIGTERM, the tests): a
 * run stops between nodes and between writes, and its requests in flight are ended.
 */
export function stopPollerRuns(): void {
  for (const run of runs) run.abort(new Error('the node poller is stopping'));
}

/**
 * The nodes the poller may ask, each with where (registered first, then the most recently heard
 * from, at most `NODE_POLL_MAX_NODES`), and those it may not, with why.
 */
async function sortNodes(nodes: readonly NodeStatus[]): Promise<{
  asked: AskedNode[];
  notAsked: { node: NodeStatus; reason: string }[];
}> {
  const urls = new Map((await listNodeUrls()).map((u) => [u.node, u.url]));
  const asked: AskedNode[] = [];
  const notAsked: { node: NodeStatus; reason: string }[] = [];
  for (const node of nodes) {
    try {
      const target = targetFrom(
        node.nodeId,
        { byId: urls.get(node.nodeId), byIp: urls.get(node.host) },
        node,
      );
      asked.push({ node, target });
    } catch (error) {
      if (!(error instanceof NodeRefusedError)) throw error;
      notAsked.push({ node, reason: error.message });
    }
  }
  asked.sort(
    (a, b) =>
      Number(b.target.registered) - Number(a.target.registered) ||
      (b.node.lastHookAt ?? 0) - (a.node.lastHookAt ?? 0),
  );
  if (asked.length > maxNodes) {
    logger.warn('more WCS nodes than one run asks (NODE_POLL_MAX_NODES): the rest are not asked', {
      nodes: asked.length,
      asked: maxNodes,
    });
    for (const { node } of asked.splice(maxNodes))
      notAsked.push({ node, reason: `past NODE_POLL_MAX_NODES (${maxNodes}) nodes asked in one run` });
  }
  return { asked, notAsked };
}

/** The last sign of life of `node`: its last hook, or its last answer. */
const lastLifeOf = (node: NodeStatus) =>
  Math.max(node.lastHookAt ?? 0, node.lastContactAt ?? 0, node.firstHookAt ?? 0) || undefined;

/**
 * What the nodes that did not answer are: `unreachable` while their hooks still arrive or since not
 * long enough, else lost, unless at least `NODE_LOSS_BRAKE_PERCENT` of the nodes asked (and at
 * least two) would be lost at once: then the poller suspects its own network, ends nothing, and
 * holds them `silent`. The node items are read again before deciding (a hook may have come since
 * the run began).
 */
async function decideLiveness(
  silentOnes: readonly { asked: AskedNode; reason: string }[],
  askedCount: number,
  run: RunContext,
  now: number,
): Promise<void> {
  const candidates: { node: NodeStatus; reason: string }[] = [];
  for (const { asked, reason } of silentOnes) {
    const node = (await getNode(asked.node.nodeId)) ?? asked.node;
    const mem = memoryOf(node);
    const since = mem.unreachableSince ?? now;
    const hooksArrive = node.lastHookAt !== undefined && now - node.lastHookAt < lostAfterMs;
    if (hooksArrive || now - since < lostAfterMs) {
      run.summary.nodesUnreachable++;
      countForAlarm(METRIC.wcsNodeUnreachable);
      const why = hooksArrive
        ? `its hooks arrive but its REST API does not answer (${reason}): alive, not reconciled`
        : `its REST API does not answer (${reason})`;
      await writeContact(node, mem, { state: 'unreachable', at: now, reason: why });
    } else candidates.push({ node, reason });
  }
  // Nodes lost before neither count towards the brake nor are held by it: only new losses are.
  const fresh = candidates.filter(({ node }) => memoryOf(node).state !== 'lost');
  const braked =
    brakePercent > 0 && fresh.length >= BRAKE_MIN_NODES && fresh.length * 100 >= brakePercent * askedCount;
  if (braked) {
    countForAlarm(METRIC.wcsNodeLossBraked);
    logger.error('many WCS nodes went silent at once: none is declared lost (NODE_LOSS_BRAKE_PERCENT)', {
      silent: fresh.length,
      asked: askedCount,
    });
  }
  for (const { node, reason } of candidates) {
    const mem = memoryOf(node);
    if (braked && mem.state !== 'lost') {
      run.summary.nodesBraked++;
      await writeContact(node, mem, {
        state: 'silent',
        at: now,
        reason: `neither an answer nor a hook for NODE_LOST_AFTER_S, yet ${fresh.length} of ${askedCount} nodes went silent at once: loss held by the brake (${reason})`,
      });
      continue;
    }
    const lastLife = lastLifeOf(node);
    const ended = await endLostNode(node, now, reason, lastLife, run.signal);
    if (run.signal.aborted) return;
    const endedAny = ended.sessionsEnded + ended.streamsEnded > 0;
    if (mem.state !== 'lost' || endedAny) {
      await markNodeLost(node.nodeId, now, counts(ended));
      await noteChanges(node, now, ended);
    }
    if (mem.state !== 'lost') {
      run.summary.nodesLost++;
      metrics.addMetric(METRIC.wcsNodeLost, MetricUnit.Count, 1);
      countForAlarm(METRIC.wcsNodeLost);
    }
    run.summary.ended += ended.sessionsEnded + ended.streamsEnded;
    mem.state = 'lost';
    mem.reason = reason;
    mem.connected = false;
  }
}

/**
 * After a run's polls: the keep-alive sweep of each node its own answer could not reconcile but
 * whose hooks still arrive (at most every `keepAliveSweepEveryMs`), and the alarm for each node the
 * poller may ask that has not been reconciled for `RECONCILE_STALE_AFTER_S`.
 */
async function afterPolls(
  nodes: readonly NodeStatus[],
  askedIds: ReadonlySet<string>,
  reconciledNow: ReadonlySet<string>,
  run: RunContext,
  now: number,
): Promise<void> {
  for (const node of nodes) {
    if (run.signal.aborted) return;
    const mem = memoryOf(node);
    const hooksArrive = node.lastHookAt !== undefined && now - node.lastHookAt < lostAfterMs;
    const sweepDue = run.force || now - mem.lastSweepAt >= keepAliveSweepEveryMs;
    if (!reconciledNow.has(node.nodeId) && hooksArrive && sweepDue) {
      mem.lastSweepAt = now;
      run.summary.ended += await sweepKeepAlives(node, now, run.signal);
    }
    if (!askedIds.has(node.nodeId) || reconciledNow.has(node.nodeId)) continue;
    const last = Math.max(mem.lastReconcileAt, node.lastReconciledAt ?? 0) || (node.firstHookAt ?? now);
    if (now - last >= staleAfterMs) countForAlarm(METRIC.wcsNodeNotReconciled);
  }
}

/**
 * One run of the poller: polls every node it may ask that is due (at once for a node this process
 * has not polled yet), then each again when its profiles' rate says, until `runForMs` has passed;
 * decides which silent nodes are lost; sweeps keep-alives. Nodes, profiles, rules and alarms are
 * read once per run. A node that fails to be polled (a database error writing what it found) does
 * not stop the others; the run reports it and the next run polls it again. `stopPollerRuns` (or
 * `options.signal`) ends it promptly.
 */
export async function runPoller(
  runForMs = RUN_WINDOW_MS,
  options: { force?: boolean; signal?: AbortSignal } = {},
): Promise<PollSummary> {
  const started = Date.now();
  const controller = new AbortController();
  const stop = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stop, { once: true });
  runs.add(controller);
  try {
    return await run(started, runForMs, options.force === true, controller.signal);
  } finally {
    runs.delete(controller);
    options.signal?.removeEventListener('abort', stop);
  }
}

async function run(
  started: number,
  runForMs: number,
  force: boolean,
  signal: AbortSignal,
): Promise<PollSummary> {
  const nodes = await listNodes();
  const summary = {
    polls: 0,
    nodesDown: 0,
    nodesUnreachable: 0,
    nodesLost: 0,
    nodesBraked: 0,
    nodesNotAsked: 0,
    reconciled: 0,
    ended: 0,
    found: 0,
    deferred: 0,
    samples: 0,
    alarmsRaised: 0,
    alarmsCleared: 0,
  };
  // Nothing to poll until a node has sent a hook: one read per run while idle.
  if (nodes.length === 0) return summary;
  const [profiles, rules, alarms, states, sorted] = await Promise.all([
    listOam('profile'),
    listOam('rule'),
    listOam('alarm'),
    listAlarmStates(),
    sortNodes(nodes),
  ]);
  const known = new Set(alarms.map((a) => a.id));
  const runContext: RunContext = {
    plan: planFor(profiles, rules),
    alarms,
    states: new Map(states.map((s) => [stateKey(s), s])),
    signal,
    force,
    summary,
  };
  const now0 = Date.now();
  for (const { node, reason } of sorted.notAsked) {
    summary.nodesNotAsked++;
    await writeContact(node, memoryOf(node), { state: 'not-asked', at: now0, reason });
  }
  const { asked } = sorted;
  // A node whose profiles changed since its last poll is due at once, at its new rate.
  for (const { node } of asked) {
    const mem = memory.get(node.nodeId);
    if (mem && mem.periodMs !== periodOf(runContext.plan.forNode(node))) mem.nextPollAt = 0;
  }
  // Watches of an alarm since deleted end (a raised one clears).
  for (const state of states) if (!known.has(state.alarmId)) await clear(state, runContext);
  const failures: unknown[] = [];
  const reconciledNow = new Set<string>();
  for (;;) {
    const now = Date.now();
    // A node not polled yet by this process is due at once; the others when their rate says.
    const due = asked.filter(({ node }) => force || (memory.get(node.nodeId)?.nextPollAt ?? 0) <= now);
    const silentOnes: { asked: AskedNode; reason: string }[] = [];
    const work = async (one: AskedNode) => {
      // Past the run's window (many nodes, slow answers), the rest wait for the next run: they
      // stay due, and a run never outlasts its function's timeout. (0: no window, `pollNow`.)
      if (runForMs > 0 && Date.now() - started >= runForMs) return;
      try {
        const outcome = await pollNode(one, runContext, Date.now());
        if (outcome.reconciled) reconciledNow.add(one.node.nodeId);
        if (outcome.state === 'unreachable') silentOnes.push({ asked: one, reason: outcome.reason ?? '' });
        if (outcome.state !== 'up') {
          summary.nodesDown++;
          metrics.addMetric(METRIC.wcsNodeDown, MetricUnit.Count, 1);
          countForAlarm(METRIC.wcsNodeDown);
          logger.warn('a WCS node did not answer the poller usably', {
            nodeId: one.node.nodeId,
            reason: outcome.reason,
          });
        }
      } catch (error) {
        failures.push(error);
        logger.error('could not record what a WCS node answered', {
          nodeId: one.node.nodeId,
          error: await withSourceStack(error as Error),
        });
      }
    };
    // Nodes that did not answer their last poll, or never answered, get a quarter of the slots:
    // dead or spoofed nodes cannot hold up the ones that answer.
    const suspect = (one: AskedNode) => {
      const state = memory.get(one.node.nodeId)?.state;
      const neverAnswered = one.node.lastContactAt === undefined && state === undefined;
      return neverAnswered || state === 'unreachable' || state === 'silent' || state === 'lost';
    };
    await Promise.all([
      inParallel(
        due.filter((one) => !suspect(one)),
        Math.max(1, concurrency - SUSPECT_SLOTS),
        work,
        signal,
      ),
      inParallel(due.filter(suspect), SUSPECT_SLOTS, work, signal),
    ]);
    if (signal.aborted) break;
    if (silentOnes.length > 0) {
      // The brake's share is of the nodes not lost before (the ones long dead say nothing of now).
      const notLost = asked.filter(({ node }) => memory.get(node.nodeId)?.state !== 'lost').length;
      await decideLiveness(silentOnes, notLost, runContext, Date.now());
    }
    // The window is over (the polls took it up), or the next poll would fall after it: the run ends.
    if (force || runForMs <= 0 || Date.now() - started >= runForMs) break;
    const next = Math.min(
      ...asked.map(({ node }) => memory.get(node.nodeId)?.nextPollAt ?? Number.POSITIVE_INFINITY),
    );
    if (!Number.isFinite(next) || next - started >= runForMs) break;
    await sleep(Math.max(0, next - Date.now()), signal);
    if (signal.aborted) break;
  }
  if (!signal.aborted)
    await afterPolls(nodes, new Set(asked.map((a) => a.node.nodeId)), reconciledNow, runContext, Date.now());
  if (failures.length > 0 && failures.length === summary.polls) throw failures[0];
  return summary;
}

/** One poll and reconciliation of every node now, whatever their rates (the CLI, the tests). */
export const pollNow = () => runPoller(0, { force: true });
