/**
 * `npm start`: the whole backend on this machine. Starts DynamoDB Local (unless DYNAMODB_ENDPOINT
 * names one), creates the tables, serves every hook at `POST /hooks/{method}` with the same handler
 * code that runs in Lambda, and prints the URL to give WCS. SIGINT or SIGTERM stops everything,
 * DynamoDB Local's Java process included.
 */
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setting } from '#shared/kernel/config.ts';
import { HOOKS_PATH } from '#shared/kernel/registry.ts';
import { killAllDynamoDbLocal, type RunningDynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.ts';
import { concurrentInvokeStore } from './invocations.ts';
import { localLogger } from './local-logger.ts';
import { ensureTables, exportTableNames } from './tables.ts';

// Before the first AWS SDK request (`invocations.ts`): the hooks run at once, each in its own scope.
await concurrentInvokeStore();
const env = process.env;
const port = setting('PORT');
const host = setting('HOST');
const tablePrefix = setting('TABLE_PREFIX');

function log(message: string) {
  process.stdout.write(`[wcs-hooks] ${message}\n`);
}

/** The addresses a WCS on another machine can reach this one at. */
function reachableAddresses(): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a?.address as string);
  return ['localhost', ...addresses];
}

let dynamoDbLocal: RunningDynamoDbLocal | undefined;
/** Set once the runtime is up; until then there is nothing of it to stop. */
let stopRuntime: (() => Promise<void>) | undefined;

