/**
 * The adapter every hook function is built with: an API Gateway HTTP API (payload v2) event in,
 * WCS's answer out, with the middleware chain in the order the concerns must run:
 *
 *   logger context → metrics → method → HMAC signature (raw body) → body size → JSON → schema
 *     → handler (log keys, domain call, mirror) ; error handler last, for every failure on the way
 *
 * A handler receives the validated body and returns nothing (the body is mirrored, as WCS expects
 * of every method, reference §0 "Mirror rule") or the fields it changes.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { DeadlineExceededError, isDependencyFailure, withinBudget } from '../kernel/budget.ts';
import { now } from '../kernel/clock.ts';
import { MAX_SPILLABLE_BODY_BYTES, setting } from '../kernel/config.ts';
import { bodyWithoutCredentials } from '../kernel/credentials.ts';
import { digestOf } from '../kernel/digest.ts';
import { DecisionRefusedError, HookError, summaryOf, UnknownRouteError } from '../kernel/errors.ts';
import { debugLine, lambdaContext, logger } from '../kernel/logger.ts';
import { countForAlarm, flushMetrics, METRIC, metrics } from '../kernel/metrics.ts';
import {
  findHook,
  HANDLERS,
  type HandlerName,
  type HookHandlerDefinition,
  methodServedBy,
  type RecordingHandler,
} from '../kernel/registry.ts';
import { type CountRefusal, refusalCounter } from '../state/counters.ts';
import { eventRecorder, type RecordEvent } from '../state/events.ts';
import { isNodeId, noteNodeHook } from '../state/monitoring.ts';
import { recorderByMethod, recorderOf } from '../state/recorders.ts';
import { breakerOpen, closeBreaker, tripBreaker } from './breaker.ts';
import { decisionBudgetMs, failModeOf } from './fail-modes.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { errorHandler, jsonResponse } from './middleware/error-handler.ts';
import { jsonBody } from './middleware/json-body.ts';
import { rawBodyOf } from './middleware/raw-body.ts';
import { problemsOf, validateBody, validatedBodyOf } from './middleware/validate-body.ts';
import { signatureVerified, wcsSignature } from './middleware/wcs-signature.ts';
import { hookSecrets } from './secrets.ts';
import { canSpill, type SpilledHook, spill } from './spill.ts';

const limitBytes = setting('HOOK_BODY_LIMIT_BYTES');
if (limitBytes > MAX_SPILLABLE_BODY_BYTES) {
  // An event over it could not be spilled when DynamoDB is down, and would be lost.
  throw new Error(
    `HOOK_BODY_LIMIT_BYTES is ${limitBytes}; at most ${MAX_SPILLABLE_BODY_BYTES}, so that any event fits the spill (SQS: 256 KiB)`,
  );
}

/** One hook call, decoded: what a handler in `functions/` works with. */
export interface HookInvocation<Body> {
  /** The method name as WCS sent it (the last element of the hook URL). */
  readonly method: string;
  /** The body, validated against the handler's schema. */
  readonly body: Body;
  /** The exact bytes WCS sent. */
  readonly rawBody: Buffer;
  /** When this backend received the hook. */
  readonly receivedAt: Date;
}

/** What a handler answers: nothing (mirror the body) or fields to add to or change in the mirror. */
export type HookAnswer = undefined | { readonly fields?: Record<string, unknown> };

/** The body of handler `Name`'s hooks, as its schema validates it. */
export type BodyOf<Name extends HandlerName> = z.infer<(typeof HANDLERS)[Name]['schema']>;

/** The handlers that decide (`answers: { decides }` in the registry). */
export type DecidingHandler = Exclude<HandlerName, RecordingHandler>;

