/**
 * The local HTTP server: `POST /hooks/{method}` for every hook, answered by the handler the
 * registry names for it, exactly as API Gateway routes it in AWS (a dedicated route per handler, the
 * catch-all `POST /hooks/{method}` for the rest).
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { join } from 'node:path';
import type {
  Context,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { atSimulatedTime } from '#shared/kernel/clock.ts';
import { setting } from '#shared/kernel/config.ts';
import { originAllowed } from '#shared/kernel/origins.ts';
import {
  FUNCTIONS,
  findHook,
  type HandlerName,
  HOOKS_PATH,
  REALMS,
  type ServiceFunctionName,
  type TableName,
} from '#shared/kernel/registry.ts';
import { grantsOf, runAsFunction } from '#shared/store/access.ts';
import { STREAMED_TABLES, streamedTableEnv, TABLES, USAGE_SOURCE_TABLES } from '#shared/store/tables.ts';
import { concurrentInvokeStore } from './invocations.ts';
import {
  type LambdaHandler,
  localContext,
  readBody,
  toHttpApiEvent,
  writeJson,
  writeResult,
} from './lambda-adapter.ts';
import { localLogger as logger } from './local-logger.ts';
import { BadSimulatedTimeError, SIMULATED_TIME_HEADER, simulatedTimeOf } from './simulated-clock.ts';
import { localTls } from './tls.ts';
import { createWebSocketApi, type LocalWebSocketApi, routeUpgrades } from './websocket-api.ts';

/**
 * The live console (`shared/realtime/console/index.html`) and the STOMP client and charting library it
 * loads. `GET /console` serves the same page self-contained, as in AWS (`functions/realm-api.ts`).
 */
const STATIC_FILES: Readonly<Record<string, { file: URL; type: string }>> = {
  '/': {
    file: new URL('../../shared/realtime/console/index.html', import.meta.url),
    type: 'text/html; charset=utf-8',
  },
  '/dashboard': {
    file: new URL('../../shared/realtime/console/index.html', import.meta.url),
    type: 'text/html; charset=utf-8',
  },
  // The browser example of docs/endpoints.md: a chat through an endpoint's relay logic.
  '/examples/endpoint-chat.html': {
    file: new URL('../../docs/examples/endpoint-chat.html', import.meta.url),
    type: 'text/html; charset=utf-8',
  },
  '/static/stomp.umd.min.js': {
    file: new URL('../../node_modules/@stomp/stompjs/bundles/stomp.umd.min.js', import.meta.url),
    type: 'text/javascript; charset=utf-8',
  },
  // The console's charts (uPlot), from node_modules: no CDN, so the page works offline.
  '/static/uPlot.iife.min.js': {
    file: new URL('../../node_modules/uplot/dist/uPlot.iife.min.js', import.meta.url),
    type: 'text/javascript; charset=utf-8',
  },
  '/static/uPlot.min.css': {
    file: new URL('../../node_modules/uplot/dist/uPlot.min.css', import.meta.url),
    type: 'text/css; charset=utf-8',
  },
};

/** `segment` with its %-escapes decoded; `undefined` for a malformed escape (`%`, `%zz`): no such route. */
function decodedOrUndefined(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The API routes served beside the hooks, and their functions. */
const API_ROUTES: Readonly<Record<string, ServiceFunctionName>> = {
  'POST /api/data/send': 'data-send-api',
  'GET /console': 'realm-api',
  ...Object.fromEntries(REALMS.map((realm) => [`POST ${realm}`, 'realm-api' as const])),
};

export type HookHandlers = Readonly<
  Record<HandlerName | ServiceFunctionName, (event: never, context: never) => Promise<unknown>>
>;

/**
 * How this process runs the invocations of its functions, where several run at once and Lambda runs
 * one per environment: each in the runtime's `InvokeStore`, as Lambda Managed Instances run
 * concurrent invocations (`invocations.ts`: its own log keys and Lambda context), with metrics of
 * its own (`withOwnMetrics`), and with its function's grants (`shared/store/access.ts`).
 */
interface InvocationScope {
  /** Runs one invocation of function `name` (its grants read once, here). */
  of(name: HandlerName | ServiceFunctionName): <T>(requestId: string, work: () => Promise<T>) => Promise<T>;
  /**
   * Runs a function's initialization (its module's import) in a scope of its own, as the init phase
   * runs before any invocation: what a module sets in the store at load (Powertools' batch processor
   * does) is not written outside any invocation, where the store refuses it.
   */
  init<T>(work: () => Promise<T>): Promise<T>;
}
let madeScope: Promise<InvocationScope> | undefined;
function invocationScope(): Promise<InvocationScope> {
  madeScope ??= makeInvocationScope();
  return madeScope;
}
async function makeInvocationScope(): Promise<InvocationScope> {
  const { InvokeStoreBase } = await import('@aws/lambda-invoke-store');
  const store = await concurrentInvokeStore();
  const { metrics } = await import('#shared/kernel/metrics.ts');
  return {
    of: (name) => {
      const grants = grantsOf(FUNCTIONS[name]);
      return (requestId, work) =>
        store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, () =>
          metrics.withOwnMetrics(() => runAsFunction(name, grants, work)),
        );
    },
    init: (work) => store.run({}, work),
  };
}

