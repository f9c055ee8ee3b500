/**
 * The hook registry: every REST hook method WCS can call (reference §1), its Flashphoner type, and the
 * handler that answers it. The local server, the CDK stack, the docs and the tests all read this one
 * list; adding a hook is one entry here plus, if it needs one, a handler in `functions/`.
 *
 * Method names are spelled exactly as WCS puts them at the end of the hook URL (reference §0:
 * case-sensitive). A method without a dedicated handler goes to `echo`, which answers as WCS's
 * EchoApp does and records the call.
 */
import type * as z from 'zod/mini';
import {
  anyHookBody,
  connectBody,
  connectionStatusEventBody,
  dataStatusEventBody,
  onDataEventBody,
  playStreamBody,
  publishStreamBody,
  streamEventBody,
  streamStatusEventBody,
} from './schemas.ts';

/** The four Flashphoner types of REST method (reference §1: "connect, direct invocations, events, incoming invocations"). */
export type HookType = 'connect' | 'direct' | 'event' | 'incoming';

/** The tables a handler touches (see `shared/store/tables.ts`). */
export type TableName =
  | 'sessions'
  | 'streams'
  | 'dataMessages'
  | 'events'
  | 'config'
  | 'streamNames'
  | 'connections'
  | 'counters'
  | 'monitoring'
  | 'metrics'
  | 'usage'
  | 'endpointConnections'
  | 'endpointMessages';

/**
 * What a handler does with a table; the CDK stack grants exactly this and nothing more. `manage`
 * also deletes (the realtime connections, removed when they close); `batchWrite` writes, and puts
 * items 25 to a request too (the node poller's metric samples, a fan-out's send records).
 */
export type TableAccess = 'read' | 'write' | 'readWrite' | 'manage' | 'batchWrite';

/** A Lambda entry point in `functions/<name>.ts`, and what it may use. */
export interface HandlerDefinition {
  readonly tables: Readonly<Partial<Record<TableName, TableAccess>>>;
  /** The send queue: `send` to it, or `consume` it (and send to it). Default: neither. */
  readonly sendQueue?: 'send' | 'consume';
  /** The spill queue (event hooks that could not be written yet): `send` to it, or `consume` it. Default: neither. */
  readonly spillQueue?: 'send' | 'consume';
  /** The spill dead-letter queue: `send` a spilled hook that can never be written to it. Default: no. */
  readonly spillDeadLetters?: 'send';
  readonly description: string;
}

/**
 * What a decision hook does when it cannot decide in time, or a dependency fails: `open` admits,
 * `closed` refuses (`shared/http/fail-modes.ts`; `DECISION_FAIL_MODES` overrides it).
 */
export type FailMode = 'open' | 'closed';

/**
 * A hook handler: everything about how its hooks are answered.
 *
 * - `decides`: the hook admits or refuses (WCS acts on a 403 only with `restOnError: FAIL`, which
 *   the `connect` answer's `restClientConfig` sets for every such hook); it answers within the
 *   decision budget, and by this fail mode when it cannot.
 * - `records`: the hook reports what already happened, and WCS does not resend it: it is written
 *   by the state's recorder for this handler (`shared/state/recorders.ts`), or spilled when that
 *   cannot be done in time and replayed later through the same recorder.
 *
 * Every hook handler may spill (a record, a refusal by the fail mode, a body kept raw).
 */
export interface HookHandlerDefinition extends HandlerDefinition {
  readonly answers: { readonly decides: FailMode } | 'records';
  /** The body's schema. */
  readonly schema: z.ZodMiniType;
  /**
   * What a body the schema refuses gets: `refuse`, a 400 naming the bad fields (a decision: WCS then
   * refuses the client's action); `record`, kept whole as a raw event with the reason and answered
   * 200 (what WCS would not resend). Default: `record` for a recording hook, `refuse` for a decision.
   */
  readonly invalidBody?: 'refuse' | 'record';
  readonly spillQueue: 'send';
}

/**
 * Every hook handler may spill, and notes the WCS node that sent the hook (`monitoring`: a node is
 * learnt from its hooks, at most once a minute per node and function instance: `state/nodes.ts`).
 */
const hookHandler = <const Definition extends Omit<HookHandlerDefinition, 'spillQueue'>>(
  definition: Definition,
) =>
  ({
    ...definition,
    tables: { ...definition.tables, monitoring: 'write' },
    spillQueue: 'send',
  }) as Omit<Definition, 'tables'> & {
    readonly tables: Definition['tables'] & { readonly monitoring: 'write' };
    readonly spillQueue: 'send';
  };

