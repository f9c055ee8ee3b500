/**
 * An endpoint's logic, whichever kind it is: built in, a Lambda function (AWS), a module (the local
 * runtime) or an HTTPS webhook signed like the hooks. Each gets the same event (meveo's parameters:
 * `docs/endpoints.md`) and answers the same way: what to add to the context and what to send. It
 * has the endpoint's `timeoutMs`; a logic that throws, takes longer or answers something that is
 * not an answer fails with `LogicFailedError`, which says which.
 */
import { createHmac } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';
import '../kernel/zod-locale.ts';
import * as z from 'zod/mini';
import { setting } from '../kernel/config.ts';
import { onFirstUse } from '../kernel/lazy.ts';
import { logger } from '../kernel/logger.ts';
import type { Endpoint } from '../state/endpoints.ts';
import { builtInLogic } from './built-in.ts';

/** What reaches the logic: meveo's `WS_EVENT`, `WS_SESSION`, `WS_MESSAGE`, ... and the context. */
export interface EndpointEvent {
  readonly event: 'open' | 'message' | 'close' | 'error';
  readonly endpoint: string;
  readonly session: {
    readonly connectionId: string;
    readonly user: string;
    readonly roles: readonly string[];
    readonly appKey?: string;
    readonly openedAt: string;
    /** The query string the connection was opened with, but its `token` (and the `endpoint` routing adds). */
    readonly query: Readonly<Record<string, string>>;
    /** The upgrade request's headers the endpoint forwards (`forwardHeaders`), by name in lower case. */
    readonly headers: Readonly<Record<string, string>>;
  };
  /** What earlier events of this connection added (empty on `open`). */
  readonly context: Readonly<Record<string, unknown>>;
  /** `message`: the text the user agent sent. */
  readonly message?: string;
  /** `close`: the WebSocket close code and phrase. */
  readonly reasonCode?: number;
  readonly reasonPhrase?: string;
  /** `error`: what went wrong. */
  readonly error?: string;
  /** When wcs-hooks sent it (ISO): a webhook can refuse a replayed request. */
  readonly sentAt: string;
}

const text = z.string().check(z.maxLength(128 * 1024));
const user = z.string().check(z.minLength(1), z.maxLength(256));

/** What the logic may answer; everything optional, and nothing (`null`, no body) is an answer too. */
export const logicAnswer = z.nullable(
  z.object({
    /** Added to the context (a key set to `null` is removed); later events receive it. */
    context: z.optional(z.record(z.string(), z.unknown())),
    /** Sent back to this connection (not on `open`: API Gateway cannot send to a connection before it is open). */
    reply: z.optional(z.union([text, z.array(text).check(z.maxLength(100))])),
    /** `sendMessage` to users of this endpoint, and their WCS sessions too with `wcs`. */
    send: z.optional(z.array(z.object({ user, text, wcs: z.optional(z.boolean()) })).check(z.maxLength(100))),
    /** Sent to everyone on this endpoint. */
    broadcast: z.optional(text),
    /**
     * Closes this connection after the replies (not on `open`: throw to refuse it): `true`, or with
     * the logic's own close code (1000, or 3000 to 4999) and reason, which the page gets in a last
     * message `{"type":"close","code","reason"}` (API Gateway's DeleteConnection sets no close
     * code) and the logic in its `close`.
     */
    close: z.optional(
      z.union([
        z.boolean(),
        z.strictObject({
          code: z
            .int()
            .check(
              z.refine((code) => code === 1000 || (code >= 3000 && code <= 4999), '1000, or 3000 to 4999'),
            ),
          reason: z.optional(z.string().check(z.maxLength(123))),
        }),
      ]),
    ),
  }),
);

export type LogicAnswer = NonNullable<z.infer<typeof logicAnswer>>;

/** Why the logic gave no answer. */
export type LogicFailure = 'threw' | 'timeout' | 'garbage' | 'unreachable';

export class LogicFailedError extends Error {
  readonly failure: LogicFailure;

  constructor(failure: LogicFailure, message: string) {
    super(message);
    this.name = 'LogicFailedError';
    this.failure = failure;
  }
}

/** What the module logic gets besides the event: `sendMessage`, as meveo's scripts have it. */
export interface LogicApi {
  sendMessage(endpointCode: string, username: string, text: string): Promise<unknown>;
}

type RawLogic = (event: EndpointEvent, api: LogicApi) => Promise<unknown>;

/** The Lambda client, made on first use (`shared/kernel/lazy.ts`): only Lambda logic needs it. */
const lambdaClient = onFirstUse(async () => {
  const { LambdaClient, InvokeCommand } = await import('./lambda-client.ts');
  return { lambda: new LambdaClient({}), InvokeCommand };
});

