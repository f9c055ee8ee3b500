/**
 * The WCS REST API client (reference §4): `POST <node>/rest-api/data/send` to push data to a
 * connected client, and the node poller's requests. Node's own `fetch` (keep-alive connections per
 * origin, reused; nothing bundled: the undici package weighed 717 KiB of the sender's bundle), HTTP
 * Basic auth when credentials are configured, a timeout per request, and retries with exponential
 * backoff and full jitter on network errors and 5xx only. The connections to one node are bounded by
 * the callers' concurrency (`SEND_CONCURRENCY`, `NODE_POLL_CONCURRENCY`). The retry loop is written
 * here so that the attempt count is known (it is recorded with the send) and the delay is jittered
 * (many senders retrying in step would hit a recovering node together).
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { setting } from '../kernel/config.ts';
import { NodeRefusedError, type NodeVouching, restBaseUrlOf } from './wcs-nodes.ts';

const timeoutMs = setting('WCS_REST_TIMEOUT_MS');
const maxAnswerBytes = setting('WCS_REST_MAX_ANSWER_BYTES');
const maxAttempts = setting('WCS_REST_MAX_ATTEMPTS');
const backoffBaseMs = setting('WCS_REST_BACKOFF_MS');

/** The body of `/data/send` (reference §4, seeds: "Sending data to connected client"). */
export interface DataSendRequest {
  readonly nodeId: string;
  readonly sessionId: string;
  readonly operationId: string;
  readonly payload: unknown;
}

/**
 * How one send ended: SENT (200), GONE (the node, confirmed to be a WCS REST API, no longer has the
 * session) or FAILED. A FAILED send is `misconfigured` when the node could not be confirmed as a
 * WCS REST API (a wrong URL, another server on that port) or a push to it is refused
 * (`wcs-nodes.ts`): a configuration error to alarm on, never tried again.
 */
export type SendOutcome =
  | { readonly outcome: 'SENT'; readonly attempts: number }
  | { readonly outcome: 'GONE'; readonly attempts: number; readonly reason: string }
  | {
      readonly outcome: 'FAILED';
      readonly attempts: number;
      readonly reason: string;
      readonly retryable: boolean;
      readonly misconfigured?: boolean;
    };

/**
 * Requests in flight, each with its abort: closing the client (the local runtime and the tests, at
 * shutdown) ends them, so nothing outlives the runtime.
 */
const inFlight = new Set<AbortController>();

/** Ends every request in flight (the local runtime and the tests, at shutdown). */
export async function closeWcsClient(): Promise<void> {
  for (const controller of inFlight) controller.abort(new Error('the WCS REST client is closing'));
  inFlight.clear();
}

let credentials: Promise<string | undefined> | undefined;

/**
 * The `Authorization` header for the WCS REST API, when it requires auth (`disable_rest_auth=false`).
 * Locally from `WCS_REST_USERNAME`/`WCS_REST_PASSWORD`; in AWS from the Secrets Manager secret named by
 * `WCS_REST_CREDENTIALS_ARN` (`{"username","password"}`), read once and cached.
 */