export const HANDLERS = {
  connect: hookHandler({
    // streams and streamNames: a refusal by the fail mode is recorded as a FAILED
    // ConnectionStatusEvent, by its recorder, which releases what the session held (nothing, here);
    // events: that recorder keeps a hook it may not apply (another node's item) as an event.
    tables: {
      config: 'read',
      sessions: 'write',
      streams: 'readWrite',
      streamNames: 'write',
      counters: 'write',
      events: 'write',
    },
    // An unverified client must not get in.
    answers: { decides: 'closed' },
    schema: connectBody,
    description: 'Admits a client session by its app policy and token, and records it.',
  }),
  'connection-status-event': hookHandler({
    tables: { sessions: 'write', streams: 'readWrite', streamNames: 'write', events: 'write' },
    answers: 'records',
    schema: connectionStatusEventBody,
    description:
      'Moves a session through ESTABLISHED, DISCONNECTED, FAILED; an ended session releases its streams.',
  }),
  'publish-stream': hookHandler({
    // events: a refusal by the fail mode goes through the StreamStatusEvent recorder, which keeps a
    // hook it may not apply (another node's item) as an event.
    tables: {
      config: 'read',
      sessions: 'readWrite',
      streams: 'readWrite',
      streamNames: 'write',
      counters: 'write',
      events: 'write',
    },
    // One-publisher-per-name and grants cannot be checked.
    answers: { decides: 'closed' },
    schema: publishStreamBody,
    description: 'Decides a publish (grants, one publisher per name) and records it PENDING.',
  }),
  'play-stream': hookHandler({
    tables: {
      config: 'read',
      sessions: 'readWrite',
      streams: 'readWrite',
      streamNames: 'readWrite',
      counters: 'write',
    },
    // Viewers keep watching through a database blip; limits are soft for that time.
    answers: { decides: 'open' },
    schema: playStreamBody,
    description: 'Decides a play (grants, players per stream) and records it PENDING.',
  }),
  'unpublish-stream': hookHandler({
    tables: { streams: 'write', events: 'write' },
    answers: 'records',
    schema: streamEventBody,
    description: "Records a publisher's stop request.",
  }),
  'stop-stream': hookHandler({
    tables: { streams: 'write', events: 'write' },
    answers: 'records',
    schema: streamEventBody,
    description: "Records a player's stop request.",
  }),
  'stream-status-event': hookHandler({
    tables: { streams: 'readWrite', streamNames: 'write', events: 'write' },
    answers: 'records',
    schema: streamStatusEventBody,
    description:
      'Moves a stream through PUBLISHING/PLAYING to UNPUBLISHED, STOPPED or FAILED; an ended stream releases its name or place.',
  }),
  'stream-keep-alive-event': hookHandler({
    // `config`: the denials (`state/denials.ts`), which cut a denied user's streams.
    tables: { config: 'read', sessions: 'read', streams: 'readWrite', counters: 'write', events: 'write' },
    // A live stream is never cut because the database is slow.
    answers: { decides: 'open' },
    schema: streamStatusEventBody,
    // A 403, or any answer but 200, ends the stream (restOnError FAIL): a keep-alive WCS sent in a
    // shape we cannot identify is kept as a raw event and answered 200, never refused for its shape.
    invalidBody: 'record',
    description: "Refuses a revoked or denied session's stream (WCS ends it); refreshes a live one.",
  }),
  'on-data-event': hookHandler({
    tables: { config: 'read', sessions: 'readWrite', dataMessages: 'write', counters: 'write' },
    sendQueue: 'send',
    // Data between admitted clients keeps flowing.
    answers: { decides: 'open' },
    schema: onDataEventBody,
    description: 'Decides and records data a client sent; queues a relay to another user.',
  }),
  'data-status-event': hookHandler({
    tables: { dataMessages: 'write', events: 'write' },
    answers: 'records',
    schema: dataStatusEventBody,
    description: "Records WCS's delivery status of a data message.",
  }),
  'error-event': hookHandler({
    tables: { events: 'write' },
    answers: 'records',
    schema: anyHookBody,
    description: 'Records an ErrorEvent and logs it.',
  }),
  echo: hookHandler({
    tables: { events: 'write' },
    answers: 'records',
    schema: anyHookBody,
    description: 'Every other method: answers with the body mirrored (EchoApp) and records the call.',
  }),
} as const satisfies Record<string, HookHandlerDefinition>;

