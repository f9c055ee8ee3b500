/**
 * The realtime API, locally: the local server plays API Gateway's WebSocket API, so the functions
 * deployed behind it run here unchanged. An upgrade at `/ws` is the `$connect` route (the
 * connection is refused with the function's status unless it answers 200), each WebSocket message
 * is `$default`, a close is `$disconnect`; and the management API the functions answer through
 * (`POST`, `GET`, `DELETE /@connections/{id}`, reached with the AWS SDK) is served on a second,
 * loopback-only port, its URL in `REALTIME_ENDPOINT` as CDK sets the stage's. Written by hand: no
 * AWS library emulates API Gateway's WebSocket API.
 *
 * A connection needs the operator token, as `?token=` (browsers cannot set headers on a WebSocket).
 * One difference from AWS, on purpose: the messages of one connection are handed to `$default`
 * one after the other, where API Gateway may run two at once (the handler copes with both).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { type WebSocket, WebSocketServer } from 'ws';
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

export interface RealtimeServer {
  /** The management API's URL (what `REALTIME_ENDPOINT` is set to). */
  readonly endpoint: string;
  close(): Promise<void>;
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
    },
    isBase64Encoded: false,
    ...extra,
  } as unknown as APIGatewayProxyWebsocketEventV2 & Record<string, unknown>;
}

/** The `$connect` event's request parts: headers and query string, single- and multi-valued. */
function requestPartsOf(request: IncomingMessage): Record<string, unknown> {
  const url = new URL(request.url ?? '/', 'http://localhost');
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
function refuse(socket: Duplex, status: number, body: string): void {
  const reason = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Serves `/ws` on `server`'s upgrades, and the management API on a loopback port of its own. */
export async function attachRealtime(
  server: Server,
  functions: RealtimeFunctions,
  options: {
    /** Told the number of open connections whenever it changes (the runtime tails the tables' streams only while some are open). */
    readonly onOpenConnections?: (count: number) => void;
  } = {},
): Promise<RealtimeServer> {
  const connections = new Map<string, Connection>();
  /** `$disconnect` calls not yet done: closing waits for them, so none outlives the runtime. */
  const disconnecting = new Set<Promise<unknown>>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });

  server.on('upgrade', async (request, socket, head) => {
    // A client may reset or drop the socket at any moment: its error ends that socket, never the
    // process (an unhandled 'error' on a socket would take the whole local runtime down).
    socket.on('error', () => socket.destroy());
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== '/ws') return refuse(socket, 404, '{"message":"Not Found"}');
    const connectionId = newConnectionId();
    const about = { connectedAt: Date.now(), host: request.headers.host ?? 'localhost' };
    try {
      const result = await functions.connect(
        eventOf('$connect', connectionId, about, requestPartsOf(request)),
        localContext('wcs-hooks-realtime-connect'),
      );
      const status = typeof result === 'object' ? (result.statusCode ?? 200) : 200;
      if (status !== 200) {
        const body = typeof result === 'object' ? (result.body ?? '') : '';
        return refuse(socket, status, body || '{"message":"Forbidden"}');
      }
    } catch (error) {
      logger.error('realtime $connect failed', error as Error);
      return refuse(socket, 500, '{"message":"Internal server error"}');
    }
    // `ws` drops an upgrade whose socket can no longer be read or written, without a word.
    if (socket.destroyed || !socket.readable || !socket.writable) {
      // The client left while `$connect` ran: it is disconnected, as API Gateway would say, and
      // what is left of its socket is closed (a half-closed one would hold the server open).
      socket.destroy();
      await functions
        .disconnect(
          eventOf('$disconnect', connectionId, about),
          localContext('wcs-hooks-realtime-disconnect'),
        )
        .catch((error) => logger.error('realtime $disconnect failed', error as Error));
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      // A protocol error (an oversized or unmasked frame, invalid UTF-8, a reserved bit or opcode):
      // \`ws\` has already answered it with the close code the RFC asks for and closes the
      // connection; it is that client's problem alone, and its \`close\` runs $disconnect.
      ws.on('error', (error) => logger.debug('realtime client protocol error', { error: error.message }));
      const connection: Connection = {
        ws,
        connectedAt: about.connectedAt,
        sourceIp: request.socket.remoteAddress ?? '',
        userAgent: request.headers['user-agent'] ?? '',
        lastActiveAt: Date.now(),
      };
      connections.set(connectionId, connection);
      options.onOpenConnections?.(connections.size);
      let queue: Promise<unknown> = Promise.resolve();
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        connection.lastActiveAt = Date.now();
        const body = isBinary ? data.toString('base64') : data.toString('utf8');
        queue = queue.then(async () => {
          try {
            await functions.message(
              eventOf('$default', connectionId, about, { body, isBase64Encoded: isBinary }),
              localContext('wcs-hooks-realtime-message'),
            );
          } catch (error) {
            // What API Gateway sends the client when the integration fails; the connection stays.
            logger.error('realtime $default failed', error as Error);
            if (ws.readyState === ws.OPEN)
              ws.send(JSON.stringify({ message: 'Internal server error', connectionId }));
          }
        });
      });
      ws.on('close', () => {
        connections.delete(connectionId);
        options.onOpenConnections?.(connections.size);
        const done = queue
          .then(() =>
            functions.disconnect(
              eventOf('$disconnect', connectionId, about),
              localContext('wcs-hooks-realtime-disconnect'),
            ),
          )
          .catch((error) => logger.error('realtime $disconnect failed', error as Error))
          .finally(() => disconnecting.delete(done));
        disconnecting.add(done);
      });
    });
  });

  const management = createServer((request, response) => {
    manage(request, response).catch((error) => {
      logger.error('realtime management API failed', error as Error);
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
        connection.ws.close(1000);
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
    close: async () => {
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
