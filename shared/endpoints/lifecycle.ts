/**
 * A user agent's WebSocket session on an endpoint, from `open` to `close` (the meveo lifecycle,
 * `docs/endpoints.md`): who may open it (token, roles, origin, connections per user), the endpoint's
 * logic on `open`, `message`, `error` and `close` with the session's context, the limits on what it
 * sends (size, rate), and what the logic asks for (replies, `sendMessage`, broadcasts, a close).
 * API Gateway's three routes (and the local server's stand-in for them) call in here.
 */
import { randomBytes } from 'node:crypto';
import { TokenRejectedError, verifyUserToken } from '../admission/tokens.ts';
import { HookError } from '../kernel/errors.ts';
import { globMatches } from '../kernel/glob.ts';
import { logger } from '../kernel/logger.ts';
import { countForAlarm, METRIC } from '../kernel/metrics.ts';
import { closeConnection, postToConnection } from '../realtime/management-api.ts';
import { mapWithConcurrency } from '../sender/sender.ts';
import { getAppPolicy } from '../state/apps.ts';
import {
  connectionsOfUser,
  connectionsOnEndpoint,
  type EndpointConnection,
  loadEndpointConnection,
  MAX_CONTEXT_BYTES,
  openEndpointConnection,
  removeEndpointConnection,
  saveEndpointConnection,
  takeToken,
} from '../state/endpoint-connections.ts';
import { type Endpoint, endpointForEvents, findEndpoint } from '../state/endpoints.ts';
import { errorMessage } from './built-in.ts';
import { type EndpointEvent, type LogicAnswer, LogicFailedError, mergedContext, runLogic } from './logic.ts';
import { type MessageOutcome, sendToEveryone, sendToUser } from './messaging.ts';
import { startKeptDelivery } from './offline-messages.ts';

/**
 * The user of a connection to an unsecured endpoint that presented no token: `anonymous-<8 hex>`, its
 * own for that connection (reached by a broadcast, or by that name), so that anonymous user agents
 * are not all one user at its connections limit.
 */
const anonymousUser = () => `anonymous-${randomBytes(4).toString('hex')}`;

/** How `$connect` is answered: 200 opens the connection; anything else refuses it with that status. */
export interface OpenAnswer {
  readonly statusCode: number;
  readonly error?: string;
  readonly message?: string;
}

export interface OpenRequest {
  readonly connectionId: string;
  /** From `/ws/<code>` (the CloudFront function, or the local server, puts it in `?endpoint=`). */
  readonly endpointCode: string | undefined;
  readonly token: string | undefined;
  readonly origin: string | undefined;
  /** The upgrade request's query string and headers (the logic sees some of them: `queryForLogic`, `headersForLogic`). */
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The management API to post through. */
  readonly via: string;
}

const refuse = (statusCode: number, error: string, message: string): OpenAnswer => ({
  statusCode,
  error,
  message,
});

/**
 * Whether close `code` says the connection failed (1006 dropped, 1009 too big, 1002 a protocol
 * error, ...: RFC 6455's 1002 to 1015 but 1005, no code): the logic gets an `error` first. 1000,
 * 1001, 1005 and the codes of an application (3000 to 4999, a page's `close(4001)`) end it normally.
 */
const closedByFailure = (code: number) => code >= 1002 && code <= 1015 && code !== 1005;

/**
 * The close codes wcs-hooks ends a session with, told to the page in a last message
 * `{"type":"close","code","reason"}` (API Gateway's DeleteConnection sets no close code) and to the
 * logic as its `close`'s `reasonCode` and `reasonPhrase`.
 */
export const SESSION_CLOSE = {
  endpointDeleted: { code: 4404, reason: 'endpoint deleted' },
  endpointDisabled: { code: 4403, reason: 'endpoint disabled' },
} as const;

function sessionOf(
  connection: Pick<
    EndpointConnection,
    'connectionId' | 'user' | 'roles' | 'appKey' | 'openedAt' | 'query' | 'headers'
  >,
) {
  return {
    connectionId: connection.connectionId,
    user: connection.user,
    roles: connection.roles,
    ...(connection.appKey && { appKey: connection.appKey }),
    openedAt: connection.openedAt,
    query: connection.query,
    headers: connection.headers,
  };
}