export type HandlerName = keyof typeof HANDLERS;

/** The handlers that record what happened (`answers: 'records'`): each has a recorder in `shared/state/recorders.ts`. */
export type RecordingHandler = {
  [Name in HandlerName]: (typeof HANDLERS)[Name]['answers'] extends 'records' ? Name : never;
}[HandlerName];

/**
 * What sending data needs (`shared/sender/sender.ts`): targets resolved from sessions and streams,
 * each send recorded; and streams and streamNames because a session WCS no longer has is ended,
 * releasing what its streams held.
 */
const SENDING_TABLES = {
  config: 'read',
  // A node's item says whether its hooks vouch for it (`sender/wcs-nodes.ts`, NODE_DISCOVERY).
  monitoring: 'read',
  sessions: 'readWrite',
  streams: 'readWrite',
  streamNames: 'write',
  dataMessages: 'batchWrite',
} as const;

/**
 * What the monitoring realms need: sessions and streams to list, the configuration store for OAM's
 * profiles, rules and alarms (created and changed through the realms), node status and raised alarms,
 * metric samples.
 */
const OAM_TABLES = {
  // `denial/create` revokes the open sessions it names.
  sessions: 'readWrite',
  streams: 'read',
  config: 'manage',
  monitoring: 'manage',
  metrics: 'read',
  // A node's reconciliations per hour and day (`node_status/list`).
  counters: 'read',
  // The usage aggregates (`usage/app`, `usage/stream`).
  usage: 'read',
} as const;

/**
 * What the user-agent WebSocket endpoints need (`shared/endpoints/`): their definitions in the
 * configuration store, the open connections (presence, context, rate), each message sent recorded,
 * the messages kept for users who are offline (`keepOffline`); and what sending to a user's WCS
 * sessions too needs (`sendMessage` with `wcs`).
 */
const ENDPOINT_TABLES = {
  ...SENDING_TABLES,
  endpointConnections: 'manage',
  // Each message recorded; one kept for a user who is offline is also taken (deleted) to deliver it.
  endpointMessages: 'manage',
} as const;

/** The functions that are not hooks: the operator API and the sender (see `shared/sender/sender.ts`). */
export const SERVICE_FUNCTIONS = {
  'data-send-api': {
    tables: SENDING_TABLES,
    sendQueue: 'send',
    description: 'POST /api/data/send: pushes data to clients now, or queues a fan-out job.',
  },
  sender: {
    tables: SENDING_TABLES,
    sendQueue: 'consume',
    description: 'Consumes the send queue: expands fan-outs, delivers sends through the WCS REST API.',
  },
  'realm-api': {
    tables: OAM_TABLES,
    description:
      'POST /api/<realm>: the monitoring realms over REST (WCS OAM: streams, nodes, profiles, rules, alarms, metrics; usage).',
  },
  'realtime-connect': {
    tables: { connections: 'write' },
    description: 'WebSocket $connect: admits an operator with the realtime token, records the connection.',
  },
  'realtime-disconnect': {
    tables: { connections: 'manage' },
    description: 'WebSocket $disconnect: removes the connection and its subscriptions.',
  },
  'realtime-message': {
    tables: { ...OAM_TABLES, connections: 'manage' },
    description: 'WebSocket $default: STOMP frames (CONNECT, SUBSCRIBE, SEND to the realms, ...).',
  },
  'realtime-streams': {
    tables: { connections: 'manage' },
    description:
      'Pushes each change of the sessions, streams, counters, monitoring and metrics tables (DynamoDB Streams) to its subscribers.',
  },
  'usage-streams': {
    tables: { usage: 'readWrite' },
    description:
      'Keeps the usage aggregates (per app and UTC day and hour, per stream name) from each change of the sessions, streams, data messages and counters tables (DynamoDB Streams).',
  },
  'endpoint-connect': {
    tables: ENDPOINT_TABLES,
    sendQueue: 'send',
    description:
      "WebSocket $connect of the endpoints API: the user agent's token and roles, the endpoint's logic on open.",
  },
  'endpoint-message': {
    tables: ENDPOINT_TABLES,
    sendQueue: 'send',
    description: "WebSocket $default of the endpoints API: limits, then the endpoint's logic on message.",
  },
  'endpoint-disconnect': {
    tables: ENDPOINT_TABLES,
    sendQueue: 'send',
    description:
      "WebSocket $disconnect of the endpoints API: the endpoint's logic on error and close; the connection forgotten.",
  },
  'endpoints-api': {
    tables: { ...ENDPOINT_TABLES, config: 'manage' },
    sendQueue: 'send',
    description:
      '/api/endpoints: endpoint definitions (put, get, list, delete), sendMessage to a user, presence.',
  },
  'node-poller': {
    // sessions, streams, streamNames, events: reconciliation ends and records what a node has through
    // the recorders of ConnectionStatusEvent and StreamStatusEvent, as those hooks do; a found
    // publisher claims its name; counters: what each reconciliation
    // changed, per node and hour and day.
    tables: {
      config: 'read',
      monitoring: 'manage',
      metrics: 'batchWrite',
      sessions: 'readWrite',
      streams: 'readWrite',
      streamNames: 'write',
      events: 'write',
      counters: 'write',
    },
    description:
      "Polls every WCS node's REST API on a schedule: node status, stream metrics by the nodes' profiles, threshold alarms; reconciles what each node has.",
  },
  'spill-replayer': {
    tables: {
      sessions: 'write',
      streams: 'readWrite',
      streamNames: 'write',
      dataMessages: 'write',
      events: 'write',
    },
    spillQueue: 'consume',
    spillDeadLetters: 'send',
    description:
      'Consumes the spill queue: writes the event hooks that could not be written when they arrived.',
  },
} as const satisfies Record<string, HandlerDefinition>;

