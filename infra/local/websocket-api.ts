/**
 * API Gateway's WebSocket APIs, locally: the local server plays them, so the functions deployed
 * behind them run here unchanged: the realtime API (`/ws`) and the endpoints API (`/ws/<code>`).
 * An upgrade is the `$connect` route once `ws` has found its handshake valid (a malformed one is
 * answered 400 and never reaches `$connect`; a connection is refused with the function's status
 * unless it answers 200), each WebSocket message is `$default`, a close is `$disconnect` (with API
 * Gateway's `disconnectStatusCode` and `disconnectReason`); and the management API the functions
 * answer through (`POST`, `GET`, `DELETE /@connections/{id}`, reached with the AWS SDK) is served
 * on a loopback-only port of each API's own, its URL in the variable CDK sets to the stage's. API
 * Gateway's limits are kept: 128 KiB a message, 10 minutes idle, 2 hours a connection (closed
 * with 1001). Written by hand: no AWS library emulates API Gateway's WebSocket API.
 *
 * One difference from AWS, on purpose: the messages of one connection are handed to `$default`
 * one after the other, where API Gateway may run two at once (the handlers cope with both).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { type WebSocket, WebSocketServer } from 'ws';
import { ENDPOINT_CODE_CHARS } from '#shared/state/endpoints.ts';
import { headersOf, localContext, readBody, writeJson } from './lambda-adapter.ts';
import { localLogger as logger } from './local-logger.ts';

/** API Gateway's limit on one WebSocket message (and on a `PostToConnection` payload). */
const MAX_MESSAGE_BYTES = 128 * 1024;
const STAGE = 'local';

type WebSocketHandler = (
  event: APIGatewayProxyWebsocketEventV2 & Record<string, unknown>,
  context: ReturnType<typeof localContext>,
) => Promise<APIGatewayProxyResultV2>;

export interface RealtimeFunctions {
  readonly connect: WebSocketHandler;
  readonly message: WebSocketHandler;
  readonly disconnect: WebSocketHandler;
}

export interface LocalWebSocketApi {
  /** The management API's URL (what `REALTIME_ENDPOINT` or `ENDPOINTS_ENDPOINT` is set to). */
  readonly endpoint: string;
  /** Takes an upgrade routed to this API; `query` is added to its query string (as a CloudFront function would). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, query?: Record<string, string>): void;
  close(): Promise<void>;
}

/** API Gateway's idle timeout and connection lifetime for WebSocket APIs. */
export const IDLE_TIMEOUT_MS = 10 * 60_000;
export const MAX_CONNECTION_MS = 2 * 3600_000;
/** API Gateway's integration timeout: a `$connect` that has not answered by then is refused 500. */
const INTEGRATION_TIMEOUT_MS = 29_000;

/** `call`, or an error once API Gateway would have stopped waiting for it (`ms`). */
export async function withinIntegrationTimeout<T>(call: Promise<T>, ms = INTEGRATION_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer in ${ms / 1000} s (API Gateway's integration timeout)`)),
      ms,
    );
  });
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Connection {
  readonly ws: WebSocket;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  lastActiveAt: number;
}

/** A connection id shaped as API Gateway's (12 random bytes, base64). */
const newConnectionId = () => randomBytes(12).toString('base64');

function eventOf(
  routeKey: '$connect' | '$default' | '$disconnect',
  connectionId: string,
  connection: { connectedAt: number; host: string },
  extra: Record<string, unknown> = {},
): APIGatewayProxyWebsocketEventV2 & Record<string, unknown> {
  const now = Date.now();
  const { disconnect, ...rest } = extra;
  const eventType = { $connect: 'CONNECT', $default: 'MESSAGE', $disconnect: 'DISCONNECT' }[routeKey];
  return {
    requestContext: {
      routeKey,
      eventType,
      ...(routeKey === '$default' && { messageId: randomUUID() }),
      extendedRequestId: randomUUID(),
      requestTime: new Date(now).toUTCString(),
      messageDirection: 'IN',
      stage: STAGE,
      connectedAt: connection.connectedAt,
      requestTimeEpoch: now,
      requestId: randomUUID(),
      domainName: connection.host,
      connectionId,
      apiId: 'local',
      ...(disconnect as Record<string, unknown> | undefined),
    },
    isBase64Encoded: false,
    ...rest,
  } as unknown as APIGatewayProxyWebsocketEventV2 & Record<string, unknown>;
}

