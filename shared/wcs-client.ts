/**
 * The WCS REST API client (reference §4): `POST <node>/rest-api/data/send` to push data to a
 * connected client. One keep-alive connection pool per node (undici), HTTP Basic auth when
 * credentials are configured, a timeout per request, and retries with exponential backoff and full
 * jitter on network errors and 5xx only. The retry loop is written here rather than with undici's
 * RetryAgent so that the attempt count is known (it is recorded with the send) and the delay is
 * jittered (many senders retrying in step would hit a recovering node together).
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { Pool } from 'undici';
import { integerEnv } from './config.ts';
import { restBaseUrlOf } from './wcs-nodes.ts';

const timeoutMs = integerEnv('WCS_REST_TIMEOUT_MS', 3000);
const maxAttempts = integerEnv('WCS_REST_MAX_ATTEMPTS', 3);
const backoffBaseMs = integerEnv('WCS_REST_BACKOFF_MS', 100);
const connectionsPerNode = integerEnv('WCS_REST_CONNECTIONS', 16);

/** The body of `/data/send` (reference §4, seeds: "Sending data to connected client"). */
export interface DataSendRequest {
  readonly nodeId: string;
  readonly sessionId: string;
  readonly operationId: string;
  readonly payload: unknown;
}

/** How one send ended: SENT (200), GONE (404: the session is no longer on the node) or FAILED. */
export type SendOutcome =
  | { readonly outcome: 'SENT'; readonly attempts: number }
  | { readonly outcome: 'GONE'; readonly attempts: number; readonly reason: string }
  | {
      readonly outcome: 'FAILED';
      readonly attempts: number;
      readonly reason: string;
      readonly retryable: boolean;
    };

const pools = new Map<string, Pool>();

function poolOf(origin: string): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections: connectionsPerNode, keepAliveTimeout: 30_000, pipelining: 1 });
    pools.set(origin, pool);
  }
  return pool;
}

/** Closes every pool (the local runtime and the tests, at shutdown). */
export async function closeWcsClient(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.close()));
  pools.clear();
}

let credentials: Promise<string | undefined> | undefined;

/**
 * The `Authorization` header for the WCS REST API, when it requires auth (`disable_rest_auth=false`).
 * Locally from `WCS_REST_USERNAME`/`WCS_REST_PASSWORD`; in AWS from the Secrets Manager secret named by
 * `WCS_REST_CREDENTIALS_ARN` (`{"username","password"}`), read once and cached.
 */
function authorization(): Promise<string | undefined> {
  credentials ??= (async () => {
    const arn = process.env.WCS_REST_CREDENTIALS_ARN;
    let username = process.env.WCS_REST_USERNAME;
    let password = process.env.WCS_REST_PASSWORD;
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
 * Sends `request` to the node that holds the session. The same `operationId` is used on every
 * attempt, so WCS (and the client) can tell a retry from a new message.
 */
export async function sendData(request: DataSendRequest): Promise<SendOutcome> {
  const url = new URL(`${restBaseUrlOf(request.nodeId)}/data/send`);
  const body = JSON.stringify(request);
  const auth = await authorization();
  let reason = '';
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const response = await poolOf(url.origin).request({
        method: 'POST',
        path: url.pathname,
        headers: { 'content-type': 'application/json', ...(auth && { authorization: auth }) },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await response.body.text();
      if (response.statusCode >= 200 && response.statusCode < 300)
        return { outcome: 'SENT', attempts: attempt };
      reason = `WCS answered ${response.statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`;
      if (response.statusCode === 404) return { outcome: 'GONE', attempts: attempt, reason };
      if (response.statusCode < 500)
        return { outcome: 'FAILED', attempts: attempt, reason, retryable: false };
    } catch (error) {
      reason = `${(error as Error).name}: ${(error as Error).message}`;
    }
    if (attempt < maxAttempts) await sleep(backoffMs(attempt));
  }
  return { outcome: 'FAILED', attempts: maxAttempts, reason, retryable: true };
}
