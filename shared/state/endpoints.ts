/**
 * WebSocket endpoints for user agents (the meveo model, `docs/endpoints.md`): each one's code,
 * description, whether a token is required and for which roles, the app whose tokens it accepts,
 * its logic and its limits. Kept in the configuration store (kind `endpoint`), managed with
 * `npm run cli -- endpoints ...` or `/api/endpoints`, read by the endpoint functions through a
 * short cache. A definition that cannot be honoured is refused here, with every reason.
 */
import '../kernel/zod-locale.ts';
import * as z from 'zod/mini';
import { setting } from '../kernel/config.ts';
import { globMatches } from '../kernel/glob.ts';
import { deleteConfig, getConfig, listConfig, putConfig } from './config-store.ts';

/**
 * An endpoint code's characters, as meveo allows them and a user agent puts them in `/ws/<code>`
 * unescaped: letters, digits, `_`, `-` and `.`, 1 to 64, not starting with `.` (`/ws/..` is none).
 * The local server and the CloudFront function route by it too.
 */
export const ENDPOINT_CODE_CHARS = '[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}';

/** An endpoint code, whole. */
export const ENDPOINT_CODE = new RegExp(`^${ENDPOINT_CODE_CHARS}$`);

/** API Gateway's largest WebSocket message (and `PostToConnection` payload). */
export const MAX_WEBSOCKET_MESSAGE_BYTES = 128 * 1024;

/** The longest a message is kept for a user who is offline (`keepOffline.ttlSeconds`): 14 days. */
export const MAX_KEEP_OFFLINE_SECONDS = 14 * 86_400;

/** The longest an endpoint's logic may take (its functions time out at 15 s). */
export const MAX_LOGIC_TIMEOUT_MS = 10_000;

/** The built-in logic: `relay` a `{to, text}` message to a user, `broadcast` to all, `echo` back. */
export const BUILT_IN_LOGIC = ['relay', 'broadcast', 'echo'] as const;

const lambdaArn =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/;

const logicSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('builtin'), name: z.enum(BUILT_IN_LOGIC) }),
  z.strictObject({
    kind: z.literal('lambda'),
    functionArn: z.string().check(z.regex(lambdaArn, 'a Lambda function ARN')),
  }),
  z.strictObject({
    kind: z.literal('module'),
    /** Relative to `ENDPOINT_MODULE_DIR`. */
    path: z.string().check(z.minLength(1), z.maxLength(512)),
  }),
  z.strictObject({
    kind: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    /** The HMAC key the webhook verifies each request with. */
    secret: z.string().check(z.minLength(16, 'at least 16 characters'), z.maxLength(512)),
  }),
]);

export type EndpointLogic = z.infer<typeof logicSchema>;

const whole = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));

/** Headers never handed to the logic, whatever a definition asks: they carry the user's credentials. */
export const NEVER_FORWARDED_HEADERS: readonly string[] = ['authorization', 'cookie', 'proxy-authorization'];

/** An HTTP header name (RFC 9110's token), in lower case, as `forwardHeaders` names it. */
const headerName = z.string().check(
  z.regex(/^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'a header name in lower case'),
  z.refine((name) => !NEVER_FORWARDED_HEADERS.includes(name), `never ${NEVER_FORWARDED_HEADERS.join(', ')}`),
);