/**
 * For a decision that can fail closed: the event that records a refusal made by the fail mode
 * instead of the decision, as WCS itself reports a refused action (a FAILED ConnectionStatusEvent,
 * StreamStatusEvent or DataStatusEvent), `info` saying why. It is applied through that event's own
 * recorder (`shared/state/recorders.ts`), so the lifecycle rules keep whatever the abandoned
 * decision wrote from counting: a terminal status is never left (a late `connect` does not reopen
 * the session), a name held by a FAILED stream is free for the next publisher, a player of an ended
 * stream takes no place. The decision's own writes may still land after the 403; this event,
 * applied then (or spilled and replayed when the database is too slow even for it), makes them
 * count for nothing.
 */
export type RefusalEvent<Body> = (
  body: Body,
  info: string,
) => { readonly method: string; readonly body: Record<string, unknown> };

/**
 * For a decision whose refused attempt WCS still reports (a refused `connect`, `publishStream` or
 * `playStream` is reported FAILED, reference §1.2, §1.3): marks the attempt's item refused, with
 * why, before the 403 is answered, as its refusal is counted. The usage aggregates and the history
 * read the mark: a refused attempt is a refusal, not a session, publish or play that failed.
 * Idempotent, and never undone by a status hook, early or late. Not made by the fail mode: it
 * refuses when DynamoDB failed a moment ago (the breaker is open), and its refusal is no policy's
 * (not counted in the refusals either): the attempt counts as one that failed, for that reason.
 */
export type RefusalMark<Body> = (body: Body, receivedAt: Date, reason: string) => Promise<unknown>;

/** A decision hook's domain code. */
export interface Decision<Name extends DecidingHandler> {
  /** Admits (answering nothing, or the fields to add to the mirror) or throws `DecisionRefusedError`. */
  readonly decide: (hook: HookInvocation<BodyOf<Name>>) => Promise<HookAnswer>;
  /** Default: none (a decision that fails open has nothing to take back). */
  readonly refusal?: RefusalEvent<BodyOf<Name>>;
  /** Default: none (nothing of a refused attempt is recorded but the refusal's count). */
  readonly refused?: RefusalMark<BodyOf<Name>>;
}

/**
 * Names the hook method for everything after it: the logger key, the metric dimension, and
 * `event.pathParameters.method` (set for the dedicated routes too, which have no path parameter).
 * The catch-all takes the name from the path and answers 404 for one that is not a method name.
 */
function hookMethod(fixed: string | undefined): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  const hookMethodBefore: middy.MiddlewareFn<APIGatewayProxyEventV2> = (request) => {
    const { event } = request;
    const method = fixed ?? event.pathParameters?.method ?? event.rawPath?.split('/').pop() ?? '';
    logger.appendKeys({ method });
    if (!findHook(method)) throw new UnknownRouteError(`"${method}" is not a WCS hook method name`);
    // The flush at the end of the previous invocation emptied the dimensions.
    metrics.addDimension('method', method);
    event.pathParameters = { ...event.pathParameters, method };
  };
  return { before: hookMethodBefore };
}

const LOG_KEYS = ['nodeId', 'appKey', 'sessionId', 'mediaSessionId'] as const;

/** A line for each answered hook at INFO, or at DEBUG only (`LOG_EACH_HOOK`; the stack's default). */
const logAnswered = setting('LOG_EACH_HOOK') ? logger.info.bind(logger) : debugLine;

/** Time an event hook has to be written before it is spilled (in AWS the stack sets 100 ms: docs/deploy.md). */
const eventBudgetMs = setting('EVENT_BUDGET_MS');

/**
 * The answer of the write `start` makes; or, when it cannot be made within the event budget, a
 * dependency failed, or failed a moment ago (`breaker.ts`), the hook spilled for a later replay and
 * answered as written (WCS does not resend events, so failing it would lose it). A metric and a
 * warning say so. Our own bugs still answer 500.
 */
async function writeOrSpill(start: () => Promise<HookAnswer>, hook: SpilledHook): Promise<HookAnswer> {
  if (breakerOpen() && canSpill()) return spillNow(hook, 'the database failed a moment ago');
  try {
    const answer = await withinBudget(start(), eventBudgetMs);
    closeBreaker();
    return answer;
  } catch (error) {
    if (error instanceof HookError || !isDependencyFailure(error) || !canSpill()) throw error;
    tripBreaker();
    return spillNow(hook, (error as Error).message);
  }
}