/** The query string the logic sees: all of it but the token and the `endpoint` routing adds. */
function queryForLogic(query: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const seen: Record<string, string> = {};
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && name !== 'token' && name !== 'endpoint') seen[name] = value;
  return seen;
}

/** The headers `endpoint` forwards to its logic (`forwardHeaders`), found whatever case they were sent in. */
function headersForLogic(
  endpoint: Endpoint,
  headers: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value !== undefined && endpoint.forwardHeaders.includes(lower)) forwarded[lower] = value;
  }
  return forwarded;
}

/** Runs the logic; a failure is logged, counted for its alarm, and answered `undefined`. */
async function logicOrUndefined(endpoint: Endpoint, event: EndpointEvent, via: string) {
  try {
    return await runLogic(endpoint, event, logicApi(via));
  } catch (error) {
    if (!(error instanceof LogicFailedError)) throw error;
    logicFailed(endpoint, event, error);
    return undefined;
  }
}

function logicFailed(endpoint: Endpoint, event: EndpointEvent, error: LogicFailedError): void {
  logger.warn("an endpoint's logic failed", {
    endpoint: endpoint.code,
    event: event.event,
    connectionId: event.session.connectionId,
    failure: error.failure,
    reason: error.message,
  });
  countForAlarm(METRIC.endpointLogicFailed);
}

const CONTEXT_TOO_LARGE = `the endpoint's logic kept a context over ${MAX_CONTEXT_BYTES} bytes`;

/** Whether `context` is over `MAX_CONTEXT_BYTES`: if so, the logic failed (logged, counted for its alarm). */
function contextTooLarge(
  endpoint: Endpoint,
  event: EndpointEvent,
  context: Record<string, unknown>,
): boolean {
  if (Buffer.byteLength(JSON.stringify(context)) <= MAX_CONTEXT_BYTES) return false;
  logicFailed(endpoint, event, new LogicFailedError('garbage', `a context over ${MAX_CONTEXT_BYTES} bytes`));
  return true;
}

/** What a module's logic may call besides answering (meveo's `WebsocketServerEndpoint.sendMessage`). */
function logicApi(via: string) {
  return {
    sendMessage: (endpointCode: string, username: string, text: string) =>
      sendMessage(endpointCode, username, text, { via, origin: 'logic' }),
  };
}

/**
 * Does what the logic answered: replies to this connection (not while it opens: API Gateway cannot
 * post to it yet), messages to users, a broadcast, a close.
 */
async function perform(
  endpoint: Endpoint,
  connectionId: string,
  answer: LogicAnswer,
  stage: 'open' | 'message' | 'ended',
  via: string,
): Promise<void> {
  const delivery = {
    via,
    origin: 'logic' as const,
    onGone: (id: string) => endSession(id, 1006, 'gone', via),
  };
  let gone = false;
  if (answer.reply !== undefined && stage === 'message') {
    for (const text of Array.isArray(answer.reply) ? answer.reply : [answer.reply]) {
      // This connection is gone: it is ended, and what the logic asked of others is still done.
      if ((await postToConnection(connectionId, text, via)) === 'gone') {
        gone = true;
        await delivery.onGone(connectionId);
        break;
      }
    }
  } else if (answer.reply !== undefined) {
    logger.warn('an endpoint logic replied to a connection that is not open; the reply was dropped', {
      endpoint: endpoint.code,
      stage,
    });
  }
  for (const message of answer.send ?? []) {
    if (message.wcs && !endpoint.appKey)
      logger.warn('sendMessage with wcs needs the endpoint to name its app; sent to the sockets only', {
        endpoint: endpoint.code,
      });
    await sendToUser(endpoint, message.user, message.text, { ...delivery, wcs: message.wcs === true });
  }
  if (answer.broadcast !== undefined) await sendToEveryone(endpoint, answer.broadcast, delivery);
  if (!answer.close || stage !== 'message' || gone) return;
  if (answer.close === true) await closeConnection(connectionId, via);
  else await closeSession(endpoint, connectionId, { reason: '', ...answer.close }, via);
}

/**
 * `$connect`: admits a user agent to the endpoint its URL names, or refuses it as API Gateway
 * answers a refused `$connect` (the status, and a JSON body): 404 no such endpoint, 403 an origin it
 * does not allow, 401 a missing or bad token, 403 none of the endpoint's roles, 429 the user's
 * connections at the limit, 403 the logic refused (threw) on `open`, 504 it took too long, 502 it
 * answered garbage or could not be reached. Admitted, the connection is recorded with the context
 * `open` returned, what the logic asked for is done, and the delivery of the messages kept for
 * the user while it was offline is started (`offline-messages.ts`).
 */