/**
 * Imports every function in `functions/`, as each Lambda function would at its cold start. Each
 * invocation runs in a scope of its own (`invocationScope`): its own log keys and metrics, and its
 * function's grants: a DynamoDB call its registry entry does not declare fails with
 * AccessDeniedException, as IAM refuses it in AWS.
 */
export async function loadHookHandlers(): Promise<HookHandlers> {
  const scope = await invocationScope();
  const entries = await Promise.all(
    (Object.keys(FUNCTIONS) as (HandlerName | ServiceFunctionName)[]).map(async (name) => {
      const module = (await scope.init(() => import(`../../functions/${name}.ts`))) as {
        handler: (event: never, context: Context) => Promise<unknown>;
      };
      const invoke = scope.of(name);
      const handler = (event: never, context: Context) =>
        invoke(context.awsRequestId, () => module.handler(event, context));
      return [name, handler] as const;
    }),
  );
  return Object.fromEntries(entries) as unknown as HookHandlers;
}

/**
 * How long an idle keep-alive connection stays open. Longer than any client keeps one for reuse
 * (Java's HttpURLConnection, which WCS sends hooks with, keeps them 5 s; undici 4 s): with Node's
 * default of 5 s, a client reusing a connection just as the server closes it gets ECONNRESET.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** The HTTP server (HTTPS with `localTls()`) that serves `handlers`; not yet listening. */