async function spillNow(hook: SpilledHook, why: string): Promise<HookAnswer> {
  await spill(hook);
  metrics.addMetric(METRIC.spilled, MetricUnit.Count, 1);
  countForAlarm(METRIC.spilled);
  logger.warn('hook spilled for a later replay', { error: why });
  return undefined;
}

/**
 * The decision `work` makes, or, when it cannot be made within the budget or a dependency failed,
 * the method's fail mode: `open` answers as if admitted, `closed` refuses. Either way a metric and a
 * warning say so. A refusal or an input error is the decision itself and passes through; a refusal
 * is counted for the app first (`shared/state/counters.ts`).
 */
async function decideInTime(
  method: string,
  start: () => Promise<HookAnswer>,
  hook: { appKey: unknown; sessionId?: unknown; receivedAt: Date; digest: string },
  countRefusal: CountRefusal,
  refusal: ((info: string) => ReturnType<RefusalEvent<unknown>>) | undefined,
  markRefused: ((reason: string) => Promise<unknown>) | undefined,
): Promise<HookAnswer> {
  try {
    // DynamoDB failed a moment ago (`breaker.ts`): the fail mode now, without waiting a budget for it.
    if (breakerOpen()) throw new DependencyBrokenError();
    const answer = await withinBudget(start(), decisionBudgetMs);
    closeBreaker();
    metrics.addMetric(METRIC.admitted, MetricUnit.Count, 1);
    return answer;
  } catch (error) {
    if (error instanceof DecisionRefusedError) {
      const appKey = typeof hook.appKey === 'string' ? hook.appKey : '-';
      const sessionId = typeof hook.sessionId === 'string' ? hook.sessionId : undefined;
      await Promise.all([
        countRefusal(
          { appKey, method, reason: error.message, hookDigest: hook.digest, ...(sessionId && { sessionId }) },
          hook.receivedAt,
        ),
        markRefused && recordRefusalMark(markRefused, error.message),
      ]);
    }
    if (error instanceof HookError || !isDependencyFailure(error)) throw error;
    if (!(error instanceof DependencyBrokenError)) tripBreaker();
    const mode = failModeOf(method);
    const cause =
      error instanceof DeadlineExceededError
        ? 'deadline'
        : error instanceof DependencyBrokenError
          ? 'breaker'
          : 'dependency';
    metrics.addDimension('failMode', mode);
    metrics.addMetric(METRIC.decisionFallback, MetricUnit.Count, 1);
    countForAlarm(METRIC.decisionFallback);
    logger.warn('decision fell back to its fail mode', {
      failMode: mode,
      cause,
      error: (error as Error).message,
    });
    if (mode === 'closed') {
      const reason = `admission unavailable (${cause}); this hook fails closed`;
      if (refusal) await recordRefusal(refusal, hook, reason);
      throw new DecisionRefusedError(reason);
    }
    return undefined;
  }
}

/** A refusal waits at most this long for its mark (`RefusalMark`), as for its count. */
const refusalMarkBudgetMs = setting('REFUSAL_COUNT_BUDGET_MS');

/**
 * Marks a refused attempt (`RefusalMark`) within `REFUSAL_COUNT_BUDGET_MS`. The refusal is the
 * answer either way: a mark not written in time is left out, with a warning (the attempt then
 * counts as one that failed, as WCS's FAILED says).
 */
async function recordRefusalMark(mark: (reason: string) => Promise<unknown>, reason: string) {
  try {
    await withinBudget(
      Promise.resolve().then(() => mark(reason)),
      refusalMarkBudgetMs,
    );
  } catch (error) {
    logger.warn('refused attempt not marked refused', { error: (error as Error).message });
  }
}

/** Applies a recording hook by its method: the event that records a refusal (`RefusalEvent`). */
const applyRecorded = recorderByMethod();