function authorization(): Promise<string | undefined> {
  credentials ??= (async () => {
    const arn = setting('WCS_REST_CREDENTIALS_ARN');
    let username = setting('WCS_REST_USERNAME');
    let password = setting('WCS_REST_PASSWORD');
    if (arn) {
      const secret = (await getSecret(arn, { transform: 'json', maxAge: 300 })) as {
        username?: string;
        password?: string;
      };
      ({ username, password } = secret ?? {});
    }
    return username && password
      ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
      : undefined;
  })();
  return credentials;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Full jitter: a random delay up to base × 2^attempt (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
function backoffMs(attempt: number): number {
  return Math.random() * backoffBaseMs * 2 ** attempt;
}

/**
 * What went wrong with a request, as an operator needs it: `fetch` reports every network failure as
 * "TypeError: fetch failed", with the cause (`connect ECONNREFUSED 10.0.0.5:8081`) inside.
 */
function describeError(error: unknown): string {
  const { name, message, cause } = error as Error & { cause?: Error & { code?: string } };
  if (cause instanceof Error) return `${cause.code ?? cause.name}: ${cause.message}`;
  return `${name}: ${message}`;
}

/** An answer past `WCS_REST_MAX_ANSWER_BYTES`: not read further. */
export class AnswerTooLargeError extends Error {
  constructor(url: URL) {
    super(`${url} answered more than ${maxAnswerBytes} bytes (WCS_REST_MAX_ANSWER_BYTES): not read`);
    this.name = 'AnswerTooLargeError';
  }
}

/**
 * The body of `response` as text, read as it arrives and abandoned past `maxBytes` (a declared
 * `content-length` past it is not read at all): a node's answer never takes more memory than that.
 */
async function boundedText(response: Response, url: URL, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new AnswerTooLargeError(url);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new AnswerTooLargeError(url);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One POST to a node's REST API: its status, reason phrase and body text, within
 * `WCS_REST_TIMEOUT_MS` for the whole exchange (the body included), the body at most
 * `WCS_REST_MAX_ANSWER_BYTES`; `signal` (a run stopping) ends it at once.
 */
async function post(url: URL, body: string, auth: string | undefined, signal?: AbortSignal) {
  const controller = new AbortController();
  inFlight.add(controller);
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
    timeoutMs,
  );
  const stop = () => controller.abort(signal?.reason ?? new Error('the request was stopped'));
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth && { authorization: auth }) },
      body,
      signal: controller.signal,
    });
    return {
      status: response.status,
      statusText: response.statusText,
      contentType: response.headers.get('content-type') ?? '',
      text: await boundedText(response, url, maxAnswerBytes),
    };
  } catch (error) {
    // What was aborted says why (the timeout, or the client closing), not "This operation was aborted".
    if (controller.signal.aborted && !(error instanceof AnswerTooLargeError)) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
    inFlight.delete(controller);
  }
}

/**
 * True when an answer is a WCS finder's "nothing found" (reference §4: `404 Streams not found`,
 * `Stream not found`, `Connections not found`...), in its reason phrase or as its plain-text body;
 * a proxy's or another server's 404 (an HTML page, `Cannot POST`, `404 page not found`) is not.
 * Alone it proves nothing: only a node confirmed as a WCS REST API is believed (`isConfirmed`).
 */
export function isFinderNotFound(answer: {
  readonly status: number;
  readonly statusText?: string;
  readonly contentType?: string;
  readonly text: string;
}): boolean {
  if (answer.status !== 404 || /html/i.test(answer.contentType ?? '')) return false;
  const phrase = /^(streams?|connections?|calls?|sessions?|objects?) not found\.?$/i;
  return (
    phrase.test(answer.text.trim()) || (answer.text.trim() === '' && phrase.test(answer.statusText ?? ''))
  );
}

/**
 * How long a node that answered as a WCS REST API (a 2xx to `/data/send`, or a list from
 * `/connection/find_all`) stays confirmed: a 404 from it then means the session is gone.
 */
const CONFIRMED_FOR_MS = 10 * 60_000;
/** REST base URL → when it last answered as a WCS REST API. */
const confirmedNodes = new Map<string, number>();

/**
 * True when the REST API at `base` answered as a WCS REST API recently: in this process within
 * `CONFIRMED_FOR_MS`, or as the node item remembers it (`persisted`: the URL and time of its last
 * reconciliation, within a day, the poller running in a new process each time in AWS).
 */
export function isConfirmed(base: string, persisted?: { url?: string; at?: number }): boolean {
  if (Date.now() - (confirmedNodes.get(base) ?? 0) < CONFIRMED_FOR_MS) return true;
  return persisted?.url === base && Date.now() - (persisted.at ?? 0) < 86_400_000;
}

/** Notes that the REST API at `base` answered as a WCS REST API (a list from a finder, a 2xx to a send). */
export function markConfirmed(base: string): void {
  confirmedNodes.set(base, Date.now());
}

/**
 * Asks a node that answered 404 whether it is a WCS REST API that no longer has the session:
 * `POST <base>/connection/find_all` (reference §4) must answer 200 with a JSON list of connections.
 * A node that answers anything else (404 from a wrong path, another server's page) is not
 * confirmed, and nothing is concluded about the session.
 */
async function sessionGone(
  base: string,
  sessionId: string,
  auth: string | undefined,
): Promise<{ gone: boolean } | { unconfirmed: string }> {
  if (isConfirmed(base)) return { gone: true };
  let answer: { status: number; text: string };
  try {
    answer = await post(new URL(`${base}/connection/find_all`), '{}', auth);
  } catch (error) {
    return { unconfirmed: `${base}/connection/find_all failed: ${(error as Error).message}` };
  }
  let connections: unknown;
  try {
    connections = JSON.parse(answer.text);
  } catch {
    connections = undefined;
  }
  if (answer.status !== 200 || !Array.isArray(connections)) {
    const said = answer.text ? `: ${answer.text.slice(0, 120)}` : '';
    return { unconfirmed: `${base}/connection/find_all answered ${answer.status}${said}` };
  }
  markConfirmed(base);
  const held = connections.some((c) => (c as { sessionId?: unknown } | null)?.sessionId === sessionId);
  return { gone: !held };
}