export function createHookServer(handlers: HookHandlers): Server {
  const hookBodyLimitBytes = setting('HOOK_BODY_LIMIT_BYTES');
  const clockAllowed = setting('SIMULATED_CLOCK') === 'allow';
  let clockHeaderIgnored = false;
  const tls = localTls();
  const listener = async (request: IncomingMessage, response: ServerResponse) => {
    try {
      const { pathname } = new URL(request.url ?? '/', 'http://localhost');
      if (pathname === '/health') return writeJson(response, 200, { status: 'ok' });
      const asset = STATIC_FILES[pathname];
      if (asset && request.method === 'GET') {
        const body = await readFile(asset.file);
        response.writeHead(200, {
          'content-type': asset.type,
          'content-length': body.length,
          'cache-control': 'no-cache',
        });
        return response.end(body);
      }
      if (pathname.startsWith('/api/') && corsPreflight(request, response)) return;
      const apiFunction =
        API_ROUTES[`${request.method} ${pathname}`] ??
        (pathname === '/api/endpoints' || pathname.startsWith('/api/endpoints/')
          ? 'endpoints-api'
          : undefined);
      if (apiFunction) {
        const body = await readBody(request);
        if (body === undefined)
          return writeJson(response, 413, { error: 'PayloadTooLarge', message: 'body exceeds 10 MB' });
        const event = toHttpApiEvent(request, body, { routeKey: `${request.method} ${pathname}` });
        const api = handlers[apiFunction] as unknown as LambdaHandler;
        return writeResult(response, await api(event, localContext(`wcs-hooks-${apiFunction}`)));
      }
      const match = /^\/hooks\/([^/]+)$/.exec(pathname);
      const method = match?.[1] ? decodedOrUndefined(match[1]) : undefined;
      const hook = method === undefined ? undefined : findHook(method);
      if (!method || !hook) {
        return writeJson(response, 404, {
          error: 'NotFound',
          message: `no hook at ${pathname}; hooks are POST ${HOOKS_PATH}/{method}`,
        });
      }
      if (request.method !== 'POST') {
        response.setHeader('allow', 'POST');
        return writeJson(response, 405, {
          error: 'MethodNotAllowed',
          message: 'WCS sends every hook as POST',
        });
      }
      // Read no more of a hook than its function would accept: nothing buffers megabytes an
      // unsigned client sends before the signature is even checked.
      const declared = Number(request.headers['content-length'] ?? 0);
      const body = declared > hookBodyLimitBytes ? undefined : await readBody(request, hookBodyLimitBytes);
      if (body === undefined) {
        response.setHeader('connection', 'close');
        return writeJson(response, 413, {
          error: 'PayloadTooLarge',
          message: `body exceeds ${hookBodyLimitBytes} bytes (HOOK_BODY_LIMIT_BYTES)`,
          details: { limitBytes: hookBodyLimitBytes },
        });
      }
      const routeKey =
        hook.handler === 'echo' ? `POST ${HOOKS_PATH}/{method}` : `POST ${HOOKS_PATH}/${method}`;
      const event = toHttpApiEvent(request, body, { routeKey, pathParameters: { method } });
      const hookHandler = handlers[hook.handler] as unknown as LambdaHandler;
      const handle = () => hookHandler(event, localContext(`wcs-hooks-${hook.handler}`));
      let at: Date | undefined;
      if (clockAllowed) {
        try {
          at = simulatedTimeOf(request);
        } catch (error) {
          if (!(error instanceof BadSimulatedTimeError)) throw error;
          return writeJson(response, 400, { error: 'BadRequest', message: error.message });
        }
      } else if (request.headers[SIMULATED_TIME_HEADER] !== undefined && !clockHeaderIgnored) {
        clockHeaderIgnored = true;
        logger.warn(
          `${SIMULATED_TIME_HEADER} ignored: hooks are stamped on arrival unless SIMULATED_CLOCK=allow`,
        );
      }
      // Said back, so that a simulator finds out when its times are not applied.
      if (at) response.setHeader(SIMULATED_TIME_HEADER, 'applied');
      writeResult(response, await (at ? atSimulatedTime(at, handle) : handle()));
    } catch (error) {
      // A client that left (reset, or closed mid-body) has nobody to answer: its business, not an error.
      if (request.destroyed && !response.headersSent) {
        logger.debug('client left before its answer', { error: (error as Error).message });
        return void response.destroy();
      }
      logger.error('local server failed to answer', error as Error);
      if (!response.headersSent)
        writeJson(response, 500, { error: 'InternalError', message: 'the local server failed' });
      else response.destroy();
    }
  };
  // An https.Server has the http.Server's API (and upgrades) over TLS.
  const server = tls ? (createTlsServer(tls, listener) as unknown as Server) : createServer(listener);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
  return server;
}

/**
 * CORS on the operator API, as the HTTP API's CORS configuration answers in AWS: an allowed origin
 * (`ALLOWED_ORIGINS`, or the API's own) gets `access-control-allow-origin` on every answer, and a
 * preflight (`OPTIONS`) is answered here, 204; any other origin gets no CORS headers, so its browser
 * refuses the answer. True when the request was answered.
 */
function corsPreflight(request: IncomingMessage, response: ServerResponse): boolean {
  const origin = request.headers.origin;
  const allowed = origin !== undefined && originAllowed(origin, request.headers.host);
  if (allowed) {
    response.setHeader('access-control-allow-origin', origin);
    response.setHeader('vary', 'origin');
  }
  if (request.method !== 'OPTIONS') return false;
  if (allowed) {
    response.setHeader('access-control-allow-methods', 'GET, POST, PUT, DELETE, OPTIONS');
    response.setHeader('access-control-allow-headers', 'authorization, content-type, x-requested-with');
    response.setHeader('access-control-max-age', '600');
  }
  response.writeHead(204).end();
  return true;
}

/**
 * Runs the node poller function (`functions/node-poller.ts`) as EventBridge Scheduler runs it in
 * AWS: the same handler, with its grants, every few seconds (each run polls the nodes that are due,
 * for as long as the next run is away). Returns a stop function.
 */