/**
 * Records a refusal by the fail mode (`RefusalEvent`), within one more decision budget; when the
 * database is too slow for that too, spills it, to be replayed like any spilled event. WCS gets its
 * 403 either way; only a refusal that could be neither written nor spilled is lost, and says so.
 */
async function recordRefusal(
  refusal: (info: string) => ReturnType<RefusalEvent<unknown>>,
  hook: { receivedAt: Date; digest: string },
  reason: string,
): Promise<void> {
  const event = refusal(`refused by wcs-hooks: ${reason}`);
  try {
    if (breakerOpen()) throw new DependencyBrokenError();
    await withinBudget(
      Promise.resolve().then(() =>
        applyRecorded(event.body, { method: event.method, receivedAt: hook.receivedAt, digest: hook.digest }),
      ),
      decisionBudgetMs,
    );
  } catch (error) {
    if (!isDependencyFailure(error)) throw error;
    try {
      await spill({
        method: event.method,
        body: event.body,
        receivedAt: hook.receivedAt.toISOString(),
        digest: hook.digest,
      });
      metrics.addMetric(METRIC.spilled, MetricUnit.Count, 1);
      countForAlarm(METRIC.spilled);
    } catch (spillError) {
      logger.error('a refusal by the fail mode could be neither recorded nor spilled', {
        reason,
        error: (spillError as Error).message,
      });
    }
  }
}

/** The breaker is open: DynamoDB failed a moment ago, and is not asked again yet. */
class DependencyBrokenError extends Error {
  constructor() {
    super('DynamoDB failed a moment ago (circuit breaker open)');
    this.name = 'DependencyBrokenError';
  }
}

/**
 * The Lambda handler of a recording hook handler (`answers: 'records'`): each hook is applied by
 * its recorder (`shared/state/recorders.ts`), or spilled and replayed through it later.
 */
export function recordingHook(name: RecordingHandler) {
  const record = recorderOf(name);
  return hookFunction(name, async ({ method, body, rawBody, receivedAt }) => {
    await record(body as Record<string, unknown>, { method, receivedAt, digest: digestOf(rawBody) });
    return undefined;
  });
}

/** The Lambda handler of a decision hook handler (`answers: { decides }`), with its domain code. */
export function decisionHook<Name extends DecidingHandler>(name: Name, decision: Decision<Name>) {
  return hookFunction(
    name,
    decision.decide as (hook: HookInvocation<unknown>) => Promise<HookAnswer>,
    decision.refusal as RefusalEvent<unknown> | undefined,
    decision.refused as RefusalMark<unknown> | undefined,
  );
}

