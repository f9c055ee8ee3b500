/**
 * The configuration catalogue: every environment variable wcs-hooks reads, with its type, default
 * and meaning, and the one place that reads them (`setting`, `requireEnv`). The operators' table in
 * `docs/configuration.md` is generated from it (`npm run docs`, kept equal by a test), and no other
 * module of `shared/` or `functions/` reads `process.env`.
 *
 * Modules read their settings when they load, so a function whose configuration is malformed fails
 * when it starts, not on its first hook.
 */

/** Who sets a variable: an operator (`npm start`, or the stack from CDK context), or the runtime's own wiring. */
type Audience = 'operator' | 'wiring';

interface SettingBase {
  readonly meaning: string;
  readonly audience: Audience;
  /** Read only by the local runtime (`npm start`). Default: by the functions too. */
  readonly localOnly?: boolean;
  /** How it is set in AWS (Markdown): the CDK context key, or what the stack does instead. */
  readonly inAws?: string;
  /** The default as the docs show it, when the value alone does not say it. */
  readonly shown?: string;
}
interface IntegerSetting extends SettingBase {
  readonly kind: 'integer';
  readonly fallback: number;
  /** `0` allowed (a duration that may be none). Default: positive only. */
  readonly zeroAllowed?: boolean;
}
interface BooleanSetting extends SettingBase {
  readonly kind: 'boolean';
  readonly fallback: boolean;
}
interface TextSetting extends SettingBase {
  readonly kind: 'text';
  readonly fallback?: string;
  /** The only values it may take; any other fails the start, naming the variable. Default: any text. */
  readonly choices?: readonly string[];
}
export type Setting = IntegerSetting | BooleanSetting | TextSetting;

const integer = (
  fallback: number,
  meaning: string,
  more: Partial<SettingBase> & { zeroAllowed?: boolean } = {},
) => ({ kind: 'integer', fallback, meaning, audience: 'operator', ...more }) as const;
const boolean = (fallback: boolean, meaning: string, more: Partial<SettingBase> = {}) =>
  ({ kind: 'boolean', fallback, meaning, audience: 'operator', ...more }) as const;
const text = <Fallback extends string | undefined>(
  fallback: Fallback,
  meaning: string,
  more: Partial<SettingBase> = {},
) => ({ kind: 'text', fallback, meaning, audience: 'operator', ...more }) as const;
/** A text setting that is one of `choices`. */
const choice = <const Choices extends readonly string[]>(
  choices: Choices,
  fallback: Choices[number],
  meaning: string,
  more: Partial<SettingBase> = {},
) => ({ kind: 'text', choices, fallback, meaning, audience: 'operator', ...more }) as const;
const wiring = (meaning: string) =>
  ({ kind: 'text', fallback: undefined, meaning, audience: 'wiring' }) as const;

/**
 * The largest hook body the spill can always take: SQS carries 256 KiB per message, and a spilled
 * hook is the body with its method, time and digest around it (`shared/http/spill.ts`).
 */
export const MAX_SPILLABLE_BODY_BYTES = 250 * 1024;

