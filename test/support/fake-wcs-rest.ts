/**
 * The WCS REST API of a fake node, built from `shared/reference/wcs-hooks.md` §4: `POST
 * /rest-api/data/send` with `{nodeId, sessionId, operationId, payload}` answers 200 with an empty
 * body when the node holds the session, 404 when it does not; `POST /rest-api/connection/find_all`
 * lists the sessions it holds (404 "not found" when none, as WCS's finders answer); every request
 * answers 401 without valid HTTP Basic credentials when the node requires them
 * (`disable_rest_auth=false`). `stream/find_all`, `stream/find` (with `display: ["metrics"]`) and
 * `stream/metrics` answer from the node's live streams (`FakeWcs.liveStreams`). It records what it received and can be told to be slow or to fail,
 * to test the sender against a misbehaving node.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeWcs } from './fake-wcs.ts';

export interface ReceivedData {
  readonly nodeId: string;
  readonly sessionId: string;
  readonly operationId: string;
  readonly payload: unknown;
}

/** An answer a node gives instead of its normal one: a status, a raw body and its content type. */
export interface RawAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

export interface FakeWcsRestOptions {
  /** The node whose sessions it holds. */
  readonly node: FakeWcs;
  /** Loopback address to listen on (each fake node its own). Default 127.0.0.1. */
  readonly host?: string;
  /** Port to listen on: 8081 serves a node at its default URL, `http://<ip>:8081/rest-api`. Default: a free one. */
  readonly port?: number;
  /** Required HTTP Basic credentials. Default: none (WCS's default, no REST auth). */
  readonly credentials?: { readonly username: string; readonly password: string };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** The JSON object a request carries; `{}` for an empty body (WCS allows one for `find_all`). */
async function readJsonOrEmpty(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  const parsed: unknown = text ? JSON.parse(text) : {};
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

/**
 * A path the REST API does not have: WCS's embedded web server answers with its HTML error page,
 * not with a REST finder's plain "not found".
 */
function answerUnknownPath(response: ServerResponse): void {
  const page =
    '<html><head><title>Error 404 Not Found</title></head><body><h2>HTTP ERROR 404 Not Found</h2></body></html>';
  response.writeHead(404, {
    'content-type': 'text/html;charset=iso-8859-1',
    'content-length': Buffer.byteLength(page),
  });
  response.end(page);
}

export class FakeWcsRest {
  /** Every accepted `/data/send`, in arrival order. */
  readonly received: ReceivedData[] = [];
  /** Every request, accepted or not. */
  requests = 0;
  /** `/connection/find_all` requests. */
  findAllRequests = 0;
  /** The body of every well-formed `/data/send` request, accepted or not, in arrival order. */
  readonly attempts: ReceivedData[] = [];
  /** The most requests in flight at once. */
  maxInFlight = 0;
  /** Delay before answering, in ms. */
  delayMs = 0;
  /** Requests to `stream/*`, by path (`/rest-api/stream/find`, ...). */
  readonly streamRequests = new Map<string, number>();
  /**
   * How `stream/*` and `connection/find_all` requests are answered: `normal`; `garbage` (200 with a body that is not JSON);
   * `error` (500); `legacy`, as a WCS before 5.2.923, which refuses `display` in `stream/find` (400).
   */
  streamAnswers: 'normal' | 'garbage' | 'error' | 'legacy' = 'normal';
  /**
   * A node that lies, stalls or answers garbage: for each `stream/*` and `connection/find_all`
   * request, its path in, a raw answer, `'hang'` (never answer, until the server closes) or
   * `undefined` (answer normally) out.
   */
  override: ((path: string) => RawAnswer | 'hang' | undefined) | undefined;
  private inFlight = 0;
  private failures: number[] = [];
  private server: Server | undefined;
  private readonly options: FakeWcsRestOptions;

  constructor(options: FakeWcsRestOptions) {
    this.options = options;
  }

  /** Answers the next requests with these statuses (e.g. `[503, 503]`), then normally again. */
  failNext(...statuses: number[]): void {
    this.failures.push(...statuses);
  }

  /** The REST base URL, e.g. `http://127.0.0.2:41234/rest-api`. */
  url = '';

  async start(): Promise<this> {
    const host = this.options.host ?? '127.0.0.1';
    this.server = createServer(async (request, response) => {
      this.requests++;
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      try {
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        const answer = (status: number, body = '') => {
          response.writeHead(status, {
            'content-length': Buffer.byteLength(body),
            ...(body && { 'content-type': 'text/plain' }),
          });
          response.end(body);
        };
        const { credentials } = this.options;
        if (credentials) {
          const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
          if (request.headers.authorization !== expected) return answer(401, 'Unauthorized');
        }
        const overridden =
          request.method === 'POST' &&
          (request.url === '/rest-api/connection/find_all' || request.url?.startsWith('/rest-api/stream/'))
            ? this.override?.(request.url ?? '')
            : undefined;
        if (overridden === 'hang') return await new Promise<void>(() => undefined);
        if (overridden) {
          if (request.url === '/rest-api/connection/find_all') this.findAllRequests++;
          else
            this.streamRequests.set(request.url ?? '', (this.streamRequests.get(request.url ?? '') ?? 0) + 1);
          response.writeHead(overridden.status, {
            'content-type': overridden.contentType ?? 'application/json',
            'content-length': Buffer.byteLength(overridden.body),
          });
          return response.end(overridden.body);
        }
        if (request.method === 'POST' && request.url === '/rest-api/connection/find_all') {
          this.findAllRequests++;
          if (this.streamAnswers === 'garbage') {
            response.writeHead(200, { 'content-type': 'application/json' });
            return response.end('{"sessionId": ');
          }
          if (this.streamAnswers === 'error') return answer(500, 'Internal error');
          const connections = [...this.options.node.heldSessions].map((sessionId) => ({
            sessionId,
            appKey: this.options.node.appKey,
            nodeId: this.options.node.nodeId,
          }));
          // Reference §4: finders answer 200 with a JSON list (404 "not found" when it would be empty).
          if (connections.length === 0) return answer(404, 'Connections not found');
          response.writeHead(200, { 'content-type': 'application/json' });
          return response.end(JSON.stringify(connections));
        }
        if (request.method === 'POST' && request.url?.startsWith('/rest-api/stream/'))
          return this.answerStreams(request.url, await readJsonOrEmpty(request), answer, response);
        if (request.method !== 'POST' || request.url !== '/rest-api/data/send')
          return answerUnknownPath(response);
        const failure = this.failures.shift();
        const body = (await readJson(request)) as ReceivedData;
        this.attempts.push(body);
        if (failure !== undefined) return answer(failure, 'Internal error');
        if (!this.options.node.heldSessions.has(body.sessionId)) return answer(404, 'Session not found');
        this.received.push(body);
        answer(200);
      } catch {
        response.writeHead(400).end('Bad request');
      } finally {
        this.inFlight--;
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(this.options.port ?? 0, host, resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://${host}:${port}/rest-api`;
    return this;
  }

  /**
   * `stream/find_all` (every live stream; 404 "Streams not found" when none), `stream/find` (by
   * `mediaSessionId`, `name`, `published`, `status`; with `display: ["metrics"]` each stream carries
   * its `metrics`; 404 "Stream not found"), `stream/metrics` (`{mediaSessionId}`: the metrics; 404).
   */
  private answerStreams(
    path: string,
    body: Record<string, unknown>,
    answer: (status: number, body?: string) => void,
    response: ServerResponse,
  ): unknown {
    this.streamRequests.set(path, (this.streamRequests.get(path) ?? 0) + 1);
    if (this.streamAnswers === 'garbage') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end('[{"mediaSessionId": "trunc');
    }
    if (this.streamAnswers === 'error') return answer(500, 'Internal error');
    const json = (value: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    const streams = [...this.options.node.liveStreams.values()];
    const view = (s: (typeof streams)[number], metrics: boolean) => {
      const { metrics: values, ...stream } = s;
      return { ...stream, ...(metrics && { metrics: values }) };
    };
    if (path === '/rest-api/stream/find_all') {
      return streams.length === 0
        ? answer(404, 'Streams not found')
        : json(streams.map((s) => view(s, false)));
    }
    if (path === '/rest-api/stream/find') {
      const display = Array.isArray(body.display) ? body.display : [];
      if (this.streamAnswers === 'legacy' && display.length > 0) return answer(400, 'Bad request');
      const found = streams.filter(
        (s) =>
          (body.mediaSessionId === undefined || s.mediaSessionId === body.mediaSessionId) &&
          (body.name === undefined || s.name === body.name) &&
          (body.published === undefined || s.published === body.published) &&
          (body.status === undefined || s.status === body.status),
      );
      return found.length === 0
        ? answer(404, 'Stream not found')
        : json(found.map((s) => view(s, display.includes('metrics'))));
    }
    if (path === '/rest-api/stream/metrics') {
      const stream = streams.find((s) => s.mediaSessionId === body.mediaSessionId);
      return stream ? json(stream.metrics) : answer(404, 'Stream not found');
    }
    return answerUnknownPath(response);
  }

  /** What `sessionId` received, in order. */
  receivedBy(sessionId: string): ReceivedData[] {
    return this.received.filter((r) => r.sessionId === sessionId);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