export async function openSession(request: OpenRequest): Promise<OpenAnswer> {
  const { connectionId, endpointCode, via } = request;
  const endpoint = endpointCode === undefined ? undefined : await findEndpoint(endpointCode);
  if (!endpoint)
    return refuse(
      404,
      'NotFound',
      `no endpoint ${JSON.stringify(endpointCode ?? '')}: connect to /ws/<endpoint code>`,
    );
  if (!endpoint.enabled) return refuse(403, 'Disabled', `endpoint ${endpoint.code} is disabled`);
  if (
    endpoint.allowedOrigins.length > 0 &&
    request.origin !== undefined &&
    !endpoint.allowedOrigins.some((pattern) => globMatches(pattern, request.origin as string))
  )
    return refuse(403, 'Forbidden', `origin ${request.origin} may not open endpoint ${endpoint.code}`);
  let user = anonymousUser();
  let roles: string[] = [];
  if (request.token !== undefined && endpoint.appKey) {
    try {
      ({ userId: user, roles } = await verifyUserToken(request.token, await getAppPolicy(endpoint.appKey)));
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      return refuse(401, 'Unauthorized', error.reason);
    }
  } else if (endpoint.secured) {
    return refuse(401, 'Unauthorized', 'a token is required (?token=<the app token>)');
  }
  if (endpoint.roles.length > 0 && !endpoint.roles.some((role) => roles.includes(role)))
    return refuse(
      403,
      'Forbidden',
      `endpoint ${endpoint.code} needs one of the roles ${endpoint.roles.join(', ')}`,
    );
  const open = await connectionsOfUser(endpoint.code, user);
  if (open.length >= endpoint.maxConnectionsPerUser)
    return refuse(
      429,
      'TooManyConnections',
      `${user} has ${open.length} connections to ${endpoint.code}, the most it may have (maxConnectionsPerUser)`,
    );
  const session = {
    connectionId,
    user,
    roles,
    ...(endpoint.appKey && { appKey: endpoint.appKey }),
    openedAt: new Date().toISOString(),
    query: queryForLogic(request.query),
    headers: headersForLogic(endpoint, request.headers),
  };
  const event: EndpointEvent = {
    event: 'open',
    endpoint: endpoint.code,
    session,
    context: {},
    sentAt: new Date().toISOString(),
  };
  let answer: LogicAnswer;
  try {
    answer = await runLogic(endpoint, event, logicApi(via));
  } catch (error) {
    if (!(error instanceof LogicFailedError)) throw error;
    // A logic that throws on `open` refuses the connection (meveo: the socket is closed).
    if (error.failure === 'threw')
      return refuse(403, 'Forbidden', `refused by the endpoint's logic: ${error.message}`);
    logicFailed(endpoint, event, error);
    return error.failure === 'timeout'
      ? refuse(504, 'LogicTimeout', error.message)
      : refuse(502, 'LogicFailed', `the endpoint's logic failed: ${error.message}`);
  }
  const context = mergedContext({}, answer.context) ?? {};
  if (contextTooLarge(endpoint, event, context)) return refuse(502, 'LogicFailed', CONTEXT_TOO_LARGE);
  await openEndpointConnection({ ...session, endpoint: endpoint.code, context, burst: endpoint.burst });
  await perform(endpoint, connectionId, answer, 'open', via);
  // What was kept for the user while it was offline: delivered once the connection is open.
  await startKeptDelivery({ endpoint: endpoint.code, user, connectionId, via }).catch((error: unknown) =>
    logger.error('the delivery of the messages kept for a user could not be started', error as Error),
  );
  return { statusCode: 200 };
}

/**
 * `$default`: one message of a user agent. Refused with an error message to it (the connection
 * stays) when it is over the endpoint's rate or size; otherwise given to the logic with the
 * session's context, whose additions are kept (merged again onto a context another message of the
 * same connection saved meanwhile), and what the logic asked for is done.
 */
