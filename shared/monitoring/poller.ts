/**
 * The node poller: what WCS OAM learns from its nodes over its private protocol, learnt here from
 * each node's public REST API (reference §4). Run on a schedule (EventBridge Scheduler in AWS, a
 * timer under `npm start`), for `NODE_POLL_INTERVAL_S` at a time:
 *
 * - every known node (learnt from its hooks) is asked what streams it has, once per run, or at the
 *   rate its profiles ask for (OAM: the profiles of a node are merged, the lowest rate wins);
 * - one request per node and poll: `stream/find` with `display: ["metrics"]` (every stream with its
 *   metrics) when metrics are wanted, `stream/find_all` otherwise; a node that does not take the
 *   former (WCS before 5.2.923) is asked `stream/find_all` and `stream/metrics` per sampled stream;
 * - a 404 "... not found" is a node with no streams; no answer, a 5xx, a 401 or a body that is not
 *   a JSON list marks the node down with the time and the reason, and is never read as "no streams";
 * - samples of the streams a node's profiles select go to the `metrics` table (pushed from there to
 *   `/stream/{nodeId}/{mediaId}`), and threshold alarms are raised and cleared (pushed to `/alarm`).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { setting } from '../kernel/config.ts';
import { logger } from '../kernel/logger.ts';
import { countForAlarm, METRIC, metrics } from '../kernel/metrics.ts';
import { askNode } from '../sender/wcs-client.ts';
import { type MetricSample, writeSamples } from '../state/metrics.ts';
import {
  type AlarmState,
  type Contact,
  deleteAlarmState,
  listAlarmStates,
  listNodes,
  markNodeLost,
  type NodeStatus,
  putAlarmState,
  recordContact,
  recordReconciliation,
} from '../state/monitoring.ts';
import { type Alarm, listOam } from '../state/oam-config.ts';
import { evaluateAlarm, type MonitoringPlan, planFor, type WcsStream } from './plan.ts';
import { endLostNode, reconcileNode } from './reconcile.ts';

const intervalMs = setting('NODE_POLL_INTERVAL_S') * 1000;
const concurrency = setting('NODE_POLL_CONCURRENCY');
/** How long one run polls: 90 % of the interval, so that runs never overlap. */
export const RUN_WINDOW_MS = intervalMs * 0.9;
const lostAfterMs = setting('NODE_LOST_AFTER_S') * 1000;

/** A node status is written when it changes, and at least this often while it does not. */
const STATUS_EVERY_MS = 60_000;

/**
 * What one request for a node's streams found: its streams, or why it is down (`unreachable`: no
 * answer at all, what makes a node lost in time; an answer that cannot be used is not).
 */
type StreamsAnswer =
  | { readonly streams: WcsStream[] }
  | { readonly down: string; readonly unreachable: boolean };

/** Nodes that did not take `stream/find` with `display` (an older WCS): asked stream by stream. */
const perStreamMetrics = new Set<string>();

/** What a node answered, read as WCS's finders answer (reference §4). */
function readStreams(path: string, answer: Awaited<ReturnType<typeof askNode>>): StreamsAnswer {
  if (!answer.answered) return { down: answer.reason, unreachable: answer.refused !== true };
  const { status, text } = answer;
  // Finders answer 404 "Streams not found" (or "Stream not found") when there are none.
  if (status === 404 && /not found/i.test(text) && !/<html/i.test(text)) return { streams: [] };
  const unusable = (down: string) => ({ down, unreachable: false });
  if (status === 401 || status === 403)
    return unusable(`${path} answered ${status}: the WCS REST credentials were refused`);
  if (status !== 200) return unusable(`${path} answered ${status}${text ? `: ${text.slice(0, 120)}` : ''}`);
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return unusable(`${path} answered 200 with a body that is not JSON`);
  }
  if (!Array.isArray(list)) return unusable(`${path} answered 200 with JSON that is not a list of streams`);
  const streams = list.filter(
    (s): s is WcsStream =>
      typeof s === 'object' && s !== null && typeof (s as WcsStream).mediaSessionId === 'string',
  );
  return { streams };
}

/** Asks `nodeId` for its streams, with their metrics when `withMetrics`. */
async function streamsOf(
  nodeId: string,
  withMetrics: boolean,
): Promise<StreamsAnswer & { requests: number }> {
  if (withMetrics && !perStreamMetrics.has(nodeId)) {
    const answer = await askNode(nodeId, '/stream/find', { display: ['metrics'] });
    // A WCS that does not know `display`, or refuses a filter without a field, answers 400 or 500.
    if (answer.answered && (answer.status === 400 || answer.status === 500)) perStreamMetrics.add(nodeId);
    else return { ...readStreams('/stream/find', answer), requests: 1 };
  }
  const all = readStreams('/stream/find_all', await askNode(nodeId, '/stream/find_all', {}));
  return { ...all, requests: 1 };
}

