/**
 * The STOMP 1.2 side of one WebSocket connection of the monitoring API, as WCS OAM speaks it
 * (reference §5.1, seeds "Interaction with backend server"): CONNECT/STOMP → CONNECTED with
 * version and heart-beat negotiation, SUBSCRIBE/UNSUBSCRIBE to the destinations below, SEND of
 * requests to `/app/api/<realm>` answered on `/user/service`, DISCONNECT with RECEIPT, and an ERROR
 * frame, then the end of the connection, for anything else (STOMP 1.2 §ERROR).
 *
 * Independent of the transport: it takes decoded frames and returns what to do (frames to send,
 * close), so the local `ws` server and API Gateway's `$default` route run the same code. The state
 * it keeps is plain data (`StompSessionState`), storable between Lambda invocations.
 */
import { encodeFrame, MAX_FRAME_BYTES, type StompFrame } from './codec.ts';

/**
 * Destinations a client may subscribe to (reference §5.1 and the realtime issue): OAM's `/alarm`
 * (`/alarms`, as the OAM document's prose spells it, is the same), `/user/service` for replies; the
 * state topics; and the patterns below.
 */
export const DESTINATIONS = [
  '/alarm',
  '/alarms',
  '/topic/streams',
  '/topic/sessions',
  '/topic/nodes',
  '/user/service',
] as const;
/** `/topic/streams/{name}`: one stream name's changes. */
const STREAM_TOPIC = /^\/topic\/streams\/[^/]+$/;
/**
 * `/stream/{node}/{mediaId}`: OAM's realtime metric samples of one stream, its node named by nodeId
 * (`<id>@<ip>`) or by IP, as everywhere OAM takes a node id.
 */
export const METRICS_TOPIC = /^\/stream\/([^/]+)\/([^/]+)$/;
/** The alarm destinations: a subscription to either first receives the alarms already raised. */
export const ALARM_DESTINATIONS: readonly string[] = ['/alarm', '/alarms'];
/** A destination is an index key (`byDestination`); a stream name is at most 512 bytes (`LIMITS.name`). */
const MAX_DESTINATION_BYTES = 600;

/** True when `destination` can be subscribed to. */
export function isSubscribable(destination: string): boolean {
  if ((DESTINATIONS as readonly string[]).includes(destination)) return true;
  return (
    (STREAM_TOPIC.test(destination) || METRICS_TOPIC.test(destination)) &&
    Buffer.byteLength(destination) <= MAX_DESTINATION_BYTES
  );
}

/**
 * How often the server wants a client heart-beat. Behind API Gateway (and the local stand-in for
 * it) every one is a Lambda invocation: one every 5 minutes keeps a connection under API Gateway's
 * 10-minute idle limit, with 30 times fewer calls than the 10 s clients tend to offer.
 */
export const API_GATEWAY_HEARTBEAT_MS = 5 * 60_000;

/**
 * Subscriptions a connection may hold: a dashboard needs a handful. The bound keeps a message's
 * save (`saveConnection`) within one DynamoDB transaction.
 */
export const MAX_SUBSCRIPTIONS = 40;

export interface StompSessionState {
  connected: boolean;
  /** Negotiated: how often this server sends a heart-beat, and expects one (0 = never). */
  heartbeat: { sendEveryMs: number; expectEveryMs: number };
  /** Subscription id → destination. */
  subscriptions: Record<string, string>;
  /** Counter for `message-id`. */
  messages: number;
  /** When the WebSocket opened (epoch ms): CONNECT must come within `STOMP_MAX_TIMEOUT_MS` of it. */
  openedAt?: number;
}

export function newSessionState(openedAt?: number): StompSessionState {
  return {
    connected: false,
    heartbeat: { sendEveryMs: 0, expectEveryMs: 0 },
    subscriptions: {},
    messages: 0,
    ...(openedAt !== undefined && { openedAt }),
  };
}

/** A request on `/app/api/<realm>`: `{requestId, realm, payload}` (reference §5.1). */
export interface RealmRequest {
  readonly requestId: string;
  readonly realm: string;
  readonly payload: unknown;
}

/**
 * The answer to a request, as OAM answers: HTTP-like `status` and `reason`, and the payload; a page
 * of a list also says how many items match (`total`, where counted) and whether more follow it.
 */
export interface RealmReply {
  readonly status: number;
  readonly reason: string;
  readonly payload?: unknown;
  readonly total?: number;
  readonly more?: boolean;
}

/** What the transport must do. */
export type StompAction =
  | {
      readonly kind: 'send';
      readonly frame: { command: string; headers: Record<string, string>; body?: string };
    }
  | { readonly kind: 'close' };

const send = (command: string, headers: Record<string, string>, body?: string): StompAction => ({
  kind: 'send',
  frame: { command, headers, ...(body !== undefined && { body }) },
});