/** What a node answered to one request of the node poller. */
export type NodeAnswer =
  | {
      readonly answered: true;
      /** The REST base URL asked. */
      readonly base: string;
      readonly status: number;
      readonly statusText: string;
      readonly contentType: string;
      readonly text: string;
    }
  | {
      readonly answered: false;
      readonly reason: string;
      /** Not tried: this node may not be asked (`wcs-nodes.ts`: not registered nor vouched for, outside the allowed networks). */
      readonly refused?: boolean;
      /** It answered, but past `WCS_REST_MAX_ANSWER_BYTES`: not read. */
      readonly tooLarge?: boolean;
    };

/**
 * One request to a node's REST API for the node poller: `POST <base><path>` with the same URL rules
 * (`restBaseUrlOf`: registered, or vouched for by its hooks, within the allowed networks),
 * credentials, timeout and answer cap as a send, not retried (the next poll is the retry). `base`
 * is the node's REST URL when the caller already decided it (`targetFrom`), `known` what it read of
 * the node (its item). A node that cannot be reached, or may not be asked, did not answer; `signal`
 * stops the request (the run is stopping).
 */
export async function askNode(
  nodeId: string,
  path: string,
  body: unknown,
  options: { known?: NodeVouching; base?: string; signal?: AbortSignal } = {},
): Promise<NodeAnswer> {
  let base: string;
  try {
    base = options.base ?? (await restBaseUrlOf(nodeId, options.known));
  } catch (error) {
    if (!(error instanceof NodeRefusedError)) throw error;
    return { answered: false, reason: error.message, refused: true };
  }
  try {
    const answer = await post(
      new URL(`${base}${path}`),
      JSON.stringify(body),
      await authorization(),
      options.signal,
    );
    return { answered: true, base, ...answer };
  } catch (error) {
    if (error instanceof AnswerTooLargeError)
      return { answered: false, reason: error.message, tooLarge: true };
    return { answered: false, reason: `${base}${path}: ${describeError(error)}` };
  }
}

/**
 * Sends `request` to the node that holds the session. The same `operationId` is used on every
 * attempt, so WCS (and the client) can tell a retry from a new message. A 404 is GONE only from a
 * node confirmed to be a WCS REST API (`sessionGone`); from any other, it is a configuration error
 * (`misconfigured`), which closes nothing.
 */
export async function sendData(request: DataSendRequest): Promise<SendOutcome> {
  let base: string;
  try {
    base = await restBaseUrlOf(request.nodeId);
  } catch (error) {
    if (!(error instanceof NodeRefusedError)) throw error;
    return { outcome: 'FAILED', attempts: 0, reason: error.message, retryable: false, misconfigured: true };
  }
  const url = new URL(`${base}/data/send`);
  const body = JSON.stringify(request);
  const auth = await authorization();
  let reason = '';
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const { status, text } = await post(url, body, auth);
      if (status >= 200 && status < 300) {
        markConfirmed(base);
        return { outcome: 'SENT', attempts: attempt };
      }
      reason = `WCS answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
      if (status === 404) {
        const check = await sessionGone(base, request.sessionId, auth);
        if ('unconfirmed' in check) {
          reason = `${url} answered 404, and the node is not confirmed as a WCS REST API (${check.unconfirmed}): check its REST URL`;
          return { outcome: 'FAILED', attempts: attempt, reason, retryable: false, misconfigured: true };
        }
        if (check.gone) return { outcome: 'GONE', attempts: attempt, reason };
        reason = `${reason}, yet the node lists the session among its connections`;
        return { outcome: 'FAILED', attempts: attempt, reason, retryable: false };
      }
      if (status < 500) return { outcome: 'FAILED', attempts: attempt, reason, retryable: false };
    } catch (error) {
      reason = describeError(error);
    }
    if (attempt < maxAttempts) await sleep(backoffMs(attempt));
  }
  return { outcome: 'FAILED', attempts: maxAttempts, reason, retryable: true };
}
