/**
 * The hook registry: every REST hook method WCS can call (reference §1), its Flashphoner type, and the
 * handler that answers it. The local server, the CDK stack, the docs and the tests all read this one
 * list; adding a hook is one entry here plus, if it needs one, a handler in `functions/`.
 *
 * Method names are spelled exactly as WCS puts them at the end of the hook URL (reference §0:
 * case-sensitive). A method without a dedicated handler goes to `echo`, which answers as WCS's
 * EchoApp does and records the call.
 */

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
  | 'counters';

/**
 * What a handler does with a table; the CDK stack grants exactly this and nothing more. `manage`
 * also deletes (the realtime connections, removed when they close).
 */
export type TableAccess = 'read' | 'write' | 'readWrite' | 'manage';

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

export const HANDLERS = {
  connect: {
    tables: { config: 'read', sessions: 'write', counters: 'write' },
    spillQueue: 'send',
    description: 'Admits a client session by its app policy and token, and records it.',
  },
  'connection-status-event': {
    tables: { sessions: 'write', streams: 'readWrite', streamNames: 'write', events: 'write' },
    spillQueue: 'send',
    description:
      'Moves a session through ESTABLISHED, DISCONNECTED, FAILED; an ended session releases its streams.',
  },
  'publish-stream': {
    tables: {
      config: 'read',
      sessions: 'readWrite',
      streams: 'readWrite',
      streamNames: 'write',
      counters: 'write',
    },
    spillQueue: 'send',
    description: 'Decides a publish (grants, one publisher per name) and records it PENDING.',
  },
  'play-stream': {
    tables: {
      config: 'read',
      sessions: 'readWrite',
      streams: 'readWrite',
      streamNames: 'readWrite',
      counters: 'write',
    },
    spillQueue: 'send',
    description: 'Decides a play (grants, players per stream) and records it PENDING.',
  },
  'unpublish-stream': {
    tables: { streams: 'write', events: 'write' },
    spillQueue: 'send',
    description: "Records a publisher's stop request.",
  },
  'stop-stream': {
    tables: { streams: 'write', events: 'write' },
    spillQueue: 'send',
    description: "Records a player's stop request.",
  },
  'stream-status-event': {
    tables: { streams: 'readWrite', streamNames: 'write', events: 'write' },
    spillQueue: 'send',
    description:
      'Moves a stream through PUBLISHING/PLAYING to UNPUBLISHED, STOPPED or FAILED; an ended stream releases its name or place.',
  },
  'stream-keep-alive-event': {
    tables: { sessions: 'read', streams: 'readWrite', counters: 'write', events: 'write' },
    description: "Refuses a revoked session's stream (WCS ends it); refreshes a live one.",
  },
  'on-data-event': {
    tables: { config: 'read', sessions: 'readWrite', dataMessages: 'write', counters: 'write' },
    spillQueue: 'send',
    sendQueue: 'send',
    description: 'Decides and records data a client sent; queues a relay to another user.',
  },
  'data-status-event': {
    tables: { dataMessages: 'write', events: 'write' },
    spillQueue: 'send',
    description: "Records WCS's delivery status of a data message.",
  },
  'error-event': {
    tables: { events: 'write' },
    spillQueue: 'send',
    description: 'Records an ErrorEvent and logs it.',
  },
  echo: {
    tables: { events: 'write' },
    spillQueue: 'send',
    description: 'Every other method: answers with the body mirrored (EchoApp) and records the call.',
  },
} as const satisfies Record<string, HandlerDefinition>;

export type HandlerName = keyof typeof HANDLERS;

/** The functions that are not hooks: the operator API and the sender (see `shared/sender/sender.ts`). */
export const SERVICE_FUNCTIONS = {
  'data-send-api': {
    tables: { config: 'read', sessions: 'readWrite', streams: 'read', dataMessages: 'write' },
    sendQueue: 'send',
    description: 'POST /api/data/send: pushes data to clients now, or queues a fan-out job.',
  },
  sender: {
    tables: { config: 'read', sessions: 'readWrite', streams: 'read', dataMessages: 'write' },
    sendQueue: 'consume',
    description: 'Consumes the send queue: expands fan-outs, delivers sends through the WCS REST API.',
  },
  'realm-api': {
    tables: { sessions: 'read', streams: 'read' },
    description: 'POST /api/<realm>: the monitoring realms over REST (stream, session and metric lists).',
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
    tables: { connections: 'manage', sessions: 'read', streams: 'read' },
    description: 'WebSocket $default: STOMP frames (CONNECT, SUBSCRIBE, SEND to the realms, ...).',
  },
  'realtime-streams': {
    tables: { connections: 'manage' },
    description:
      'Pushes each change of the sessions, streams and counters tables (DynamoDB Streams) to its subscribers.',
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

/** Every Lambda entry point in `functions/`: the hook handlers and the service functions. */
export const FUNCTIONS: Readonly<Record<HandlerName | ServiceFunctionName, HandlerDefinition>> = {
  ...HANDLERS,
  ...SERVICE_FUNCTIONS,
};

export interface HookDefinition {
  /** The method name as WCS spells it in the URL. */
  readonly method: string;
  readonly type: HookType;
  readonly handler: HandlerName;
}

const hook = (method: string, type: HookType, handler: HandlerName = 'echo'): HookDefinition => ({
  method,
  type,
  handler,
});

/** Every hook method in reference §1, in the order the reference lists them by type. */
export const HOOKS: readonly HookDefinition[] = [
  // Type 1: connect (§1.2)
  hook('connect', 'connect', 'connect'),

  // Type 2: direct invocations (§1.3). The client's action proceeds only if the backend allows it.
  hook('publishStream', 'direct', 'publish-stream'),
  hook('playStream', 'direct', 'play-stream'),
  hook('unPublishStream', 'direct', 'unpublish-stream'),
  hook('stopStream', 'direct', 'stop-stream'),
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
  hook('StreamStatusEvent', 'event', 'stream-status-event'),
  hook('StreamKeepAliveEvent', 'event', 'stream-keep-alive-event'),
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

/** The monitoring realms (WCS OAM's names), served over STOMP `/app/api/...` and REST `POST /api/...`. */
export const REALMS = [
  '/api/stream/list',
  '/api/stream/history',
  '/api/session/list',
  '/api/session/history',
  '/api/metric/list',
] as const;