export async function handleSessionMessage(
  connectionId: string,
  message: string,
  via: string,
): Promise<void> {
  const say = async (error: string, text: string) => {
    if ((await postToConnection(connectionId, errorMessage(error, text), via)) === 'gone')
      await endSession(connectionId, 1006, 'gone', via);
  };
  let connection = await loadEndpointConnection(connectionId);
  const endpoint = connection && (await endpointForEvents(connection.endpoint));
  if (!connection || !endpoint?.enabled) {
    await say('NotOpen', 'this connection is not open on an endpoint (it was removed or disabled)');
    return closeConnection(connectionId, via);
  }
  // Charge the message to the connection's budget first: concurrent messages cannot both spend the last token.
  for (;;) {
    const bucket = takeToken(connection.bucket, endpoint.messagesPerSecond, endpoint.burst, Date.now());
    if (!bucket)
      return say(
        'TooManyMessages',
        `more than ${endpoint.messagesPerSecond} messages a second; this one was dropped`,
      );
    if (await saveEndpointConnection(connectionId, connection.version, { bucket })) {
      connection = { ...connection, bucket, version: connection.version + 1 };
      break;
    }
    connection = await loadEndpointConnection(connectionId);
    if (!connection) return;
  }
  const bytes = Buffer.byteLength(message);
  if (bytes > endpoint.maxMessageBytes)
    return say(
      'MessageTooLarge',
      `the message is ${bytes} bytes; this endpoint takes at most ${endpoint.maxMessageBytes}`,
    );
  const event: EndpointEvent = {
    event: 'message',
    endpoint: endpoint.code,
    session: sessionOf(connection),
    context: connection.context,
    message,
    sentAt: new Date().toISOString(),
  };
  let answer: LogicAnswer;
  try {
    answer = await runLogic(endpoint, event, logicApi(via));
  } catch (error) {
    if (!(error instanceof LogicFailedError)) throw error;
    logicFailed(endpoint, event, error);
    return say('LogicFailed', `the endpoint's logic failed (${error.failure}); the message was not handled`);
  }
  if (answer.context) {
    const added = answer.context;
    for (;;) {
      const context = mergedContext(connection.context, added) ?? connection.context;
      if (contextTooLarge(endpoint, event, context)) return say('LogicFailed', CONTEXT_TOO_LARGE);
      if (await saveEndpointConnection(connectionId, connection.version, { context })) break;
      const reloaded: EndpointConnection | undefined = await loadEndpointConnection(connectionId);
      if (!reloaded) break;
      connection = reloaded;
    }
  }
  await perform(endpoint, connectionId, answer, 'message', via);
}

/**
 * `$disconnect` (or a connection found gone): forgets the connection, then gives the logic an
 * `error` first when the connection failed (`code` 1006, 1009, ...: `closedByFailure`, or `error`
 * given) and `close` with the code and phrase, each with the context so far. Once per connection:
 * a second call finds nothing.
 */
export async function endSession(
  connectionId: string,
  code: number | undefined,
  phrase: string | undefined,
  via: string,
  error?: string,
): Promise<void> {
  const connection = await removeEndpointConnection(connectionId);
  const endpoint = connection && (await endpointForEvents(connection.endpoint));
  if (!connection || !endpoint) return;
  await sessionEnded(endpoint, connection, code, phrase, via, error);
}

/** The logic's `error` (when the connection failed) and `close` for `connection`, already forgotten. */
async function sessionEnded(
  endpoint: Endpoint,
  connection: EndpointConnection,
  code: number | undefined,
  phrase: string | undefined,
  via: string,
  error?: string,
): Promise<void> {
  const { connectionId } = connection;
  let context = connection.context;
  const base = { endpoint: endpoint.code, session: sessionOf(connection) };
  const abnormal =
    error ??
    (code !== undefined && closedByFailure(code)
      ? `closed abnormally (${code}${phrase ? `: ${phrase}` : ''})`
      : undefined);
  if (abnormal !== undefined) {
    const answer = await logicOrUndefined(
      endpoint,
      { ...base, event: 'error', context, error: abnormal, sentAt: new Date().toISOString() },
      via,
    );
    if (answer) {
      context = mergedContext(context, answer.context) ?? context;
      await perform(endpoint, connectionId, answer, 'ended', via);
    }
  }
  const answer = await logicOrUndefined(
    endpoint,
    {
      ...base,
      event: 'close',
      context,
      reasonCode: code ?? 1005,
      reasonPhrase: phrase ?? '',
      sentAt: new Date().toISOString(),
    },
    via,
  );
  if (answer) await perform(endpoint, connectionId, answer, 'ended', via);
}