/** An ERROR frame (with the receipt it answers, if any), then the end of the connection. */
function error(message: string, frame?: StompFrame, detail = ''): StompAction[] {
  const receipt = frame?.headers.receipt;
  return [
    send(
      'ERROR',
      { message, 'content-type': 'text/plain', ...(receipt && { 'receipt-id': receipt }) },
      detail,
    ),
    { kind: 'close' },
  ];
}

/**
 * The heart-beat both sides agree on, from the client's `cx` (STOMP 1.2 §Heart-beating). A Lambda
 * function cannot send on a timer, so the server offers to send none, and asks for the client's
 * heart-beats every `API_GATEWAY_HEARTBEAT_MS` at most (a client offering none sends none).
 */
export function negotiateHeartbeat(header: string | undefined): StompSessionState['heartbeat'] {
  const cx = Number.parseInt((header ?? '0,0').split(',')[0] ?? '0', 10);
  const clientSends = Number.isFinite(cx) && cx > 0 ? cx : 0;
  return {
    sendEveryMs: 0,
    expectEveryMs: clientSends === 0 ? 0 : Math.max(API_GATEWAY_HEARTBEAT_MS, clientSends),
  };
}

/**
 * The request a SEND carries. Its destination (`/app/api/<realm>`) names the realm, as OAM routes
 * it; the body's `realm` (OAM clients repeat it there) may only agree: a body naming another realm
 * is a 400, never served in the destination's place (a client, or a proxy trusting destinations,
 * would see one realm asked and another one run). An answer with a `requestId` keeps it.
 */
function parseRequest(frame: StompFrame): RealmRequest | { requestId?: string; reason: string } {
  let body: unknown;
  try {
    body = JSON.parse(frame.body);
  } catch {
    return { reason: 'the body is not JSON' };
  }
  const request = body as Partial<RealmRequest> | null;
  if (!request || typeof request !== 'object' || typeof request.requestId !== 'string') {
    return { reason: 'the body must be {"requestId": "...", "realm": "/api/...", "payload": {...}}' };
  }
  const destination = frame.headers.destination ?? '';
  const realm = destination.slice('/app'.length);
  const named = typeof request.realm === 'string' ? request.realm.replace(/^\/app(?=\/)/, '') : '';
  if (named !== '' && named !== realm) {
    return {
      requestId: request.requestId,
      reason: `the body names realm ${request.realm}, the destination ${destination}: they must agree`,
    };
  }
  return { requestId: request.requestId, realm, payload: request.payload ?? {} };
}

/**
 * Handles one frame of a connection: updates `state` and returns what to send. `handleRequest`
 * answers a request on `/app/api/<realm>`; its reply goes to the connection's `/user/service`
 * subscription, as OAM sends it.
 */
export interface FrameContext {
  /**
   * Answers a request on `/app/api/<realm>`, in at most `maxReplyBytes` of JSON: what one MESSAGE
   * frame may carry (`MAX_FRAME_BYTES`, API Gateway's limit on a WebSocket message) less its headers.
   */
  readonly handleRequest: (request: RealmRequest, maxReplyBytes?: number) => Promise<RealmReply>;
  /** What a new subscription to `destination` receives at once (the alarms already raised). Default: nothing. */
  readonly current?: (destination: string) => Promise<readonly unknown[]>;
  /** How long after the WebSocket opened CONNECT may come (ms); default no limit. */
  readonly connectTimeoutMs?: number;
  /** Now, in epoch ms (default `Date.now()`). */
  readonly now?: number;
}