function startLocalPoller(handlers: HookHandlers): () => Promise<void> {
  const tickMs = Math.min(setting('NODE_POLL_INTERVAL_S') * 1000, 5000);
  const poller = handlers['node-poller'] as unknown as (
    event: unknown,
    context: { getRemainingTimeInMillis(): number },
  ) => Promise<unknown>;
  let running = true;
  let wake: () => void = () => undefined;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        await poller(
          { source: 'local.scheduler' },
          { ...localContext('wcs-hooks-node-poller'), getRemainingTimeInMillis: () => tickMs + 10_000 },
        );
      } catch (error) {
        logger.warn('node poller run failed; the next run tries again', { error: (error as Error).message });
      }
      const wait = Math.max(0, tickMs - (Date.now() - started));
      if (running)
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, wait);
        });
    }
  })();
  return async () => {
    running = false;
    wake();
    // A run in progress stops between nodes and writes, its requests ended: a stop is prompt.
    const { stopPollerRuns } = await import('#shared/monitoring/poller.ts');
    stopPollerRuns();
    await loop;
  };
}

/**
 * Runs the sender function on the local queue, as Lambda's SQS event source runs it on SQS: the
 * same handler, batches of up to 10, partial failures retried, a dead-letter queue after
 * `maxReceiveCount`. Returns a stop function.
 */
async function startLocalSender(
  handlers: HookHandlers,
  options: { maxReceiveCount?: number; visibilityMs?: number } = {},
): Promise<() => Promise<void>> {
  const { LocalQueue, startQueueConsumer } = await import('#shared/store/local-queue.ts');
  const { LOCAL_SEND_QUEUE } = await import('#shared/sender/send-queue.ts');
  const sender = handlers.sender as unknown as (
    event: SQSEvent,
    context: Context,
  ) => Promise<SQSBatchResponse>;
  return startQueueConsumer({
    queue: new LocalQueue(process.env.LOCAL_QUEUE_TABLE as string),
    queueName: LOCAL_SEND_QUEUE,
    handler: (event) => sender(event, localContext('wcs-hooks-sender')),
    ...options,
  });
}

/**
 * Replays the local spill (`SPILL_DIR`): event hooks that could not be written while DynamoDB was
 * down reach the tables once it is back. A pass that found work is followed at once by the next
 * (hooks spilled meanwhile); otherwise the next waits `intervalMs`. While a backlog drains, its
 * progress is logged every `SPILL_DRAIN_LOG_INTERVAL_S`: lines left, rate, estimated time. Returns a
 * stop function: it lets the hooks under way finish (their progress is kept) and starts no other.
 */
function startSpillDrainer(dir: string, intervalMs = 1000): () => Promise<void> {
  const stopping = new AbortController();
  const loop = (async () => {
    const { DrainProgress, drainLocalSpill } = await import('#shared/http/spill.ts');
    const { replaySpilled } = await import('#shared/http/replay.ts');
    const { isDependencyFailure } = await import('#shared/kernel/budget.ts');
    const { metrics } = await import('#shared/kernel/metrics.ts');
    const asReplayer = (await invocationScope()).of('spill-replayer');
    const progress = new DrainProgress();
    const reporter = reportDrainProgress(dir, progress);
    try {
      while (!stopping.signal.aborted) {
        let found = false;
        try {
          // The drain is the spill replayer function's work in AWS: with its grants.
          // ... and its metrics apart from the hooks', written at the end of each pass as the function does.
          const { replayed, deadLettered } = await asReplayer(randomUUID(), () =>
            drainLocalSpill(dir, replaySpilled, isDependencyFailure, {
              signal: stopping.signal,
              progress,
            }).finally(() => metrics.publishStoredMetrics()),
          );
          found = replayed + deadLettered > 0;
          if (replayed > 0) logger.info('replayed spilled hooks', { replayed });
          if (deadLettered > 0)
            logger.error('spilled hooks that can never be written were moved to the dead-letter file', {
              deadLettered,
              file: `${dir}/dead-letter.jsonl`,
            });
        } catch (error) {
          logger.warn('spilled hooks wait for the database', { error: (error as Error).message });
        }
        if (!found && !stopping.signal.aborted)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, intervalMs);
            stopping.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve();
            });
          });
      }
    } finally {
      clearInterval(reporter);
    }
  })();
  return async () => {
    stopping.abort();
    await loop;
  };
}

/**
 * Logs the drain's progress every `SPILL_DRAIN_LOG_INTERVAL_S` while there is a backlog: lines
 * left (those of the file being drained, and those of the files after it and spilled since,
 * estimated from their size), the rate since the last report, and the time left at that rate.
 */