export type ServiceFunctionName = keyof typeof SERVICE_FUNCTIONS;

/** A Lambda entry point in `functions/`: a hook handler or a service function. */
export type FunctionName = HandlerName | ServiceFunctionName;

/** Every Lambda entry point in `functions/`: the hook handlers and the service functions. */
export const FUNCTIONS: Readonly<Record<FunctionName, HandlerDefinition>> = {
  ...HANDLERS,
  ...SERVICE_FUNCTIONS,
};

export interface HookDefinition {
  /** The method name as WCS spells it in the URL. */
  readonly method: string;
  readonly type: HookType;
  readonly handler: HandlerName;
  /**
   * Its body carries the stream's SDP (kilobytes per hook): the `connect` answer's
   * `restClientConfig` asks WCS to leave it out unless raw SDP is kept. Default false.
   */
  readonly carriesSdp?: boolean;
}

const hook = (
  method: string,
  type: HookType,
  handler: HandlerName = 'echo',
  facts: { carriesSdp?: boolean } = {},
): HookDefinition => ({ method, type, handler, ...facts });

const SDP = { carriesSdp: true };

/** Every hook method in reference §1, in the order the reference lists them by type. */
export const HOOKS: readonly HookDefinition[] = [
  // Type 1: connect (§1.2)
  hook('connect', 'connect', 'connect'),

  // Type 2: direct invocations (§1.3). The client's action proceeds only if the backend allows it.
  hook('publishStream', 'direct', 'publish-stream', SDP),
  hook('playStream', 'direct', 'play-stream', SDP),
  hook('unPublishStream', 'direct', 'unpublish-stream', SDP),
  hook('stopStream', 'direct', 'stop-stream', SDP),
  hook('OnDataEvent', 'direct', 'on-data-event'),
  hook('pauseStream', 'direct'),
  hook('snapshot', 'direct'),
  hook('availableStream', 'direct'),
  hook('playHLS', 'direct'),
  hook('playRTSP', 'direct'),
  hook('call', 'direct'),
  hook('answer', 'direct'),
  hook('hangup', 'direct'),
  hook('hold', 'direct'),
  hook('unhold', 'direct'),
  hook('transfer', 'direct'),
  hook('sendDtmf', 'direct'),
  hook('sendDTMF', 'direct'),
  hook('sendMessage', 'direct'),
  hook('sendIMDN', 'direct'),
  hook('subscribe', 'direct'),
  hook('sendXcapRequest', 'direct'),
  hook('submitBugReport', 'direct'),
  hook('sendBugReport', 'direct'),
  hook('pushLogs', 'direct'),
  hook('sessionDebug', 'direct'),

  // Type 3: events (§1.4). Already happened; notification only.
  hook('ConnectionStatusEvent', 'event', 'connection-status-event'),
  hook('StreamStatusEvent', 'event', 'stream-status-event', SDP),
  hook('StreamKeepAliveEvent', 'event', 'stream-keep-alive-event', SDP),
  hook('DataStatusEvent', 'event', 'data-status-event'),
  hook('ErrorEvent', 'event', 'error-event'),
  hook('ErrorStatusEvent', 'event'),
  hook('RegistrationStatusEvent', 'event'),
  hook('CallStatusEvent', 'event'),
  hook('TransferStatusEvent', 'event'),
  hook('MessageStatusEvent', 'event'),
  hook('SessionDebugStatusEvent', 'event'),
  hook('BugReportStatusEvent', 'event'),
  hook('SubscriptionStatusEvent', 'event'),
  hook('XcapStatusEvent', 'event'),
  hook('RecordingStatusEvent', 'event'),
  hook('StreamsStatEvent', 'event'),
  hook('StreamTranscodingGroupEvent', 'event'),

  // Type 4: incoming invocations (§1.5). Something external comes in; the backend may refuse.
  hook('OnCallEvent', 'incoming'),
  hook('OnMessageEvent', 'incoming'),
  hook('OnTransferEvent', 'incoming'),
];