export const endpointFields = z.strictObject({
  description: z._default(z.string().check(z.maxLength(1024)), ''),
  /** Open to connections; `false` refuses them (403) and closes those open (4403). */
  enabled: z._default(z.boolean(), true),
  /** A token (the app's JWT, `?token=`) is required to connect. */
  secured: z._default(z.boolean(), true),
  /** Roles (the token's `roles` claim) of which a user needs one; none: any user with a valid token. */
  roles: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(128))).check(z.maxLength(50)), []),
  /** The app whose policy verifies the tokens (its HS256 secret or JWKS URL, audience, issuer). */
  appKey: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  logic: logicSchema,
  /** The time the logic has to answer, per event. */
  timeoutMs: z._default(whole(100, MAX_LOGIC_TIMEOUT_MS), 3000),
  /** Browser origins that may open it (`*` any character); none: any origin (tokens authenticate). */
  allowedOrigins: z._default(
    z.array(z.string().check(z.minLength(1), z.maxLength(256))).check(z.maxLength(50)),
    [],
  ),
  maxMessageBytes: z._default(whole(1, MAX_WEBSOCKET_MESSAGE_BYTES), 32 * 1024),
  /** Sustained messages a second one connection may send; `burst` more at once. */
  messagesPerSecond: z._default(whole(1, 1000), 10),
  burst: z._default(whole(1, 10_000), 20),
  maxConnectionsPerUser: z._default(whole(1, 1000), 5),
  /**
   * The headers of the upgrade request the logic sees in its session (`session.headers`), by name in
   * lower case; never `authorization`, `cookie` or `proxy-authorization`. None by default.
   */
  forwardHeaders: z._default(z.array(headerName).check(z.maxLength(20)), []),
  /**
   * Messages to a user with no connection open are kept and delivered, oldest first, when it
   * connects: each for `ttlSeconds` (at most 14 days), at most `maxMessages` per user (the oldest
   * dropped for a newer one). Unset: such a message is recorded `NOBODY`, and gone.
   */
  keepOffline: z.optional(
    z.strictObject({
      ttlSeconds: z._default(whole(1, MAX_KEEP_OFFLINE_SECONDS), 86_400),
      maxMessages: z._default(whole(1, 1000), 100),
    }),
  ),
});

export type EndpointFields = z.infer<typeof endpointFields>;
export type Endpoint = EndpointFields & { readonly code: string; readonly updatedAt?: string };

/** A definition that cannot be stored; `problems` says every reason. */
export class InvalidEndpointError extends Error {
  readonly problems: readonly { field: string; problem: string }[];

  constructor(problems: readonly { field: string; problem: string }[]) {
    super(`invalid endpoint: ${problems.map((p) => `${p.field || '(endpoint)'}: ${p.problem}`).join('; ')}`);
    this.name = 'InvalidEndpointError';
    this.problems = problems;
  }
}

const logicFunctions = (setting('ENDPOINT_LOGIC_FUNCTIONS') ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

/** Whether the endpoint functions may invoke `functionArn` (`ENDPOINT_LOGIC_FUNCTIONS`, which the stack grants). */
export function logicFunctionAllowed(functionArn: string): boolean {
  return logicFunctions.some((pattern) => globMatches(pattern, functionArn));
}

/**
 * Each field of `input` that is valid on its own (a missing one: its default), and the names of
 * those that are not, so that what the schema alone cannot say is checked even when another field
 * is wrong.
 */
function validFields(input: unknown): { fields: Partial<EndpointFields>; invalid: Set<string> } {
  const fields: Record<string, unknown> = {};
  const invalid = new Set<string>();
  const object = typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {};
  for (const [key, schema] of Object.entries(endpointFields.shape)) {
    const parsed = z.safeParse(schema, (object as Record<string, unknown>)[key]);
    if (parsed.success) fields[key] = parsed.data;
    else invalid.add(key);
  }
  return { fields: fields as Partial<EndpointFields>, invalid };
}

/**
 * What the schema alone cannot say of `endpoint`'s valid fields: roles need a token; a secured
 * endpoint needs its app; a Lambda function the functions may invoke; module logic only where
 * modules can be loaded, from a path inside their directory; a webhook over https.
 */
function crossFieldProblems(
  endpoint: Partial<EndpointFields>,
  invalid: ReadonlySet<string>,
): { field: string; problem: string }[] {
  const problems: { field: string; problem: string }[] = [];
  if (endpoint.secured && !invalid.has('appKey') && !endpoint.appKey)
    problems.push({ field: 'appKey', problem: 'a secured endpoint needs the app whose tokens it accepts' });
  if (endpoint.secured === false && endpoint.roles && endpoint.roles.length > 0)
    problems.push({ field: 'roles', problem: 'roles need a secured endpoint (a token says the roles)' });
  const { logic } = endpoint;
  if (logic?.kind === 'lambda' && !logicFunctionAllowed(logic.functionArn))
    problems.push({
      field: 'logic.functionArn',
      problem: `not one the endpoint functions may invoke (ENDPOINT_LOGIC_FUNCTIONS: ${logicFunctions.join(', ') || 'none'})`,
    });
  if (logic?.kind === 'module' && !setting('ENDPOINT_MODULE_DIR'))
    problems.push({
      field: 'logic',
      problem:
        'module logic runs only under `npm start` (ENDPOINT_MODULE_DIR); in AWS name a Lambda function',
    });
  if (logic?.kind === 'module' && (logic.path.startsWith('/') || logic.path.split(/[\\/]/).includes('..')))
    problems.push({
      field: 'logic.path',
      problem: 'a path inside ENDPOINT_MODULE_DIR (no `/` start, no `..`)',
    });
  if (logic?.kind === 'webhook') {
    const url = new URL(logic.url);
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !loopback)
      problems.push({
        field: 'logic.url',
        problem: 'https (http only to a loopback address, for development)',
      });
  }
  return problems;
}