// Installed before anything starts: a signal during start-up must stop DynamoDB Local too (a signal's
// default action would end Node without its 'exit' handlers, leaving the Java process behind).
const shutdown = async (signal: string) => {
  log(`${signal}: stopping`);
  await stopRuntime?.();
  await dynamoDbLocal?.stop();
  killAllDynamoDbLocal();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

/** Promise rejections nothing handled since the start (each logged). */
let unhandledRejections = 0;
// One process serves every hook, the operator API and every endpoint: a rejection nobody handled
// (most often an endpoint's module logic that did not await a call that failed) must not take them
// all down, as Node's default (exit) would. It is logged with its stack and counted, loudly: in
// the server's own code it is a bug to fix.
process.on('unhandledRejection', (reason) => {
  unhandledRejections++;
  localLogger.error(
    "a promise rejection was not handled; the server keeps running (a bug to fix: in an endpoint's module logic, await what it calls)",
    {
      unhandledRejections,
      reason: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
    },
  );
});

async function main() {
  // Credentials and Region are required by the SDK even though DynamoDB Local ignores them.
  env.AWS_REGION ??= 'local';
  env.AWS_ACCESS_KEY_ID ??= 'local';
  env.AWS_SECRET_ACCESS_KEY ??= 'local';
  // Event hooks that cannot be written (DynamoDB down) wait here, on disk, to be replayed.
  env.SPILL_DIR ??= '.data/spill';
  // EMF metrics only mean something to CloudWatch.
  env.POWERTOOLS_METRICS_DISABLED ??= 'true';

  // Configuration that cannot be honoured stops the start here, before DynamoDB Local starts.
  const { secretsFromEnvironment } = await import('#shared/http/secrets.ts');
  const { parseFailModes } = await import('#shared/http/fail-modes.ts');
  const { parseDefaultPolicy } = await import('#shared/state/app-policy.ts');
  const signed = secretsFromEnvironment(setting('WCS_HOOK_SECRET')).length > 0;
  parseFailModes(setting('DECISION_FAIL_MODES'));
  parseDefaultPolicy(setting('DEFAULT_APP_POLICY'));
  setting('NODE_DISCOVERY');
  const { parseAllowedOrigins } = await import('#shared/kernel/origins.ts');
  parseAllowedOrigins(setting('ALLOWED_ORIGINS'));
  const { localTls } = await import('./tls.ts');
  const secure = localTls() !== undefined;
  const http = secure ? 'https' : 'http';
  const ws = secure ? 'wss' : 'ws';
  // A port something else holds is said now, before DynamoDB Local and the tables are started for nothing.
  await portFree(port, host);

  if (!setting('DYNAMODB_ENDPOINT')) {
    const inMemory = setting('DYNAMODB_IN_MEMORY');
    const dataDir = inMemory ? undefined : setting('DATA_DIR');
    const dynamoPort = setting('DYNAMODB_LOCAL_PORT');
    log(`starting DynamoDB Local on port ${dynamoPort} (${dataDir ? `data in ${dataDir}` : 'in memory'})...`);
    dynamoDbLocal = await startDynamoDbLocal({ port: dynamoPort, dataDir });
    env.DYNAMODB_ENDPOINT = dynamoDbLocal.endpoint;
  }
  log(`DynamoDB at ${env.DYNAMODB_ENDPOINT}`);
  log(
    `polling the WCS nodes every ${setting('NODE_POLL_INTERVAL_S')} s (status, reconciliation, stream metrics by profile): ${
      setting('NODE_DISCOVERY') === 'registered'
        ? 'those registered with `npm run cli -- nodes put` (NODE_DISCOVERY=registered)'
        : setting('NODE_DISCOVERY') === 'any'
          ? 'those registered, and any that sends a hook from inside WCS_ALLOWED_NETWORKS (NODE_DISCOVERY=any)'
          : signed
            ? 'those registered, and those whose signed hooks vouch for them (NODE_DISCOVERY=signed)'
            : 'only those registered with `npm run cli -- nodes put` (hooks are not signed, so none vouches for its node: NODE_DISCOVERY=signed)'
    }`,
  );

  const client = new DynamoDBClient({ endpoint: env.DYNAMODB_ENDPOINT });
  const created = await ensureTables(client, tablePrefix);
  client.destroy();
  log(
    created.length > 0
      ? `created or updated tables: ${created.join(', ')}`
      : `tables ready (prefix ${tablePrefix})`,
  );
  exportTableNames(tablePrefix);

  // Imported only now: the handlers read their configuration (table names, endpoint) when loaded.
  const { startLocalRuntime } = await import('./hook-server.ts');
  // The realtime API admits only the operator token: without one there is nobody to serve, and
  // no reason to tail the tables' streams.
  const runtime = await startLocalRuntime({ realtime: Boolean(env.API_TOKEN), poller: true });
  const { server } = runtime;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  log(`serving WCS hooks; point a WCS app at one of:`);
  for (const address of reachableAddresses()) log(`  ${http}://${address}:${port}${HOOKS_PATH}`);
  log(`  e.g. in the WCS CLI: update app -l http://<this-host>:${port}${HOOKS_PATH} defaultApp`);
  log(
    signed
      ? 'hook signatures are verified (WCS_HOOK_SECRET is set)'
      : 'hook signatures are not verified (set WCS_HOOK_SECRET to require them)',
  );
  log(
    env.API_TOKEN
      ? `operator API at ${http}://localhost:${port}/api (Authorization: Bearer $API_TOKEN)`
      : 'operator API (/api/data/send, /api/endpoints) is closed: set API_TOKEN to open it',
  );
  log(
    env.API_TOKEN
      ? `realtime monitoring (STOMP): ${ws}://localhost:${port}/ws?token=$API_TOKEN, live page ${http}://localhost:${port}/?token=$API_TOKEN`
      : 'realtime monitoring (/ws) is off: set API_TOKEN to serve it',
  );
  log(
    `WebSocket endpoints for user agents: ${ws}://localhost:${port}/ws/<endpoint code>?token=<app token> (npm run cli -- endpoints put; docs/endpoints.md)`,
  );
  // The last line of the start: what scripts wait for before they read the lines above.
  log('ready (Ctrl-C stops it, DynamoDB Local too)');

  stopRuntime = async () => {
    server.close();
    server.closeAllConnections();
    await runtime.stop();
  };
}

/** Resolves when `port` of `host` can be listened on; otherwise fails naming `PORT`. */
function portFree(port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} of ${host} is already in use (another npm start?): set PORT to a free port`
            : `cannot listen on ${host}:${port} (${error.code ?? error.message}): set PORT and HOST`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

// Whatever ends this process, the Java child does not outlive it.
process.on('exit', killAllDynamoDbLocal);

main().catch(async (error: Error) => {
  process.stderr.write(`[wcs-hooks] could not start: ${error.message}\n`);
  await dynamoDbLocal?.stop();
  process.exit(1);
});