/**
 * Ends session `connectionId` with `close` (its code and reason): the connection is forgotten,
 * told why in a last message `{"type":"close","code","reason"}`, closed, and its logic gets its
 * `close` with that code. False when it was no longer open (its `$disconnect` had it).
 */
async function closeSession(
  endpoint: Endpoint,
  connectionId: string,
  close: { readonly code: number; readonly reason: string },
  via: string,
): Promise<boolean> {
  const connection = await removeEndpointConnection(connectionId);
  if (!connection) return false;
  try {
    const told = await postToConnection(connectionId, JSON.stringify({ type: 'close', ...close }), via);
    if (told === 'sent') await closeConnection(connectionId, via);
  } catch (error) {
    logger.warn('closing an endpoint connection failed', {
      endpoint: endpoint.code,
      connectionId,
      error: (error as Error).message,
    });
  }
  await sessionEnded(endpoint, connection, close.code, close.reason, via);
  return true;
}

/** How many sessions are ended at once when an endpoint is deleted or disabled. */
const CLOSE_CONCURRENCY = 20;

/**
 * Ends every session open on `endpoint` (as it was before it was deleted or disabled) with `close`
 * (`SESSION_CLOSE`): each connection is forgotten, told why in a last message
 * `{"type":"close","code","reason"}`, closed, and its logic gets its `close` with that code. A
 * connection that closes meanwhile is ended once, by whichever comes first. Answers how many it ended.
 */
export async function closeEndpointSessions(
  endpoint: Endpoint,
  close: { readonly code: number; readonly reason: string },
  via: string,
): Promise<number> {
  const open = await connectionsOnEndpoint(endpoint.code);
  const ended = await mapWithConcurrency(open, CLOSE_CONCURRENCY, ({ connectionId }) =>
    closeSession(endpoint, connectionId, close, via),
  );
  return ended.filter(Boolean).length;
}

/** No endpoint of that code (the operator API answers 404). */
export class EndpointNotFoundError extends Error {
  constructor(code: string) {
    super(`no endpoint ${code}`);
    this.name = 'EndpointNotFoundError';
  }
}

/**
 * meveo's `sendMessage(endpointCode, username, text)`, from the operator API, the CLI or an
 * endpoint's logic; `wcs` (the user's WCS sessions too) needs the endpoint to name its app (400).
 */
export async function sendMessage(
  endpointCode: string,
  user: string,
  text: string,
  options: { readonly via: string; readonly origin: 'operator' | 'logic'; readonly wcs?: boolean },
): Promise<MessageOutcome> {
  const endpoint = await endpointForEvents(endpointCode);
  if (!endpoint) throw new EndpointNotFoundError(endpointCode);
  if (options.wcs && !endpoint.appKey)
    throw new HookError(
      400,
      'ValidationError',
      `wcs: endpoint ${endpointCode} names no app (appKey) whose sessions to reach`,
    );
  return sendToUser(endpoint, user, text, {
    ...options,
    onGone: (id) => endSession(id, 1006, 'gone', options.via),
  });
}

/** `text` to everyone on endpoint `endpointCode`. */
export async function broadcastMessage(
  endpointCode: string,
  text: string,
  options: { readonly via: string; readonly origin: 'operator' | 'logic' },
): Promise<MessageOutcome> {
  const endpoint = await endpointForEvents(endpointCode);
  if (!endpoint) throw new EndpointNotFoundError(endpointCode);
  return sendToEveryone(endpoint, text, {
    ...options,
    onGone: (id) => endSession(id, 1006, 'gone', options.via),
  });
}

/** Who is on endpoint `endpointCode`: each user and how many connections it has open (one Query). */
export async function presenceOn(
  endpointCode: string,
): Promise<{ endpoint: string; users: { user: string; connections: number }[]; connections: number }> {
  const connections = await connectionsOnEndpoint(endpointCode);
  const byUser = new Map<string, number>();
  for (const c of connections) byUser.set(c.user, (byUser.get(c.user) ?? 0) + 1);
  return {
    endpoint: endpointCode,
    users: [...byUser].map(([user, count]) => ({ user, connections: count })),
    connections: connections.length,
  };
}