function reportDrainProgress(
  dir: string,
  progress: import('#shared/http/spill.ts').DrainProgress,
): ReturnType<typeof setInterval> {
  const intervalS = setting('SPILL_DRAIN_LOG_INTERVAL_S');
  let finishedBefore = progress.finished;
  const timer = setInterval(() => {
    const finished = progress.finished - finishedBefore;
    finishedBefore = progress.finished;
    let liveBytes = 0;
    try {
      liveBytes = statSync(join(dir, 'spill.jsonl')).size;
    } catch {
      // No hook spilled since the last pass.
    }
    const waitingBytes = progress.unreadBytes + liveBytes;
    const spilledSince = progress.meanLineBytes > 0 ? Math.round(waitingBytes / progress.meanLineBytes) : 0;
    const left = progress.pending + spilledSince;
    if (left === 0 && finished === 0) return;
    const perSecond = finished / intervalS;
    logger.info('draining the spill', {
      linesLeft: left,
      linesPerSecond: Math.round(perSecond),
      secondsLeft: perSecond > 0 ? Math.ceil(left / perSecond) : null,
    });
  }, intervalS * 1000);
  timer.unref();
  return timer;
}

/**
 * A stream consumer function and the physical names of the tables whose streams feed it, each also
 * set as `<ENV_VAR>_NAME`, the variable the CDK stack gives the consumer to tell the tables apart.
 */
function streamConsumer(
  handlers: HookHandlers,
  name: 'realtime-streams' | 'usage-streams',
  tables: readonly TableName[],
) {
  const watched = tables.map((table) => {
    const physical = process.env[TABLES[table].envVar] as string;
    process.env[streamedTableEnv(table)] = physical;
    return physical;
  });
  const consumer = handlers[name] as unknown as (
    event: DynamoDBStreamEvent,
    context: Context,
  ) => Promise<DynamoDBBatchResponse>;
  return { watched, consumer };
}

/**
 * The realtime API (`/ws`, STOMP): the realtime functions behind the local stand-in for API
 * Gateway's WebSocket API, and the stream consumer fed by tailing DynamoDB Local's streams, as
 * Lambda's event source feeds it in AWS. The environment the CDK stack gives those functions is set
 * here the same way.
 */
async function startRealtime(
  handlers: HookHandlers,
  endpoint: string,
): Promise<{ api: LocalWebSocketApi; stop: () => Promise<void> }> {
  const { startStreamTailer } = await import('./stream-tailer.ts');
  const { watched, consumer } = streamConsumer(handlers, 'realtime-streams', STREAMED_TABLES);
  // The tables' streams are tailed only while a client is connected: with nobody to tell, an idle
  // runtime makes no request for them (Lambda's event source costs nothing idle either). A client
  // that connects starts the tailer; the last one to leave stops it, a little later.
  let stopTailer: (() => Promise<void>) | undefined;
  let stopping: Promise<void> | undefined;
  let linger: ReturnType<typeof setTimeout> | undefined;
  const onOpenConnections = (count: number) => {
    if (count > 0) {
      clearTimeout(linger);
      linger = undefined;
      stopTailer ??= startStreamTailer(endpoint, watched, (records) =>
        consumer({ Records: records }, localContext('wcs-hooks-realtime-streams')),
      );
    } else if (stopTailer && !linger) {
      linger = setTimeout(() => {
        const stop = stopTailer;
        stopTailer = undefined;
        linger = undefined;
        stopping = stop?.();
      }, TAIL_LINGER_MS);
    }
  };
  const api = await createWebSocketApi(
    'realtime',
    {
      connect: handlers['realtime-connect'] as never,
      message: handlers['realtime-message'] as never,
      disconnect: handlers['realtime-disconnect'] as never,
    },
    { onOpenConnections },
  );
  process.env.REALTIME_ENDPOINT = api.endpoint;
  return {
    api,
    stop: async () => {
      clearTimeout(linger);
      await stopTailer?.();
      await stopping;
      await api.close();
    },
  };
}

/**
 * The usage consumer (`functions/usage-streams.ts`) fed by tailing DynamoDB Local's streams of the
 * sessions, streams, data messages and counters tables, as Lambda's event source feeds it in AWS.
 * Always on: usage is kept whether or not anyone watches; idle, it asks the streams every 30 s, and
 * at once again when a request comes in. It reads each stream from its start
 * (DynamoDB Local keeps 24 hours): the usage of changes made before a restart is applied again,
 * which changes nothing, and none made while it was stopping is lost.
 */