/**
 * `call`, tried again after 1, 2, 4 and 8 s when it throws (DynamoDB Local overloaded, say): a
 * `$disconnect` that failed once would leave its connection in presence for hours. Each failure is
 * logged; the last is thrown.
 */
async function withRetries<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt === 4) throw error;
      logger.warn(`${what} failed; trying again`, { attempt: attempt + 1, error: (error as Error).message });
      await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt));
    }
  }
}

/** What API Gateway's `$disconnect` event says of the close: its code and reason, in the request context. */
function disconnectContext(code: number, reason: string): Record<string, unknown> {
  return { disconnect: { disconnectStatusCode: code, disconnectReason: reason } };
}

/** The `$connect` event's request parts: headers and query string, single- and multi-valued. */
function requestPartsOf(request: IncomingMessage, added: Record<string, string>): Record<string, unknown> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  for (const [key, value] of Object.entries(added)) url.searchParams.set(key, value);
  const headers = headersOf(request);
  const query = Object.fromEntries(url.searchParams);
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    ...(url.search && {
      queryStringParameters: query,
      multiValueQueryStringParameters: Object.fromEntries(
        [...url.searchParams.keys()].map((k) => [k, url.searchParams.getAll(k)]),
      ),
    }),
  };
}

/** Refuses an upgrade with `status` and a JSON body, as API Gateway answers a refused `$connect`. */
export function refuse(socket: Duplex, status: number, body: string): void {
  const reason =
    {
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      429: 'Too Many Requests',
      502: 'Bad Gateway',
      504: 'Gateway Timeout',
    }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** `/ws/<endpoint code>`. */
const endpointPath = new RegExp(`^/ws/(${ENDPOINT_CODE_CHARS})/?$`);

/**
 * Routes `server`'s upgrades: `/ws` to the realtime API, `/ws/<code>` to the endpoints API (the
 * code passed as `?endpoint=`, as the CloudFront function does in AWS); anything else, or an API
 * that is off, is refused 404.
 */
export function routeUpgrades(
  server: Server,
  apis: { readonly realtime?: LocalWebSocketApi; readonly endpoints?: LocalWebSocketApi },
): void {
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client may reset or drop the socket at any moment: its error ends that socket, never the
    // process (an unhandled 'error' on a socket would take the whole local runtime down).
    socket.on('error', () => socket.destroy());
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname === '/ws' && apis.realtime) return apis.realtime.handleUpgrade(request, socket, head);
    const code = endpointPath.exec(pathname)?.[1];
    if (code !== undefined && apis.endpoints)
      return apis.endpoints.handleUpgrade(request, socket, head, { endpoint: code });
    refuse(socket, 404, '{"message":"Not Found"}');
  });
}