export async function handleFrame(
  state: StompSessionState,
  frame: StompFrame,
  context: FrameContext | ((request: RealmRequest) => Promise<RealmReply>),
  sessionId: string,
): Promise<StompAction[]> {
  const { handleRequest, current, connectTimeoutMs, now } =
    typeof context === 'function' ? ({ handleRequest: context } as FrameContext) : context;
  const receipt = frame.headers.receipt ? [send('RECEIPT', { 'receipt-id': frame.headers.receipt })] : [];
  if (frame.command === 'CONNECT' || frame.command === 'STOMP') {
    if (state.connected) return error('already connected', frame);
    if (
      connectTimeoutMs !== undefined &&
      state.openedAt !== undefined &&
      (now ?? Date.now()) - state.openedAt > connectTimeoutMs
    )
      return error(`CONNECT must come within ${connectTimeoutMs} ms of opening the connection`, frame);
    const versions = (frame.headers['accept-version'] ?? '1.0').split(',').map((v) => v.trim());
    if (!versions.includes('1.2')) {
      return [
        send('ERROR', {
          version: '1.2',
          message: 'supported protocol versions are 1.2',
          'content-type': 'text/plain',
        }),
        { kind: 'close' },
      ];
    }
    state.connected = true;
    state.heartbeat = negotiateHeartbeat(frame.headers['heart-beat']);
    return [
      send('CONNECTED', {
        version: '1.2',
        'heart-beat': `${state.heartbeat.sendEveryMs},${state.heartbeat.expectEveryMs}`,
        server: 'wcs-hooks/0.1',
        session: sessionId,
      }),
    ];
  }
  if (!state.connected) return error('send CONNECT first', frame);
  switch (frame.command) {
    case 'SUBSCRIBE': {
      const { id, destination } = frame.headers;
      if (!id || !destination) return error('SUBSCRIBE needs id and destination headers', frame);
      if (!isSubscribable(destination)) {
        return error(
          `unknown destination ${destination}`,
          frame,
          `destinations: ${DESTINATIONS.join(', ')}, /topic/streams/{name}, /stream/{nodeId}/{mediaId}`,
        );
      }
      if (!(id in state.subscriptions) && Object.keys(state.subscriptions).length >= MAX_SUBSCRIPTIONS)
        return error(`at most ${MAX_SUBSCRIPTIONS} subscriptions per connection`, frame);
      state.subscriptions[id] = destination;
      const already = current ? await current(destination) : [];
      return [...receipt, ...already.map((body) => messageFrame(state, sessionId, id, destination, body))];
    }
    case 'UNSUBSCRIBE': {
      const { id } = frame.headers;
      if (!id) return error('UNSUBSCRIBE needs an id header', frame);
      delete state.subscriptions[id];
      return receipt;
    }
    case 'SEND': {
      const destination = frame.headers.destination ?? '';
      if (!destination.startsWith('/app/api/')) return error('SEND goes to /app/api/<realm>', frame);
      const reply = Object.entries(state.subscriptions).find(([, d]) => d === '/user/service');
      if (!reply) return error('subscribe to /user/service to receive replies', frame);
      const request = parseRequest(frame);
      const headers = messageHeaders(state, sessionId, reply[0], '/user/service');
      const answer: RealmReply & { requestId?: string } =
        'reason' in request
          ? {
              ...(request.requestId !== undefined && { requestId: request.requestId }),
              status: 400,
              reason: request.reason,
            }
          : {
              requestId: request.requestId,
              ...(await handleRequest(request, MAX_FRAME_BYTES - replyOverhead(headers, request.requestId))),
            };
      return [...receipt, send('MESSAGE', headers, replyWithin(headers, answer))];
    }
    case 'DISCONNECT':
      return [...receipt, { kind: 'close' }];
    case 'ACK':
    case 'NACK':
    case 'BEGIN':
    case 'COMMIT':
    case 'ABORT':
      // Subscriptions here are auto-acknowledged and there are no transactions: nothing to do.
      return receipt;
    default:
      return error(`unknown command ${frame.command}`, frame);
  }
}

/** The headers of the next MESSAGE frame on `destination` to subscription `id`. */
function messageHeaders(
  state: StompSessionState,
  sessionId: string,
  id: string,
  destination: string,
): Record<string, string> {
  return {
    destination,
    subscription: id,
    'message-id': `${sessionId}-${++state.messages}`,
    'content-type': 'application/json;charset=UTF-8',
  };
}

/** The MESSAGE frame delivering `body` on `destination` to subscription `id`. */
function messageFrame(
  state: StompSessionState,
  sessionId: string,
  id: string,
  destination: string,
  body: unknown,
): StompAction {
  return send('MESSAGE', messageHeaders(state, sessionId, id, destination), JSON.stringify(body));
}

/** Bytes of a reply frame besides its answer: the headers, `content-length`, the requestId. */
const replyOverhead = (headers: Record<string, string>, requestId: string) =>
  Buffer.byteLength(encodeFrame('MESSAGE', headers, JSON.stringify({ requestId }))) +
  // `content-length` grows by a few digits as the body does.
  16;

/**
 * The body of a reply, as long as its frame fits one WebSocket message (`MAX_FRAME_BYTES`): API
 * Gateway refuses a longer one, and the reply would be lost. The realms keep their answers within
 * the room they are given (a list is cut at a whole item and says `more`); an answer that still
 * does not fit is replaced by a 400 saying so, never dropped.
 */
function replyWithin(headers: Record<string, string>, answer: RealmReply & { requestId?: string }): string {
  const body = JSON.stringify(answer);
  const bytes = Buffer.byteLength(encodeFrame('MESSAGE', headers, body));
  if (bytes <= MAX_FRAME_BYTES) return body;
  return JSON.stringify({
    ...(answer.requestId !== undefined && { requestId: answer.requestId }),
    status: 400,
    reason: `the answer is ${bytes} bytes, more than the ${MAX_FRAME_BYTES} a message may carry: ask for fewer (limit) or narrow the filters`,
  });
}