/**
 * The path an app's REST URL ends in, on the deployed API and under `npm start` alike: the URL is
 * `<base>/hooks` and WCS appends `/<method>` (reference §0).
 */
export const HOOKS_PATH = '/hooks';

const byMethod = new Map(HOOKS.map((h) => [h.method, h]));

/**
 * A method name the catch-all accepts: WCS method names are identifiers. Anything else (a slash,
 * a dot, a 200-character name) is not a hook and answers 404, so the echo table cannot be filled
 * with junk paths.
 */
export const METHOD_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * The registry entry for `method`. Unknown but well-formed names map to `echo`, as EchoApp answers
 * any method: a WCS release that adds a hook keeps working. `undefined` for a malformed name.
 */
export function findHook(method: string): HookDefinition | undefined {
  const known = byMethod.get(method);
  if (known) return known;
  return METHOD_NAME_PATTERN.test(method) ? { method, type: 'event', handler: 'echo' } : undefined;
}

/** Methods that have a dedicated handler (each gets its own route and function in AWS). */
export function dedicatedHooks(): HookDefinition[] {
  return HOOKS.filter((h) => h.handler !== 'echo');
}

/**
 * The one method a dedicated handler serves (its function's route), or `undefined` for the
 * catch-all, which takes the method from the path.
 */
export function methodServedBy(handler: HandlerName): string | undefined {
  if (handler === 'echo') return undefined;
  const served = HOOKS.filter((hook) => hook.handler === handler);
  if (served.length !== 1)
    throw new Error(`handler ${handler} serves ${served.length} methods; a dedicated one serves one`);
  return served[0]?.method;
}

/** How `hook`'s handler answers (`HookHandlerDefinition.answers`). */
export function answersOf(hook: HookDefinition): HookHandlerDefinition['answers'] {
  return HANDLERS[hook.handler].answers;
}

/** The hooks that decide, each with its default fail mode: `connect` and the direct invocations WCS lets us refuse. */
export function decisionHooks(): { readonly hook: HookDefinition; readonly failMode: FailMode }[] {
  return HOOKS.flatMap((hook) => {
    const answers = answersOf(hook);
    return answers === 'records' ? [] : [{ hook, failMode: answers.decides }];
  });
}

/** The monitoring realms (WCS OAM's names), served over STOMP `/app/api/...` and REST `POST /api/...`. */
export const REALMS = [
  '/api/stream/list',
  '/api/stream/history',
  '/api/stream/metrics',
  '/api/session/list',
  '/api/session/history',
  '/api/metric/list',
  '/api/node/list',
  '/api/node/update',
  '/api/node/delete',
  '/api/node_status/list',
  '/api/profile/create',
  '/api/profile/update',
  '/api/profile/delete',
  '/api/profile/list',
  '/api/rule/create',
  '/api/rule/update',
  '/api/rule/delete',
  '/api/rule/list',
  '/api/alarm/create',
  '/api/alarm/update',
  '/api/alarm/delete',
  '/api/alarm/list',
  '/api/denial/create',
  '/api/denial/delete',
  '/api/denial/list',
  '/api/usage/app',
  '/api/usage/stream',
] as const;

export type Realm = (typeof REALMS)[number];