export const SETTINGS = {
  // The local runtime.
  PORT: integer(3000, 'port of the local server', { localOnly: true }),
  HOST: text('0.0.0.0', 'address the local server listens on', { localOnly: true }),
  TABLE_PREFIX: text('wcs-hooks-local', 'prefix of the local table names', { localOnly: true }),
  DYNAMODB_LOCAL_PORT: integer(8000, 'port for the embedded DynamoDB Local', { localOnly: true }),
  DYNAMODB_IN_MEMORY: boolean(false, '`true`: DynamoDB Local keeps nothing on disk', { localOnly: true }),
  DATA_DIR: text('.data/dynamodb', 'where DynamoDB Local keeps its files', { localOnly: true }),
  SPILL_DIR: text(undefined, 'where event hooks wait, on disk, while DynamoDB is down (local runtime)', {
    shown: '`.data/spill` under `npm start`',
  }),
  SPILL_DRAIN_CONCURRENCY: integer(
    16,
    "spilled hooks replayed at once when DynamoDB is back, each of another session (a session's hooks in order)",
    { localOnly: true },
  ),
  SPILL_DRAIN_LOG_INTERVAL_S: integer(
    5,
    'while the spill drains, how often its progress is logged (lines left, rate, time left)',
    {
      localOnly: true,
    },
  ),
  DYNAMODB_ENDPOINT: text(undefined, 'use this DynamoDB instead of starting DynamoDB Local'),
  SIMULATED_CLOCK: choice(
    ['deny', 'allow'],
    'deny',
    '`allow`: a hook may carry the time it is to be handled at, for the traffic simulator (`npm run cli -- simulate`, docs/operations.md); `deny`: such a time is ignored and every hook is stamped on arrival',
    { localOnly: true, inAws: 'never: only the local server reads it' },
  ),

  // Hooks.
  WCS_HOOK_SECRET: text(undefined, 'comma-separated HMAC secrets; unset, signatures are not checked', {
    inAws: 'a secret in Secrets Manager (`requireSignedHooks`)',
  }),
  HOOK_BODY_LIMIT_BYTES: integer(
    240 * 1024,
    `larger hook bodies are refused with 413; at most ${MAX_SPILLABLE_BODY_BYTES}, so any event fits the spill (SQS: 256 KiB)`,
    { inAws: '`hookBodyLimitBytes`', shown: '`245760` (240 KiB)' },
  ),
  API_BODY_LIMIT_BYTES: integer(256 * 1024, 'larger operator API bodies are refused with 413'),
  DECISION_BUDGET_MS: integer(1000, 'time a decision hook has before it answers by its fail mode', {
    inAws: '`decisionBudgetMs` (default 300)',
  }),
  DECISION_FAIL_MODES: text(undefined, 'JSON, e.g. `{"connect":"open"}`, overriding a hook\'s fail mode', {
    inAws: '`decisionFailModes`',
    shown: 'see [policy](policy.md)',
  }),
  EVENT_BUDGET_MS: integer(1000, 'time an event hook has to be written before it is spilled and answered', {
    inAws: '`eventBudgetMs` (default 100)',
  }),
  SPILL_BREAKER_MS: integer(
    2000,
    'after DynamoDB failed, how long event hooks spill and decisions use their fail mode without trying it',
    { inAws: '`spillBreakerMs`' },
  ),

  // State.
  RETENTION_DAYS: integer(30, 'items expire (DynamoDB TTL) this many days after their last write', {
    inAws: '`dataRetentionDays`',
  }),
  KEEP_ALIVE_WRITE_INTERVAL_S: integer(
    60,
    "a live stream's `StreamKeepAliveEvent` is written at most this often per function instance (`lastKeepAliveAt` to within it); every keep-alive is still decided; `0` writes each one",
    { zeroAllowed: true },
  ),
  MAX_STORED_CUSTOM_BYTES: integer(
    102_400,
    'largest client `custom` kept on a session or stream item, in UTF-8 bytes (past it only its size is kept, `customOmittedBytes`); each KB of an item costs one write unit on every write of it (docs/data-model.md): `600` keeps ordinary items within 1 KB; at most 102400',
    { inAws: '`maxStoredCustomBytes`', shown: '`102400` (100 KiB)' },
  ),
  STORE_SDP: boolean(false, '`true` keeps raw SDP on stream items (codecs are always kept)'),
  DYNAMODB_CONNECT_TIMEOUT_MS: integer(1000, 'connection timeout of each DynamoDB request'),
  DYNAMODB_REQUEST_TIMEOUT_MS: integer(2000, 'timeout of each DynamoDB request (the SDK retries it)'),

  // Admission.
  DEFAULT_APP_POLICY: text(
    'open',
    'policy of apps without one: `open`, `closed`, or a policy as JSON ([policy](policy.md))',
    {
      inAws: '`defaultAppPolicy`',
    },
  ),
  POLICY_CACHE_SECONDS: integer(10, 'how long a function keeps an app policy before reading it again'),
  DENIAL_CACHE_SECONDS: integer(
    10,
    'how long a function keeps the denials (`deny`) before reading them again: a new denial applies to new decisions within this time ([policy](policy.md#revoke-and-deny))',
    { zeroAllowed: true },
  ),
  REFUSAL_COUNT_BUDGET_MS: integer(
    250,
    'time a refusal waits for its count (`counters` table), and a refused connect, publish or play for its mark (`refusedAt`), before it is answered without them',
  ),

  // The operator API and the realtime API.
  API_TOKEN: text(
    undefined,
    'bearer token of the local operator API (`/api/...`) and of the realtime WebSocket (`/ws?token=`); unset, the API admits nobody and `/ws` is off',
    {
      inAws:
        'a token in Secrets Manager (`RealtimeTokenArn`), for the realtime WebSocket and the REST realms; `/api/data/send` uses IAM',
    },
  ),
  REFUSAL_ALARM_PER_MINUTE: integer(
    20,
    'refusals of one app in one minute that raise a `/alarm` on the realtime API',
    {
      inAws: '`refusalAlarmPerMinute`',
    },
  ),

  // Sending.
  WCS_ALLOWED_NETWORKS: text(
    undefined,
    'networks (CIDRs, comma-separated) a node may be pushed to at its default URL; nodes elsewhere need `nodes put`',
    { shown: 'private and loopback ranges' },
  ),
  NODE_URL_CACHE_SECONDS: integer(60, "how long a function keeps a node's REST URL before reading it again"),
  WCS_REST_USERNAME: text(undefined, 'HTTP Basic user of the WCS REST API (`disable_rest_auth=false`)', {
    inAws: 'a secret in Secrets Manager (`WcsRestCredentialsArn`)',
  }),
  WCS_REST_PASSWORD: text(undefined, 'HTTP Basic password of the WCS REST API', {
    inAws: 'a secret in Secrets Manager (`WcsRestCredentialsArn`)',
  }),
  WCS_REST_TIMEOUT_MS: integer(3000, 'timeout of each request to a WCS node'),
  WCS_REST_MAX_ATTEMPTS: integer(3, 'attempts per send within one delivery (network errors and 5xx only)'),
  WCS_REST_BACKOFF_MS: integer(100, 'base of the exponential backoff with full jitter between attempts'),
  SEND_CONCURRENCY: integer(16, 'sends in flight at once in a fan-out'),

  // Monitoring (WCS OAM): the node poller, metrics, browsers.
  NODE_POLL_INTERVAL_S: integer(
    60,
    "how often the node poller runs: every node's status each run, stream metrics at its profiles' rate within it",
    {
      inAws:
        '`nodePollIntervalMinutes` (whole minutes, default 1: EventBridge Scheduler runs it each minute at most)',
    },
  ),
  NODE_POLL_CONCURRENCY: integer(
    8,
    'WCS nodes the poller asks at once; nodes that did not answer their last poll share a quarter of these (at least one), so dead or spoofed nodes never delay the others',
  ),
  NODE_DISCOVERY: choice(
    ['registered', 'signed', 'any'],
    'signed',
    'which nodes the poller and the sender may send requests (and the WCS REST credentials) to: `registered` (only nodes given a URL with `nodes put`), `signed` (those, and nodes learnt from hooks whose signature was verified, at `http://<ip>:8081/rest-api` when the IP is inside `WCS_ALLOWED_NETWORKS`), `any` (those, and nodes learnt from any hook inside `WCS_ALLOWED_NETWORKS`: a trusted lab only)',
    { inAws: '`nodeDiscovery`' },
  ),
  NODE_POLL_MAX_NODES: integer(
    500,
    'WCS nodes the poller asks in one run at most (registered nodes first, then the most recently heard from); the others wait, with a warning',
    { inAws: '`nodePollMaxNodes`' },
  ),
  WCS_REST_MAX_ANSWER_BYTES: integer(
    16 * 1024 * 1024,
    "largest answer read from a WCS node's REST API; a larger one is not read and the node is not reconciled that run",
    { shown: '`16777216` (16 MiB)' },
  ),
  RECONCILE_MAX_CHANGES: integer(
    500,
    'sessions and streams one reconciliation of one node ends or records at most; the rest wait for its next run',
    { inAws: '`reconcileMaxChanges`' },
  ),
  RECONCILE_STALE_AFTER_S: integer(
    300,
    'a node the poller may ask that has not been reconciled for this long raises `WcsNodeNotReconciled`',
    { inAws: '`reconcileStaleAfterSeconds`' },
  ),
  RECONCILE_MASS_END_PERCENT: integer(
    50,
    'a reconciliation or a loss that ends at least this share of what a node held (and at least 5 items) raises `ReconcileMassEnd`',
    { inAws: '`reconcileMassEndPercent`' },
  ),
  NODE_LOSS_BRAKE_PERCENT: integer(
    50,
    'when at least this share of the nodes asked (and at least 2) would be lost in one run, none is: the poller suspects its own network, ends nothing and raises `WcsNodeLossBraked`; `0` turns the brake off',
    { inAws: '`nodeLossBrakePercent`', zeroAllowed: true },
  ),
  STREAM_KEEP_ALIVE_TIMEOUT_S: integer(
    300,
    "a live stream that sent `StreamKeepAliveEvent`s and has sent none for this long is ended, when its node's answer cannot say (unreachable, unusable, not asked); at least 3 × `KEEP_ALIVE_WRITE_INTERVAL_S`; `0` never",
    { inAws: '`streamKeepAliveTimeoutSeconds`', zeroAllowed: true },
  ),
  RECONCILE_GRACE_S: integer(
    60,
    'reconciliation leaves alone a session or stream whose last hook is younger than this (a hook may be in flight)',
    { inAws: '`reconcileGraceSeconds`', zeroAllowed: true },
  ),
  NODE_LOST_AFTER_S: integer(
    180,
    'a node that has neither answered the poller nor sent a hook for this long is lost: its open sessions and live streams are ended (a node whose hooks arrive is unreachable, never lost)',
    { inAws: '`nodeLostAfterSeconds`' },
  ),
  METRICS_RETENTION_HOURS: integer(
    24,
    'metric samples expire (DynamoDB TTL) this many hours after they were taken',
    {
      inAws: '`metricsRetentionHours`',
    },
  ),
  ALLOWED_ORIGINS: text(
    undefined,
    'browser origins (comma-separated, e.g. `https://ops.example.com`) allowed to call the REST realms and open the realtime WebSocket; `*` allows any; unset, only the same origin',
    { inAws: '`allowedOrigins` (CORS of the HTTP API, and the WebSocket `$connect` check)' },
  ),
  FANOUT_CONCURRENCY: integer(
    32,
    'realtime subscribers a table change is pushed to at once (each subscriber gets the changes in order)',
  ),
  STOMP_MAX_TIMEOUT_MS: integer(
    10_000,
    'time a realtime WebSocket has to send its STOMP CONNECT frame (OAM: `stomp_max_timeout`)',
    { inAws: '`stompMaxTimeoutMs`' },
  ),
  ENDPOINT_LOGIC_FUNCTIONS: text(
    'arn:aws:lambda:*:*:function:wcs-endpoint-*',
    'Lambda functions (comma-separated ARN templates, `*` any characters) an endpoint may name as its logic; the endpoint functions may invoke these and no others',
    {
      inAws:
        "`endpointLogicFunctions` (default: functions named `wcs-endpoint-*` in the stack's account and region)",
    },
  ),
  ENDPOINT_DELIVERY_FUNCTION: text(
    undefined,
    'the function `$connect` invokes (asynchronously) to deliver the messages kept for a user who was offline, once its connection is open; unset: `$connect` delivers them itself, in the background',
    { shown: 'unset under `npm start`', inAws: "the stack's endpoint-message function" },
  ),
  ENDPOINT_MODULE_DIR: text(
    undefined,
    'directory of the modules an endpoint may name as its logic (`module:<path>` under it); unset, module logic is refused',
    { shown: 'the working directory under `npm start`', inAws: 'unset: module logic runs only locally' },
  ),
  TLS_CERT_FILE: text(undefined, 'PEM certificate: the local server serves `https://` and `wss://` with it', {
    localOnly: true,
  }),
  TLS_KEY_FILE: text(undefined, 'PEM private key of `TLS_CERT_FILE`', { localOnly: true }),

  // Logs and metrics (Powertools reads these too).
  LOG_EACH_HOOK: boolean(
    true,
    "each answered hook is logged at INFO (`hook answered`, its status and duration); `false` logs it at DEBUG only. The stack sets `false` unless asked: API Gateway's access log already has every request, and a line per hook costs CPU time (the write) and CloudWatch Logs ingestion (~4 TB a month at 5,000 hooks/s)",
    { inAws: '`logEachHook` (default `false`)', shown: '`true` (`npm start`), `false` (AWS)' },
  ),
  POWERTOOLS_LOG_LEVEL: text('INFO', '`DEBUG`, `INFO`, `WARN`, `ERROR`, `SILENT`', { inAws: '`logLevel`' }),
  POWERTOOLS_SERVICE_NAME: { ...wiring('the service name in logs and metrics'), fallback: 'wcs-hooks' },
  POWERTOOLS_METRICS_NAMESPACE: {
    ...wiring('the CloudWatch namespace of the metrics'),
    fallback: 'WcsHooks',
  },
  POWERTOOLS_METRICS_DISABLED: wiring('`true`: no EMF metrics (the local runtime, tests)'),
  POWERTOOLS_DEV: text(
    undefined,
    "`true`: Powertools' development mode, which also turns the EMF metrics off unless `POWERTOOLS_METRICS_DISABLED` says otherwise",
  ),
  POWERTOOLS_LOGGER_SAMPLE_RATE: text(
    undefined,
    "share of invocations (0 to 1) logged at DEBUG whatever `POWERTOOLS_LOG_LEVEL` says (Powertools' sampling)",
  ),

  // Wiring: set by the CDK stack or `npm start`, not by hand.
  WCS_HOOKS_FUNCTION: wiring(
    'the registry entry a deployed function runs (it checks its declared tables at start)',
  ),
  SEND_QUEUE_URL: wiring('the send queue (SQS)'),
  SPILL_QUEUE_URL: wiring('the spill queue (SQS)'),
  SPILL_DEAD_LETTER_QUEUE_URL: wiring('where spilled hooks that can never be written are parked (SQS)'),
  LOCAL_QUEUE_TABLE: wiring('the local stand-in for SQS: a table'),
  WCS_HOOK_SECRET_ARN: wiring('the secret holding the hook HMAC secrets'),
  WCS_REST_CREDENTIALS_ARN: wiring('the secret holding the WCS REST API credentials'),
  REALTIME_TOKEN_ARN: wiring('the secret holding the realtime API token'),
  REALTIME_ENDPOINT: wiring('the WebSocket management endpoint of the realtime API'),
  REALTIME_URL: wiring(
    'the `wss://` URL of the realtime API, which the live console (`GET /console`) connects to; unset, `/ws` of its own origin',
  ),
  ENDPOINTS_ENDPOINT: wiring('the WebSocket management endpoint of the endpoints API'),
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

/** The value type of setting `Name`. */
export type SettingValue<Name extends SettingName> = (typeof SETTINGS)[Name] extends { kind: 'integer' }
  ? number
  : (typeof SETTINGS)[Name] extends { kind: 'boolean' }
    ? boolean
    : (typeof SETTINGS)[Name] extends { choices: readonly (infer Choice)[] }
      ? Choice
      : (typeof SETTINGS)[Name] extends { fallback: string }
        ? string
        : string | undefined;

/**
 * The value of setting `name` now, or its default when unset (an empty value counts as unset). A
 * malformed value throws, naming the variable: an integer must be positive (or 0, where allowed).
 */
export function setting<Name extends SettingName>(name: Name): SettingValue<Name> {
  const definition: Setting = SETTINGS[name];
  const raw = process.env[name];
  if (raw === undefined || raw === '') return definition.fallback as SettingValue<Name>;
  if (definition.kind === 'integer') {
    const value = Number(raw);
    const zeroAllowed = definition.zeroAllowed === true;
    if (!Number.isInteger(value) || value < 0 || (value === 0 && !zeroAllowed))
      throw new Error(
        `environment variable ${name} must be a ${zeroAllowed ? 'whole number (0 or more)' : 'positive integer'}, got "${raw}"`,
      );
    return value as SettingValue<Name>;
  }
  if (definition.kind === 'boolean') {
    return ['true', '1', 'yes'].includes(raw.toLowerCase()) as SettingValue<Name>;
  }
  if (definition.choices && !definition.choices.includes(raw))
    throw new Error(
      `environment variable ${name} must be one of ${definition.choices.join(', ')}, got "${raw}"`,
    );
  return raw as SettingValue<Name>;
}

/**
 * The variables that name tables (`<TABLE>_TABLE`; `<TABLE>_TABLE_NAME` for the realtime stream
 * consumer), from `shared/store/tables.ts`: wiring, one per table.
 */
export const TABLE_VARIABLES = {
  pattern: /^[A-Z_]+_TABLE(_NAME)?$/,
  meaning: 'the physical name of each table (`shared/store/tables.ts`); set by the stack and `npm start`',
} as const;

/** The value of a table variable (`TABLE_VARIABLES`), or `undefined` when it is not set. */
export function tableVariable(name: string): string | undefined {
  if (!TABLE_VARIABLES.pattern.test(name)) throw new Error(`${name} is not a table variable`);
  return process.env[name] || undefined;
}

/** The value of a variable that must be present (a table's name): a thrown error names it otherwise. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is required but not set`);
  }
  return value;
}
