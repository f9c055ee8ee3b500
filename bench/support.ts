/**
 * What the benchmarks share: the knobs, the report (a table per benchmark, printed and collected
 * for `bench/results.md`), load generation (autocannon), WCS-like hook bodies, and the servers a
 * benchmark runs against, each on a fresh DynamoDB Local of its own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort, startDynamoDbLocalWithTables } from '../infra/local/dynamodb-local.ts';
import { exportTableNames } from '../infra/local/tables.ts';

export const root = fileURLToPath(new URL('../', import.meta.url));
export const BENCH_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
export const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
export const FANOUT_SESSIONS = Number(process.env.FANOUT_SESSIONS ?? 10_000);
export const PREFIX = 'bench';
export const work = mkdtempSync(join(tmpdir(), 'wcs-hooks-bench-'));
/** The report so far: every table printed, for `bench/results.md`. */
export const report: string[] = [];

export const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);
export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
export const fmt = (n: number, digits = 1) => n.toFixed(digits);

/** Each table's target and how far it is met (its note that starts `Target:`, to the end of its first parenthesis). */
export const targets: { title: string; target: string }[] = [];

export function table(title: string, header: string[], rows: (string | number)[][], notes: string[] = []) {
  const target = notes.find((n) => n.startsWith('Target'));
  if (target) targets.push({ title, target: target.slice(0, target.indexOf(').') + 1 || undefined) });
  const lines = [
    `## ${title}`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    ...notes,
    ...(notes.length > 0 ? [''] : []),
  ];
  report.push(...lines);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function startChild(
  script: string,
  env: Record<string, string>,
  ready: (line: string) => boolean,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.split('\n').some(ready)) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}:\n${output}`)));
  });
}

export async function cannon(url: string, makeBody: () => unknown) {
  const result = await autocannon({
    url,
    connections: 10,
    duration: BENCH_SECONDS,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json;charset=UTF-8' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify(makeBody()) }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

export const NODE = `bench${randomUUID().slice(0, 20)}@127.0.0.1`;
export const ctx = (sessionId: string) => ({ nodeId: NODE, appKey: 'bench', sessionId });
export const connectBody = () => ({
  ...ctx(randomUUID()),
  mediaProviders: ['WebRTC'],
  clientVersion: '2.0.248',
  custom: {},
});
export const streamBody = (sessionId: string, status: string, published = true) => ({
  ...ctx(sessionId),
  mediaSessionId: randomUUID(),
  name: `stream-${randomUUID().slice(0, 8)}`,
  published,
  status,
  hasAudio: true,
  hasVideo: true,
  audioCodec: 'opus',
  videoCodec: 'H264',
  width: 640,
  height: 480,
  mediaProvider: 'WebRTC',
});

export async function post(base: string, method: string, body: unknown) {
  return (await postWithAnswer(base, method, body)).status;
}

/** A hook sent as WCS sends it: its status and its answer's text. */
export async function postWithAnswer(base: string, method: string, body: unknown) {
  const response = await fetch(`${base}/hooks/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

/**
 * Runs `work` on a fresh DynamoDB Local with the tables, stopped after. DynamoDB Local slows down a
 * lot as its tables fill (a run's writes make the next run several times slower), so every
 * measurement gets one of its own and no run weighs on another.
 */
export async function withFreshDynamo<T>(task: (endpoint: string) => Promise<T>): Promise<T> {
  const dynamo = await startDynamoDbLocalWithTables({ port: await freePort(), tablePrefix: PREFIX });
  try {
    return await task(dynamo.endpoint);
  } finally {
    await dynamo.stop();
  }
}

let processDynamo: Awaited<ReturnType<typeof startDynamoDbLocalWithTables>> | undefined;

/**
 * The fresh DynamoDB Local of the benchmarks that run in this process, started at the first call
 * (this process's DynamoDB client is made once, with its endpoint).
 */
export async function startDynamoDbForProcess(): Promise<string> {
  processDynamo ??= await startDynamoDbLocalWithTables({ port: await freePort(), tablePrefix: PREFIX });
  return processDynamo.endpoint;
}

export async function stopDynamoDbForProcess(): Promise<void> {
  await processDynamo?.stop();
  processDynamo = undefined;
}

/** Runs `task` against `script` (a server on a free port), started for it and stopped after. */
export async function withServer<T>(
  script: string,
  env: Record<string, string>,
  ready: (line: string) => boolean,
  task: (base: string, pid: number) => Promise<T>,
): Promise<T> {
  const port = await freePort();
  const child = await startChild(script, { ...env, PORT: String(port) }, ready);
  try {
    return await task(`http://127.0.0.1:${port}`, child.pid as number);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * The local runtime, as an operator runs it (`npm start`), on `endpoint`: with the realtime API
 * (`API_TOKEN` set) unless `realtime` is false, with `env` added to its environment.
 */
export const withRuntime = <T>(
  endpoint: string,
  task: (base: string, pid: number) => Promise<T>,
  { realtime = true, env = {} }: { realtime?: boolean; env?: Record<string, string> } = {},
) =>
  withServer(
    'infra/local/main.ts',
    {
      DYNAMODB_ENDPOINT: endpoint,
      HOST: '127.0.0.1',
      TABLE_PREFIX: PREFIX,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      SPILL_DIR: join(work, 'spill'),
      // With the realtime API, which tails the tables' streams while a client is connected.
      ...(realtime && { API_TOKEN: 'bench' }),
      ...env,
    },
    (line) => line.includes('[wcs-hooks] ready'),
    task,
  );

/** The baseline server (node:http + one PutItem per request) on `endpoint`. */
export const withBaseline = <T>(endpoint: string, task: (base: string) => Promise<T>) =>
  withServer(
    'bench/baseline-server.ts',
    {
      DYNAMODB_ENDPOINT: endpoint,
      TABLE: `${PREFIX}-events`,
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'l',
      AWS_SECRET_ACCESS_KEY: 'l',
    },
    (line) => line === 'ready',
    task,
  );

/** Opens 50 sessions (a decision needs a known session); picks one of them at random. */
export async function openSessions(base: string): Promise<() => string> {
  const sessions = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const body = connectBody();
      await post(base, 'connect', body);
      return body.sessionId;
    }),
  );
  return () => sessions[Math.floor(Math.random() * sessions.length)] as string;
}

/**
 * Points this process at `endpoint` as a deployed function is configured (tables, Region, no logs
 * or metrics), for the benchmarks that call the domain in-process. Once per process: the DynamoDB
 * client is made, with its endpoint, when it is first imported.
 */
export function configureInProcess(endpoint: string): void {
  Object.assign(process.env, {
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'l',
    AWS_SECRET_ACCESS_KEY: 'l',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    SPILL_DIR: join(work, 'spill-inproc'),
  });
  exportTableNames(PREFIX);
}

/** Whether valgrind is installed (the instruction-counting benchmarks are skipped without it). */
export function valgrindAvailable(): boolean {
  return spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** User-space instructions of one Node process run with `args` under valgrind; `what` names it in an error. */
export function nodeInstructions(args: readonly string[], env: Record<string, string>, what: string): number {
  const result = spawnSync(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      '--cachegrind-out-file=/dev/null',
      // V8 writes the machine code it runs: valgrind must see every such write.
      '--smc-check=all-non-file',
      process.execPath,
      ...args,
    ],
    { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const refs = /I\s+refs:\s+([\d,]+)/.exec(result.stderr)?.[1];
  if (result.status !== 0 || !refs)
    throw new Error(`valgrind run of ${what} failed (${result.status}): ${result.stderr.slice(-2000)}`);
  return Number(refs.replace(/,/g, ''));
}
