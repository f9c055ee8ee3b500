/**
 * What each recording hook does to the state (the handlers whose registry entry `records`): the
 * one statement of it, run by the live hook (`shared/http/hook-handler.ts`), by the replay of a
 * spilled one (`shared/http/replay.ts`), and for the event that records a refusal by a fail mode.
 * So a replayed hook is applied exactly as it would have been when it arrived.
 */
import { logger } from '../kernel/logger.ts';
import { countForAlarm, METRIC } from '../kernel/metrics.ts';
import { findHook, HANDLERS, type RecordingHandler } from '../kernel/registry.ts';
import type {
  AnyHookBody,
  ConnectionStatusEventBody,
  DataStatusEventBody,
  StreamEventBody,
  StreamStatusEventBody,
} from '../kernel/schemas.ts';
import { recordDataStatus } from './data-messages.ts';
import { eventRecorder, type RecordEvent } from './events.ts';
import type { TransitionResult } from './lifecycle.ts';
import { connectionStatusChanged } from './session-status.ts';
import { streamStatusChanged } from './stream-status.ts';
import { recordStopRequest } from './streams.ts';

/** One recording hook, identified: its method, when it arrived, the digest of its raw body. */
export interface RecordedHook {
  readonly method: string;
  readonly receivedAt: Date;
  readonly digest: string;
  /**
   * When what the hook reports happened, when that is known to be earlier than its arrival: a
   * reconciled or lost end (the last evidence of life). The end is stamped with it (`endedAt`),
   * the arrival kept as `endDetectedAt`; durations use the former. Default: `receivedAt`.
   */
  readonly happenedAt?: Date;
  /**
   * Found by reconciliation, not reported by WCS: recorded provisionally, so that the real hook
   * of the same status, arriving later, replaces its facts (`info`, media fields) instead of being
   * taken for a repeat.
   */
  readonly provisional?: boolean;
}

/** Applies a hook's validated body to the state. */
export type Recorder<Body = never> = (body: Body, hook: RecordedHook) => Promise<unknown>;

/** What a recorder's `Reported` is, from the hook. */
const reportedOf = (hook: RecordedHook) => ({
  ...(hook.happenedAt && { happenedAt: hook.happenedAt }),
  ...(hook.provisional && { provisional: true }),
});

/** Keeps a hook its item did not take (`keepNotApplied`) once the recorder has said so. */
type KeepNotApplied = (
  result: TransitionResult | undefined,
  body: Record<string, unknown>,
  hook: RecordedHook,
) => Promise<void>;

/**
 * What becomes of a hook the state did not apply to its item because it is not the item's (the
 * lifecycle's `foreign` and `earlier-generation` outcomes): nothing is lost, it is kept as an event
 * (`events.ts`, with why and the item's node), logged, and, when it names another node than its
 * item's, counted for the `HookFromOtherNode` alarm. The events table is asked for only then: the
 * hooks that never meet such a hook (a decision's refusal event) need none.
 */
export function keepNotApplied(): KeepNotApplied {
  let recordEvent: RecordEvent | undefined;
  return async (result, body, hook) => {
    if (result?.outcome !== 'foreign' && result?.outcome !== 'earlier-generation') return;
    const notApplied =
      result.outcome === 'foreign'
        ? `from node ${String(body.nodeId)}, while its item is on node ${result.itemNodeId ?? 'unknown'}`
        : `received before the session's current generation began (${result.generationStartedAt})`;
    if (result.outcome === 'foreign') {
      countForAlarm(METRIC.hookFromOtherNode);
      logger.warn('a hook from another node than its item was not applied', {
        itemNodeId: result.itemNodeId,
      });
    } else {
      logger.info('a hook of an earlier generation of its session was not applied', {
        generationStartedAt: result.generationStartedAt,
      });
    }
    recordEvent ??= eventRecorder();
    await recordEvent({
      ...hook,
      body,
      notApplied,
      ...(result.itemNodeId && { itemNodeId: result.itemNodeId }),
    });
  };
}

/**
 * A recorder that keeps what its item did not take (`keepNotApplied`), and answers what the record
 * did (`TransitionResult`: reconciliation counts what it really ended or found).
 */
function keeping<Body extends Record<string, unknown>>(
  apply: (body: Body, hook: RecordedHook) => Promise<TransitionResult>,
): Recorder<Body> {
  const keep = keepNotApplied();
  return async (body, hook) => {
    const result = await apply(body, hook);
    await keep(result, body, hook);
    return result;
  };
}

const RECORDERS: { readonly [Name in RecordingHandler]: () => Recorder<never> } = {
  'connection-status-event': () =>
    keeping((body: ConnectionStatusEventBody, hook) =>
      connectionStatusChanged(body, hook.receivedAt, reportedOf(hook)),
    ),
  'stream-status-event': () =>
    keeping((body: StreamStatusEventBody, hook) =>
      streamStatusChanged(body, hook.receivedAt, reportedOf(hook)),
    ),
  'unpublish-stream': () =>
    keeping((body: StreamEventBody, hook) => recordStopRequest(body, hook.receivedAt)),
  'stop-stream': () => keeping((body: StreamEventBody, hook) => recordStopRequest(body, hook.receivedAt)),
  'data-status-event': () => (body: DataStatusEventBody, hook) => recordDataStatus(body, hook.receivedAt),
  'error-event': () => {
    const recordEvent = eventRecorder();
    return (body: AnyHookBody, hook) => {
      logger.warn('WCS reported an error', { info: body.info });
      return recordEvent({ ...hook, body });
    };
  },
  echo: () => {
    const recordEvent = eventRecorder();
    return (body: AnyHookBody, hook) => recordEvent({ ...hook, body });
  },
};

/**
 * The recorder of `handler`, made now: what it needs from the environment (a table name) is read
 * here, so a function built with it fails at start, not at its first hook, when that is missing.
 */
export function recorderOf(handler: RecordingHandler): Recorder<Record<string, unknown>> {
  return RECORDERS[handler]() as Recorder<Record<string, unknown>>;
}

/**
 * A recorder for any recording hook by its method: the body is validated with the method's schema
 * first (a spilled or constructed body is checked as a live one is). Throws for a method that does
 * not record.
 */
export function recorderByMethod(): (body: Record<string, unknown>, hook: RecordedHook) => Promise<unknown> {
  const made = new Map<RecordingHandler, Recorder<Record<string, unknown>>>();
  return (body, hook) => {
    const handler = findHook(hook.method)?.handler;
    if (!handler || HANDLERS[handler].answers !== 'records')
      throw new Error(`${hook.method} is not a hook that records`);
    const name = handler as RecordingHandler;
    let recorder = made.get(name);
    if (!recorder) {
      recorder = recorderOf(name);
      made.set(name, recorder);
    }
    return recorder(HANDLERS[name].schema.parse(body) as Record<string, unknown>, hook);
  };
}