/**
 * `input` as an endpoint named `code`, or `InvalidEndpointError` with every reason at once: the
 * schema's, and what the schema alone cannot say (`crossFieldProblems`) of the fields that are valid.
 */
export function parseEndpoint(code: string, input: unknown): Endpoint {
  const problems: { field: string; problem: string }[] = [];
  if (!ENDPOINT_CODE.test(code))
    problems.push({
      field: 'code',
      problem: 'letters, digits, `-`, `_` and `.` (not first), 1 to 64 of them',
    });
  const parsed = z.safeParse(endpointFields, input);
  if (!parsed.success)
    for (const issue of parsed.error.issues)
      problems.push({ field: issue.path.join('.'), problem: issue.message });
  const { fields, invalid } = parsed.success
    ? { fields: parsed.data, invalid: new Set<string>() }
    : validFields(input);
  problems.push(...crossFieldProblems(fields, invalid));
  if (problems.length > 0 || !parsed.success) throw new InvalidEndpointError(problems);
  return { ...parsed.data, code };
}

/** What may be shown of `endpoint`: everything but a webhook's secret. */
export function redactedEndpoint(endpoint: Endpoint): Endpoint {
  if (endpoint.logic.kind !== 'webhook') return endpoint;
  return { ...endpoint, logic: { ...endpoint.logic, secret: '(set)' } };
}

/** Stores `input` as endpoint `code` (replacing it), once valid; the stored endpoint. */
export async function putEndpoint(code: string, input: unknown): Promise<Endpoint> {
  const endpoint = parseEndpoint(code, input);
  const { code: _, updatedAt: __, ...value } = endpoint;
  await putConfig('endpoint', code, value);
  cache.delete(code);
  return endpoint;
}

/** Endpoint `code` as stored, read consistently; `undefined` when there is none. */
export async function findEndpoint(code: string): Promise<Endpoint | undefined> {
  if (!ENDPOINT_CODE.test(code)) return undefined;
  const stored = await getConfig('endpoint', code);
  return stored === undefined ? undefined : { ...z.parse(endpointFields, stored), code };
}

const CACHE_MS = 5_000;
const cache = new Map<string, { endpoint: Endpoint | undefined; until: number }>();

/**
 * Endpoint `code` for a connection's events, from a 5-second cache: a change reaches the
 * connections already open within seconds (the next `$connect` reads it like any other).
 */
export async function endpointForEvents(code: string): Promise<Endpoint | undefined> {
  const cached = cache.get(code);
  if (cached && cached.until > Date.now()) return cached.endpoint;
  const endpoint = await findEndpoint(code);
  cache.set(code, { endpoint, until: Date.now() + CACHE_MS });
  return endpoint;
}

/** Every endpoint, by code. */
export async function listEndpoints(): Promise<Endpoint[]> {
  const entries = await listConfig('endpoint');
  return entries.map((e) => ({ ...z.parse(endpointFields, e.value), code: e.id, updatedAt: e.updatedAt }));
}

/** Removes endpoint `code`; false when there was none. Its open connections are the caller's to close (`closeEndpointSessions`). */
export async function deleteEndpoint(code: string): Promise<boolean> {
  cache.delete(code);
  return deleteConfig('endpoint', code);
}