async function invokeLambda(
  functionArn: string,
  event: EndpointEvent,
  signal: AbortSignal,
): Promise<unknown> {
  let answer: InvokeCommandOutput;
  try {
    const { lambda, InvokeCommand } = await lambdaClient();
    answer = await lambda.send(
      new InvokeCommand({
        FunctionName: functionArn,
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    if (signal.aborted) throw error;
    throw new LogicFailedError('unreachable', `invoking ${functionArn} failed: ${(error as Error).message}`);
  }
  const payload = answer.Payload ? new TextDecoder().decode(answer.Payload) : '';
  if (answer.FunctionError) {
    let message = payload;
    try {
      message = String((JSON.parse(payload) as { errorMessage?: unknown }).errorMessage ?? payload);
    } catch {}
    throw new LogicFailedError('threw', message.slice(0, 500));
  }
  return parseJsonAnswer(payload);
}

function parseJsonAnswer(body: string): unknown {
  if (body.trim() === '') return null;
  try {
    return JSON.parse(body);
  } catch {
    throw new LogicFailedError('garbage', `the answer is not JSON: ${body.slice(0, 100)}`);
  }
}

/** The largest webhook answer read. */
const MAX_WEBHOOK_ANSWER_BYTES = 256 * 1024;

/**
 * Posts `event` to a webhook, signed as WCS signs its hooks (`Authorization: WCS <hex HMAC-MD5 of
 * the body>`, reference §0.2) and with `X-Wcs-Hooks-Signature: sha256=<hex HMAC-SHA256>`, under the
 * endpoint's webhook secret. A 2xx answers (no body: nothing to do); anything else is the logic refusing.
 */
async function callWebhook(
  url: string,
  secret: string,
  event: EndpointEvent,
  signal: AbortSignal,
): Promise<unknown> {
  const body = JSON.stringify(event);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `WCS ${createHmac('md5', secret).update(body).digest('hex')}`,
        'x-wcs-hooks-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
        'x-wcs-hooks-event': event.event,
      },
      body,
      signal,
      redirect: 'error',
    });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new LogicFailedError(
      'unreachable',
      `the webhook could not be reached: ${(error as Error).message}`,
    );
  }
  const answer = await response.text();
  if (Buffer.byteLength(answer) > MAX_WEBHOOK_ANSWER_BYTES)
    throw new LogicFailedError('garbage', `the webhook answered more than ${MAX_WEBHOOK_ANSWER_BYTES} bytes`);
  if (!response.ok) {
    let message = answer;
    try {
      const parsed = JSON.parse(answer) as { message?: unknown; error?: unknown };
      message = String(parsed.message ?? parsed.error ?? answer);
    } catch {}
    throw new LogicFailedError('threw', `the webhook answered ${response.status}: ${message.slice(0, 300)}`);
  }
  return parseJsonAnswer(answer);
}

/**
 * `api` as a module gets it: each call's promise is handled even when the module does not await it
 * (a failure is logged here instead of being left to end the process); a module that awaits it
 * still sees the failure.
 */
function guardedApi(api: LogicApi, endpoint: string): LogicApi {
  return {
    sendMessage: (endpointCode, username, text) => {
      const sent = Promise.resolve().then(() => api.sendMessage(endpointCode, username, text));
      sent.catch((error: unknown) =>
        logger.warn("an endpoint's logic called api.sendMessage, which failed", {
          endpoint,
          to: { endpoint: endpointCode, user: username },
          reason: error instanceof Error ? error.message : String(error),
        }),
      );
      return sent;
    },
  };
}

const modules = new Map<string, Promise<RawLogic>>();

/** The module's `handler` (or default export), loaded once from `ENDPOINT_MODULE_DIR`. */
function moduleLogic(path: string): Promise<RawLogic> {
  let loaded = modules.get(path);
  if (!loaded) {
    const dir = setting('ENDPOINT_MODULE_DIR');
    loaded = (async () => {
      if (!dir)
        throw new LogicFailedError(
          'unreachable',
          'module logic runs only under npm start (ENDPOINT_MODULE_DIR)',
        );
      let module: { handler?: unknown; default?: unknown };
      try {
        module = (await import(pathToFileURL(resolve(dir, path)).href)) as typeof module;
      } catch (error) {
        throw new LogicFailedError(
          'unreachable',
          `module ${path} could not be loaded: ${(error as Error).message}`,
        );
      }
      const fn = module.handler ?? module.default;
      if (typeof fn !== 'function')
        throw new LogicFailedError('unreachable', `module ${path} exports no handler function`);
      return fn as RawLogic;
    })();
    // A module that failed to load is tried again next time (it may be fixed meanwhile).
    loaded.catch(() => modules.delete(path));
    modules.set(path, loaded);
  }
  return loaded;
}

/**
 * Runs `endpoint`'s logic on `event` within its `timeoutMs`: its validated answer (`{}` for none),
 * or `LogicFailedError`. The timer stops waiting for a module and aborts a Lambda call or a webhook.
 */
export async function runLogic(
  endpoint: Endpoint,
  event: EndpointEvent,
  api: LogicApi,
): Promise<LogicAnswer> {
  const { logic, timeoutMs } = endpoint;
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new LogicFailedError('timeout', `the logic did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const call = async (): Promise<unknown> => {
    switch (logic.kind) {
      case 'builtin':
        return builtInLogic(logic.name, event);
      case 'lambda':
        return invokeLambda(logic.functionArn, event, abort.signal);
      case 'webhook':
        return callWebhook(logic.url, logic.secret, event, abort.signal);
      case 'module': {
        const fn = await moduleLogic(logic.path);
        try {
          return await fn(event, guardedApi(api, endpoint.code));
        } catch (error) {
          if (error instanceof LogicFailedError) throw error;
          throw new LogicFailedError('threw', error instanceof Error ? error.message : String(error));
        }
      }
    }
  };
  const pending = call();
  // Once the timer has answered, what the call does later (an aborted fetch rejecting) goes nowhere.
  pending.catch(() => undefined);
  let raw: unknown;
  try {
    raw = await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
  }
  // A module returning nothing has nothing to do.
  const parsed = z.safeParse(logicAnswer, raw === undefined ? null : raw);
  if (!parsed.success)
    throw new LogicFailedError(
      'garbage',
      `the answer is not one: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(answer)'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data ?? {};
}

/**
 * `context` with `added` merged in (one level: a key `added` sets to `null` is removed), or
 * `undefined` when nothing changed.
 */
export function mergedContext(
  context: Readonly<Record<string, unknown>>,
  added: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> | undefined {
  if (!added || Object.keys(added).length === 0) return undefined;
  const merged: Record<string, unknown> = { ...context };
  for (const [key, value] of Object.entries(added)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}