/** Builds the Lambda handler of hook handler `name`, as its registry entry describes it. */
function hookFunction(
  name: HandlerName,
  handle: (hook: HookInvocation<unknown>) => Promise<HookAnswer>,
  refusal?: RefusalEvent<unknown>,
  refused?: RefusalMark<unknown>,
) {
  const definition: HookHandlerDefinition = HANDLERS[name];
  const decides = definition.answers !== 'records';
  const { schema } = definition;
  // Made for decision hooks only: it is there exactly when the hook decides.
  const countRefusal = decides ? refusalCounter() : undefined;
  const recordsInvalid = (definition.invalidBody ?? (decides ? 'refuse' : 'record')) === 'record';
  // Likewise, only a hook that keeps what it cannot identify needs the events table.
  const recordEvent = recordsInvalid ? eventRecorder() : undefined;
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use(lambdaContext())
    .use(flushMetrics())
    .use(hookMethod(methodServedBy(name)))
    .use(wcsSignature({ secrets: hookSecrets }))
    .use(bodyLimit({ limitBytes }))
    .use(jsonBody())
    .use(recordsInvalid ? { before: () => undefined } : validateBody(schema))
    .use(errorHandler())
    .handler(async (event) => {
      // The hook's time for the state and usage (`kernel/clock.ts`); the latency is measured apart.
      const receivedAt = now();
      const startedMs = Date.now();
      const method = event.pathParameters?.method as string;
      // The JSON middleware replaced the string body with the parsed value: an object, from WCS.
      const parsed: unknown = event.body;
      const mirror = isObject(parsed) ? parsed : {};
      // One call for the four: each call of Powertools' appendKeys costs as much as the four keys.
      const keys: Record<string, string> = {};
      for (const key of LOG_KEYS) {
        const value = mirror[key];
        if (typeof value === 'string') keys[key] = value;
      }
      logger.appendKeys(keys);
      const digest = digestOf(rawBodyOf(event));
      const checked = recordsInvalid ? schema.safeParse(parsed) : undefined;
      const unidentified = checked && !checked.success ? summaryOf(problemsOf(checked.error)) : undefined;
      const validatedOrChecked = () => (checked?.success ? checked.data : validatedBodyOf<unknown>(event));
      // Started only when the breaker lets it (`writeOrSpill`, `decideInTime`).
      const start = () =>
        unidentified && recordEvent
          ? recordUnidentified(recordEvent, {
              method,
              body: parsed,
              digest,
              receivedAt,
              reason: unidentified,
            })
          : handle({ method, body: validatedOrChecked(), rawBody: rawBodyOf(event), receivedAt });
      // What a spill keeps, made only for a hook that may spill (an event, or one kept unidentified).
      const spilled = () => ({
        method,
        // Credentials do not wait in the spill either: nothing an event hook does needs them.
        body: bodyWithoutCredentials(mirror),
        receivedAt: receivedAt.toISOString(),
        digest,
        ...(unidentified && { unidentified }),
        ...(unidentified && !isObject(parsed) && { raw: parsed }),
      });
      const answer =
        countRefusal && !unidentified
          ? await decideInTime(
              method,
              start,
              { appKey: mirror.appKey, sessionId: mirror.sessionId, receivedAt, digest },
              countRefusal,
              refusal && checked?.success !== false
                ? (info: string) => refusal(validatedOrChecked(), info)
                : undefined,
              refused && checked?.success !== false
                ? (reason: string) => refused(validatedOrChecked(), receivedAt, reason)
                : undefined,
            )
          : !decides || unidentified
            ? await writeOrSpill(start, spilled())
            : await start();
      if (unidentified)
        logger.warn('hook kept as a raw event: it cannot be identified', { reason: unidentified });
      await noteNode(mirror.nodeId, receivedAt, signatureVerified(event));
      const durationMs = Date.now() - startedMs;
      metrics.addMetric(METRIC.hooks, MetricUnit.Count, 1);
      metrics.addMetric(METRIC.latency, MetricUnit.Milliseconds, durationMs);
      logAnswered('hook answered', { statusCode: 200, durationMs });
      return jsonResponse(200, isObject(parsed) ? { ...mirror, ...answer?.fields } : parsed);
    });
}

/**
 * Learns the WCS node that sent a hook (`state/monitoring.ts`: at most a write a minute per node and
 * instance), for the node poller: evidence it is alive, and, `signed`, a hook that vouches for it.
 * Never in the way of the hook: skipped while DynamoDB is failing, given a short budget, and a
 * failure only logged (the next hook from the node notes it again).
 */
async function noteNode(nodeId: unknown, receivedAt: Date, signed: boolean): Promise<void> {
  if (!isNodeId(nodeId) || breakerOpen()) return;
  try {
    const noting = noteNodeHook(nodeId, receivedAt, signed);
    if (noting) await withinBudget(noting, eventBudgetMs);
  } catch (error) {
    logger.warn('could not note the WCS node of a hook', { error: (error as Error).message });
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keeps an event hook the schema could not identify, whole, as a raw event with the reason. */
async function recordUnidentified(
  recordEvent: RecordEvent,
  hook: { method: string; body: unknown; digest: string; receivedAt: Date; reason: string },
): Promise<HookAnswer> {
  const body = isObject(hook.body) ? hook.body : { value: hook.body };
  await recordEvent({ ...hook, body, unidentified: hook.reason });
  return undefined;
}