async function startUsage(
  handlers: HookHandlers,
  endpoint: string,
): Promise<(() => Promise<void>) & { wake(): void }> {
  const { startStreamTailer } = await import('./stream-tailer.ts');
  const { watched, consumer } = streamConsumer(handlers, 'usage-streams', USAGE_SOURCE_TABLES);
  return startStreamTailer(
    endpoint,
    watched,
    (records) => consumer({ Records: records }, localContext('wcs-hooks-usage-streams')),
    200,
    { fromStart: true, idleIntervalMs: USAGE_IDLE_INTERVAL_MS },
  );
}

/** Idle (no change, no request), the usage tailer asks the streams this often. */
const USAGE_IDLE_INTERVAL_MS = 30_000;

/** The endpoints API (`/ws/<code>`): the endpoint functions behind the local stand-in for API Gateway. */
async function startEndpoints(handlers: HookHandlers): Promise<LocalWebSocketApi> {
  const api = await createWebSocketApi('endpoints', {
    connect: handlers['endpoint-connect'] as never,
    message: handlers['endpoint-message'] as never,
    disconnect: handlers['endpoint-disconnect'] as never,
  });
  process.env.ENDPOINTS_ENDPOINT = api.endpoint;
  return api;
}

/** How long the tables' streams are still tailed after the last realtime client left. */
const TAIL_LINGER_MS = 10_000;

export interface LocalRuntimeOptions {
  /** Run the sender on the local send queue; an object sets its redrive. Default true. */
  readonly sender?: boolean | { maxReceiveCount?: number; visibilityMs?: number };
  /** Replay the local spill (`SPILL_DIR`) every this many ms; 0 turns it off. Default 1000. */
  readonly drainSpillEveryMs?: number;
  /** Serve the realtime API at `/ws`, fed by DynamoDB Local's streams. Default true. */
  readonly realtime?: boolean;
  /** Serve the endpoints API at `/ws/<code>` (WebSocket endpoints for user agents). Default true. */
  readonly endpoints?: boolean;
  /** Run the node poller on a timer, as EventBridge Scheduler does in AWS. Default true. */
  readonly poller?: boolean;
  /** Keep the usage aggregates from the tables' streams (`functions/usage-streams.ts`). Default true. */
  readonly usage?: boolean;
}

export interface LocalRuntime {
  readonly server: Server;
  /** Stops everything the runtime started (the server is closed by its owner). */
  stop(): Promise<void>;
}

/**
 * The whole local runtime around one HTTP server, as `npm start` runs it and the tests start it:
 * the hook and API functions, the sender on the local queue, the spill drainer, the realtime API.
 * Not yet listening. Reads its configuration from the environment, which must be set before.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  // Locally, an endpoint's logic may be a module of the working directory (in AWS, a Lambda function).
  process.env.ENDPOINT_MODULE_DIR ??= process.cwd();
  const handlers = await loadHookHandlers();
  const server = createHookServer(handlers);
  const sender = options.sender ?? true;
  const stopSender = sender
    ? await startLocalSender(handlers, typeof sender === 'object' ? sender : {})
    : async () => undefined;
  const drainEvery = options.drainSpillEveryMs ?? 1000;
  const stopDrainer =
    drainEvery > 0 && process.env.SPILL_DIR
      ? startSpillDrainer(process.env.SPILL_DIR, drainEvery)
      : async () => undefined;
  const realtime =
    (options.realtime ?? true)
      ? await startRealtime(handlers, process.env.DYNAMODB_ENDPOINT as string)
      : undefined;
  const endpoints = (options.endpoints ?? true) ? await startEndpoints(handlers) : undefined;
  routeUpgrades(server, { realtime: realtime?.api, endpoints });
  const stopPoller = (options.poller ?? true) ? startLocalPoller(handlers) : async () => undefined;
  const usage =
    (options.usage ?? true) ? await startUsage(handlers, process.env.DYNAMODB_ENDPOINT as string) : undefined;
  // A request (a hook, a send) may change the tables: the usage tailer looks at once.
  if (usage) server.on('request', () => usage.wake());
  const stopUsage = usage ?? (async () => undefined);
  return {
    server,
    stop: async () => {
      await stopPoller();
      await stopUsage();
      await stopSender();
      await stopDrainer();
      await realtime?.stop();
      await endpoints?.close();
      const { closeWcsClient } = await import('#shared/sender/wcs-client.ts');
      await closeWcsClient();
    },
  };
}