/** A local WebSocket API for `functions`, and its management API on a loopback port of its own. */
export async function createWebSocketApi(
  name: string,
  functions: RealtimeFunctions,
  options: {
    /** Told the number of open connections whenever it changes (the runtime tails the tables' streams only while some are open). */
    readonly onOpenConnections?: (count: number) => void;
  } = {},
): Promise<LocalWebSocketApi> {
  const connections = new Map<string, Connection>();
  /**
   * Sockets whose upgrade is under way (`$connect` running): once upgraded they are `ws`'s, but until
   * then neither the HTTP server (which let them go at 'upgrade') nor `ws` closes them, so closing the
   * API does: a client waiting for its 101 when the runtime stops is disconnected, not left half-open.
   */
  const upgrading = new Set<Duplex>();
  /** `$disconnect` calls not yet done: closing waits for them, so none outlives the runtime. */
  const disconnecting = new Set<Promise<unknown>>();
  /** What `$connect` needs of an upgrade `ws` has found well-formed (`verifyClient` is given only the request). */
  const upgrades = new WeakMap<
    IncomingMessage,
    {
      connectionId: string;
      about: { connectedAt: number; host: string };
      query: Record<string, string>;
      socket: Duplex;
    }
  >();
  /**
   * `$connect`, run by `ws` once the handshake is valid (method, `Upgrade`, `Sec-WebSocket-Key`,
   * version, subprotocols, extensions: `ws`'s own checks) and before it accepts: a malformed upgrade
   * is answered 400 by `ws` and never reaches `$connect`, so it leaves no connection behind.
   */
  const verifyClient = (
    info: { req: IncomingMessage },
    accept: (verified: boolean, code?: number, message?: string, headers?: Record<string, string>) => void,
  ) => {
    const upgrade = upgrades.get(info.req);
    if (!upgrade) return accept(false, 500, '{"message":"Internal server error"}', json);
    connect(info.req, upgrade).then(
      (refusal) => (refusal ? accept(false, refusal.status, refusal.body, json) : accept(true)),
      (error) => {
        logger.error(`${name} upgrade failed`, error as Error);
        accept(false, 500, '{"message":"Internal server error"}', json);
      },
    );
  };
  const json = { 'Content-Type': 'application/json' };
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, verifyClient });

  /** Runs `$connect`; a refusal's status and body, or `undefined` to accept. */
  const connect = async (
    request: IncomingMessage,
    { connectionId, about, query, socket }: NonNullable<ReturnType<typeof upgrades.get>>,
  ): Promise<{ status: number; body: string } | undefined> => {
    try {
      const result = await withinIntegrationTimeout(
        functions.connect(
          eventOf('$connect', connectionId, about, requestPartsOf(request, query)),
          localContext(`wcs-hooks-${name}-connect`),
        ),
      );
      const status = typeof result === 'object' ? (result.statusCode ?? 200) : 200;
      if (status !== 200) {
        const body = typeof result === 'object' ? (result.body ?? '') : '';
        return { status, body: body || '{"message":"Forbidden"}' };
      }
    } catch (error) {
      logger.error(`${name} $connect failed`, error as Error);
      return { status: 500, body: '{"message":"Internal server error"}' };
    }
    // `ws` drops an upgrade whose socket can no longer be read or written, without a word.
    if (socket.destroyed || !socket.readable || !socket.writable) {
      // The client left while `$connect` ran: it is disconnected, as API Gateway would say, and
      // what is left of its socket is closed (a half-closed one would hold the server open).
      socket.destroy();
      await functions
        .disconnect(
          eventOf(
            '$disconnect',
            connectionId,
            about,
            disconnectContext(1006, 'the client left while it was being connected'),
          ),
          localContext(`wcs-hooks-${name}-disconnect`),
        )
        .catch((error) => logger.error(`${name} $disconnect failed`, error as Error));
    }
    return undefined;
  };

  const handleUpgrade = (
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    query: Record<string, string> = {},
  ) => {
    const connectionId = newConnectionId();
    const about = { connectedAt: Date.now(), host: request.headers.host ?? 'localhost' };
    upgrades.set(request, { connectionId, about, query, socket });
    upgrading.add(socket);
    socket.once('close', () => upgrading.delete(socket));
    wss.handleUpgrade(request, socket, head, (ws) => {
      upgrading.delete(socket);
      // A protocol error (an oversized or unmasked frame, invalid UTF-8, a reserved bit or opcode):
      // `ws` has already answered it with the close code the RFC asks for and closes the
      // connection; it is that client's problem alone, and its `close` runs $disconnect.
      let protocolError: { message: string; code?: number } | undefined;
      ws.on('error', (error) => {
        // `ws` keeps the close code it sent for a protocol error (1009 too big, 1002, 1007) under a symbol.
        const status = Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code');
        const code = status && (error as unknown as Record<symbol, unknown>)[status];
        protocolError = { message: error.message, ...(typeof code === 'number' && { code }) };
        logger.debug(`${name} client protocol error`, { error: error.message });
      });
      const connection: Connection = {
        ws,
        connectedAt: about.connectedAt,
        sourceIp: request.socket.remoteAddress ?? '',
        userAgent: request.headers['user-agent'] ?? '',
        lastActiveAt: Date.now(),
      };
      connections.set(connectionId, connection);
      options.onOpenConnections?.(connections.size);
      // API Gateway's limits: 10 minutes without a message, 2 hours in all.
      const goAway = () => ws.close(1001, 'Going away');
      let idle = setTimeout(goAway, IDLE_TIMEOUT_MS);
      const lifetime = setTimeout(goAway, MAX_CONNECTION_MS);
      let queue: Promise<unknown> = Promise.resolve();
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        connection.lastActiveAt = Date.now();
        clearTimeout(idle);
        idle = setTimeout(goAway, IDLE_TIMEOUT_MS);
        const body = isBinary ? data.toString('base64') : data.toString('utf8');
        queue = queue.then(async () => {
          try {
            await functions.message(
              eventOf('$default', connectionId, about, { body, isBase64Encoded: isBinary }),
              localContext(`wcs-hooks-${name}-message`),
            );
          } catch (error) {
            // What API Gateway sends the client when the integration fails; the connection stays.
            logger.error(`${name} $default failed`, error as Error);
            if (ws.readyState === ws.OPEN)
              ws.send(JSON.stringify({ message: 'Internal server error', connectionId }));
          }
        });
      });
      ws.on('close', (code: number, reason: Buffer) => {
        clearTimeout(idle);
        clearTimeout(lifetime);
        connections.delete(connectionId);
        options.onOpenConnections?.(connections.size);
        // As API Gateway reports it: the code of the close the server sent for a protocol error.
        const phrase = protocolError?.message ?? reason.toString('utf8');
        const status = protocolError?.code ?? code;
        const done = queue
          .then(() =>
            withRetries(`${name} $disconnect`, () =>
              functions.disconnect(
                eventOf('$disconnect', connectionId, about, disconnectContext(status, phrase)),
                localContext(`wcs-hooks-${name}-disconnect`),
              ),
            ),
          )
          .catch((error) => logger.error(`${name} $disconnect failed`, error as Error))
          .finally(() => disconnecting.delete(done));
        disconnecting.add(done);
      });
    });
  };

  const management = createServer((request, response) => {
    manage(request, response).catch((error) => {
      logger.error(`${name} management API failed`, error as Error);
      if (!response.headersSent) writeJson(response, 500, { message: 'Internal server error' });
      else response.destroy();
    });
  });
  const manage = async (request: IncomingMessage, response: ServerResponse) => {
    const match = /^\/@connections\/([^/]+)$/.exec(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (!match?.[1]) return writeJson(response, 404, { message: 'Not Found' });
    const connection = connections.get(decodeURIComponent(match[1]));
    if (!connection || connection.ws.readyState !== connection.ws.OPEN) {
      response.setHeader('x-amzn-errortype', 'GoneException');
      return writeJson(response, 410, { message: 'Gone' });
    }
    switch (request.method) {
      case 'POST': {
        const data = await readBody(request, MAX_MESSAGE_BYTES);
        if (data === undefined) {
          response.setHeader('x-amzn-errortype', 'PayloadTooLargeException');
          return writeJson(response, 413, { message: `the data exceeds ${MAX_MESSAGE_BYTES} bytes` });
        }
        connection.ws.send(data.toString('utf8'));
        return writeJson(response, 200, {});
      }
      case 'DELETE':
        connection.ws.close(1000, 'Closed by the server');
        response.writeHead(204).end();
        return;
      case 'GET':
        return writeJson(response, 200, {
          ConnectedAt: new Date(connection.connectedAt).toISOString(),
          LastActiveAt: new Date(connection.lastActiveAt).toISOString(),
          Identity: { SourceIp: connection.sourceIp, UserAgent: connection.userAgent },
        });
      default:
        return writeJson(response, 405, { message: 'Method Not Allowed' });
    }
  };
  await new Promise<void>((resolve) => management.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(management.address() as AddressInfo).port}`;

  return {
    endpoint,
    handleUpgrade,
    close: async () => {
      for (const socket of upgrading) socket.destroy();
      upgrading.clear();
      // Each close runs its `$disconnect` (registered first), then resolves here.
      await Promise.all(
        [...connections.values()].map(
          ({ ws }) =>
            new Promise((resolve) => {
              ws.once('close', resolve);
              ws.terminate();
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await Promise.all(disconnecting);
      management.closeAllConnections();
      await new Promise<void>((resolve) => management.close(() => resolve()));
    },
  };
}