/** The metrics of one stream (`/stream/metrics`), for a node that does not give them with `stream/find`. */
async function metricsOf(
  nodeId: string,
  mediaSessionId: string,
): Promise<Record<string, unknown> | undefined> {
  const answer = await askNode(nodeId, '/stream/metrics', { mediaSessionId });
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

/** What the poller keeps between polls, in this process. */
interface NodeMemory {
  nextPollAt: number;
  /** The period it was last polled at (a profile's rate, or the run interval). */
  periodMs: number;
  lastStatusWriteAt: number;
  contactsSinceWrite: number;
  connected?: boolean;
  downReason?: string;
  /** When it was last reconciled by this process (once per run interval). */
  lastReconcileAt: number;
  /** Since when it has not answered at all, as this process saw it (or the node item said). */
  unreachableSince?: number;
  lost?: boolean;
}
const memory = new Map<string, NodeMemory>();

export interface PollSummary {
  readonly polls: number;
  readonly nodesDown: number;
  readonly nodesLost: number;
  readonly reconciled: number;
  readonly ended: number;
  readonly found: number;
  readonly samples: number;
  readonly alarmsRaised: number;
  readonly alarmsCleared: number;
}

interface RunContext {
  readonly plan: MonitoringPlan;
  readonly alarms: readonly Alarm[];
  readonly states: Map<string, AlarmState>;
  summary: {
    polls: number;
    nodesDown: number;
    nodesLost: number;
    reconciled: number;
    ended: number;
    found: number;
    samples: number;
    alarmsRaised: number;
    alarmsCleared: number;
  };
}

/** How often a node is polled: its profiles' lowest rate, or once per run without a profile. */
const periodOf = (plan: { rateSeconds: number | undefined }) =>
  plan.rateSeconds ? plan.rateSeconds * 1000 : intervalMs;

const stateKey = (s: Pick<AlarmState, 'alarmId' | 'nodeId' | 'mediaId'>) =>
  `${s.alarmId}#${s.nodeId}#${s.mediaId}`;

/** Polls one node and records what it found; `force` reconciles it whenever it was last reconciled. */
async function pollNode(node: NodeStatus, run: RunContext, now: number, force = false): Promise<void> {
  const mem = memory.get(node.nodeId) ?? {
    nextPollAt: 0,
    periodMs: 0,
    lastStatusWriteAt: 0,
    contactsSinceWrite: 0,
    lastReconcileAt: 0,
    ...(node.unreachableSince !== undefined && { unreachableSince: node.unreachableSince }),
    ...(node.lostAt !== undefined && { lost: true }),
  };
  memory.set(node.nodeId, mem);
  const nodePlan = run.plan.forNode(node);
  const alarms = run.alarms.filter(
    (a) => a.node === undefined || a.node === node.nodeId || a.node === node.host,
  );
  const withMetrics = nodePlan.collects || alarms.length > 0;
  const answer = await streamsOf(node.nodeId, withMetrics);
  run.summary.polls++;
  // A little early rather than late: the next scheduled run must find it due.
  mem.periodMs = periodOf(nodePlan);
  mem.nextPollAt = now + mem.periodMs - 250;

  let contact: Contact;
  let samples: MetricSample[] = [];
  if ('down' in answer) {
    run.summary.nodesDown++;
    metrics.addMetric(METRIC.wcsNodeDown, MetricUnit.Count, 1);
    countForAlarm(METRIC.wcsNodeDown);
    logger.warn('a WCS node did not answer the poller', { nodeId: node.nodeId, reason: answer.down });
    contact = { answered: false, at: now, reason: answer.down, unreachable: answer.unreachable };
    mem.unreachableSince = answer.unreachable ? (mem.unreachableSince ?? now) : undefined;
    if (mem.unreachableSince !== undefined && !mem.lost && now - mem.unreachableSince >= lostAfterMs) {
      const ended = await endLostNode({ ...node, downSince: mem.unreachableSince }, now, answer.down);
      await markNodeLost(node.nodeId, now, { ...ended });
      mem.lost = true;
      run.summary.nodesLost++;
      run.summary.ended += ended.sessionsEnded + ended.streamsEnded;
      metrics.addMetric(METRIC.wcsNodeLost, MetricUnit.Count, 1);
      countForAlarm(METRIC.wcsNodeLost);
    }
  } else {
    mem.unreachableSince = undefined;
    mem.lost = false;
    if (force || now - mem.lastReconcileAt >= RUN_WINDOW_MS) {
      const reconciled = await reconcileNode(node, answer.streams, now);
      if ('unusable' in reconciled) {
        logger.warn('a WCS node was not reconciled: its answer cannot be used', {
          nodeId: node.nodeId,
          reason: reconciled.unusable,
        });
      } else {
        await recordReconciliation(node.nodeId, now, { ...reconciled });
        mem.lastReconcileAt = now;
        run.summary.reconciled++;
        run.summary.ended += reconciled.sessionsEnded + reconciled.streamsEnded;
        run.summary.found += reconciled.sessionsFound + reconciled.streamsFound;
      }
    }
    mem.contactsSinceWrite += answer.requests;
    if (withMetrics && perStreamMetrics.has(node.nodeId)) {
      for (const stream of answer.streams) {
        if (nodePlan.metricsFor(stream).size > 0 || alarms.length > 0)
          stream.metrics ??= await metricsOf(node.nodeId, stream.mediaSessionId);
      }
    }
    samples = answer.streams.flatMap((stream) => {
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
    await watchAlarms(node, answer.streams, alarms, run, now);
    const perMinute = nodePlan.rateSeconds ? (samples.length * 60) / nodePlan.rateSeconds : samples.length;
    contact = { answered: true, at: now, contacts: mem.contactsSinceWrite, rate: Math.round(perMinute) };
  }

  const changed =
    contact.answered !== mem.connected || (!contact.answered && contact.reason !== mem.downReason);
  if (changed || now - mem.lastStatusWriteAt >= STATUS_EVERY_MS) {
    await recordContact(
      { ...node, ...(mem.connected !== undefined && { connected: mem.connected }) },
      contact,
    );
    mem.lastStatusWriteAt = now;
    mem.contactsSinceWrite = 0;
  }
  mem.connected = contact.answered;
  mem.downReason = contact.answered ? undefined : contact.reason;
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

/** Runs `work` over `items`, `limit` at a time. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One run of the poller: polls every node that is due (at once for a node this process has not
 * polled yet), then each again when its profiles' rate says, until `runForMs` has passed. Nodes, profiles, rules and alarms are read once per run. A node that
 * fails to be polled (a database error writing what it found) does not stop the others; the run
 * reports it and the next run polls it again.
 */
export async function runPoller(
  runForMs = RUN_WINDOW_MS,
  options: { force?: boolean } = {},
): Promise<PollSummary> {
  const started = Date.now();
  const nodes = await listNodes();
  const summary = {
    polls: 0,
    nodesDown: 0,
    nodesLost: 0,
    reconciled: 0,
    ended: 0,
    found: 0,
    samples: 0,
    alarmsRaised: 0,
    alarmsCleared: 0,
  };
  // Nothing to poll until a node has sent a hook: one read per run while idle.
  if (nodes.length === 0) return summary;
  const [profiles, rules, alarms, states] = await Promise.all([
    listOam('profile'),
    listOam('rule'),
    listOam('alarm'),
    listAlarmStates(),
  ]);
  const known = new Set(alarms.map((a) => a.id));
  const run: RunContext = {
    plan: planFor(profiles, rules),
    alarms,
    states: new Map(states.map((s) => [stateKey(s), s])),
    summary,
  };
  // A node whose profiles changed since its last poll is due at once, at its new rate.
  for (const node of nodes) {
    const mem = memory.get(node.nodeId);
    if (mem && mem.periodMs !== periodOf(run.plan.forNode(node))) mem.nextPollAt = 0;
  }
  // Watches of an alarm since deleted end (a raised one clears).
  for (const state of states) if (!known.has(state.alarmId)) await clear(state, run);
  const failures: unknown[] = [];
  for (;;) {
    const now = Date.now();
    // A node not polled yet by this process is due at once; the others when their rate says.
    const due = nodes.filter((n) => options.force || (memory.get(n.nodeId)?.nextPollAt ?? 0) <= now);
    await inParallel(due, concurrency, async (node) => {
      // Past the run's window (many nodes, slow answers), the rest wait for the next run: they
      // stay due, and a run never outlasts its function's timeout.
      if (!options.force && Date.now() - started >= runForMs) return;
      try {
        await pollNode(node, run, Date.now(), options.force);
      } catch (error) {
        failures.push(error);
        logger.error('could not record what a WCS node answered', {
          nodeId: node.nodeId,
          error: error as Error,
        });
      }
    });
    // The window is over (the polls took it up), or the next poll would fall after it: the run ends.
    if (options.force || Date.now() - started >= runForMs) break;
    const next = Math.min(...nodes.map((n) => memory.get(n.nodeId)?.nextPollAt ?? Number.POSITIVE_INFINITY));
    if (!Number.isFinite(next) || next - started >= runForMs) break;
    await sleep(Math.max(0, next - Date.now()));
  }
  if (failures.length > 0 && failures.length === run.summary.polls) throw failures[0];
  return run.summary;
}

/** One poll and reconciliation of every node now, whatever their rates (the CLI, the tests). */
export const pollNow = () => runPoller(0, { force: true });
