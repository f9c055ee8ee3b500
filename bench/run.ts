/**
 * `npm run bench`: what the backend costs and how fast it answers, each number against a baseline
 * measured in the same run, on this machine. Prints a table per part and writes `bench/results.md`.
 *
 *   1. cold start: each deployed bundle (as CDK builds it) vs a DocumentClient-and-one-Put reference
 *   2. hook throughput and latency on the local runtime vs a bare node:http server doing one PutItem
 *   3. write cost: the write units each hook consumes (ReturnConsumedCapacity)
 *   4. sender fan-out to 10,000 sessions vs a bare undici loop posting the same requests
 *   5. soak: mixed hooks from many simulated WCS sessions, errors and memory over time
 *
 * Knobs: BENCH_SECONDS (autocannon run per hook, default 10), SOAK_SECONDS (default 60),
 * FANOUT_SESSIONS (default 10000). No benchmark is a test, and no test asserts a time.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { Pool } from 'undici';
import { freePort, startDynamoDbLocalWithTables } from '../infra/local/dynamodb-local.ts';
import { exportTableNames } from '../infra/local/tables.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const BENCH_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const FANOUT_SESSIONS = Number(process.env.FANOUT_SESSIONS ?? 10_000);
const PREFIX = 'bench';
const work = mkdtempSync(join(tmpdir(), 'wcs-hooks-bench-'));
const report: string[] = [];

const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

function table(title: string, header: string[], rows: (string | number)[][], notes: string[] = []) {
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

// ---------------------------------------------------------------------------------------------
// 1. Cold start

async function coldStart() {
  progress('cold start: synthesizing the stack (bundles as CDK builds them)...');
  const { buildApp } = await import('../infra/build-app.ts');
  const { app, stack } = buildApp({ context: { stage: 'bench' } });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<
      string,
      { Type: string; Properties: { Description?: string; Code?: { S3Key?: string } } }
    >;
  };
  const bundles = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description?.startsWith('wcs-hooks '))
    .map((r) => ({
      name: String(r.Properties.Description?.slice('wcs-hooks '.length).split(':')[0]),
      file: join(
        assembly.directory,
        `asset.${String(r.Properties.Code?.S3Key).replace(/\.zip$/, '')}`,
        'index.mjs',
      ),
    }));

  const referenceFile = join(work, 'reference', 'index.mjs');
  await build({
    entryPoints: [join(root, 'bench/reference.ts')],
    outfile: referenceFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  exportTableNames(PREFIX, env);
  const importOnce = (file: string) => {
    const script = `const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); process.stdout.write(String(performance.now() - t));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env,
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`import of ${file} failed: ${result.stderr}`);
    return Number(result.stdout);
  };
  // Rounds, each importing the reference and then every bundle once: whatever slows the machine
  // down during the run (other work, CPU clocks) weighs on the reference as on the bundles, and
  // each ratio is the median of the ratios of the rounds.
  const ROUNDS = 9;
  progress(`cold start: importing ${bundles.length + 1} bundles, ${ROUNDS} rounds of fresh processes...`);
  const referenceMs: number[] = [];
  const bundleMs = bundles.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    referenceMs.push(importOnce(referenceFile));
    for (const [i, b] of bundles.entries()) bundleMs[i]?.push(importOnce(b.file));
  }
  const reference = { size: statSync(referenceFile).size, ms: median(referenceMs) };
  const rows = bundles.map((b, i) => {
    const size = statSync(b.file).size;
    const runs = bundleMs[i] ?? [];
    const msRatio = median(runs.map((ms, round) => ms / (referenceMs[round] ?? ms)));
    return { name: b.name, size, ms: median(runs), sizeRatio: size / reference.size, msRatio };
  });
  const sizeMet = rows.filter((r) => r.sizeRatio <= 1.25).length;
  const timeMet = rows.filter((r) => r.msRatio <= 1.15).length;
  const extras = await bundleExtras(['stream-status-event', 'connect', 'sender']);
  table(
    'Cold start',
    ['bundle', 'size (KiB)', 'size ratio', 'import (ms, median of 9)', 'import ratio (median of 9 rounds)'],
    [
      ['reference (DocumentClient + one Put)', fmt(reference.size / 1024), '1.00', fmt(reference.ms), '1.00'],
      ...rows.map((r) => [r.name, fmt(r.size / 1024), fmt(r.sizeRatio, 2), fmt(r.ms), fmt(r.msRatio, 2)]),
    ],
    [
      `Targets: import within 1.15x of the reference (met by ${timeMet} of ${rows.length}), size within 1.25x (met by ${sizeMet} of ${rows.length}).`,
      '',
      'What a bundle carries beyond the reference (esbuild metafile, minified bytes by package):',
      '',
      ...extras,
    ],
  );
}

/** For each entry, the packages it bundles that the reference does not, largest first. */
async function bundleExtras(entries: string[]): Promise<string[]> {
  const sizes = async (entry: string) => {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minify: true,
      mainFields: ['module', 'main'],
    });
    const by = new Map<string, number>();
    for (const output of Object.values(result.metafile.outputs)) {
      for (const [file, input] of Object.entries(output.inputs)) {
        const name = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? '(wcs-hooks code)';
        by.set(name, (by.get(name) ?? 0) + input.bytesInOutput);
      }
    }
    return by;
  };
  const reference = await sizes(join(root, 'bench/reference.ts'));
  const lines: string[] = [];
  for (const name of entries) {
    const mine = await sizes(join(root, `functions/${name}.ts`));
    const extra = [...mine.entries()]
      .map(([pkg, bytes]) => [pkg, bytes - (reference.get(pkg) ?? 0)] as const)
      .filter(([, bytes]) => bytes > 2048)
      .sort((a, b) => b[1] - a[1])
      .map(([pkg, bytes]) => `${pkg} ${fmt(bytes / 1024)} KiB`);
    lines.push(`- \`${name}\`: ${extra.join(', ')}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// 2. Throughput and latency, 5. soak

function startChild(
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

async function cannon(url: string, makeBody: () => unknown) {
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

const NODE = `bench${randomUUID().slice(0, 20)}@127.0.0.1`;
const ctx = (sessionId: string) => ({ nodeId: NODE, appKey: 'bench', sessionId });
const connectBody = () => ({
  ...ctx(randomUUID()),
  mediaProviders: ['WebRTC'],
  clientVersion: '2.0.248',
  custom: {},
});
const streamBody = (sessionId: string, status: string, published = true) => ({
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

async function post(base: string, method: string, body: unknown) {
  const response = await fetch(`${base}/hooks/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * Runs `work` on a fresh DynamoDB Local with the tables, stopped after. DynamoDB Local slows down a
 * lot as its tables fill (a run's writes make the next run several times slower), so every
 * measurement gets one of its own and no run weighs on another.
 */
async function withFreshDynamo<T>(task: (endpoint: string) => Promise<T>): Promise<T> {
  const dynamo = await startDynamoDbLocalWithTables({ port: await freePort(), tablePrefix: PREFIX });
  try {
    return await task(dynamo.endpoint);
  } finally {
    await dynamo.stop();
  }
}

/** Runs `task` against `script` (a server on a free port), started for it and stopped after. */
async function withServer<T>(
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

/** The local runtime, as an operator runs it (`npm start`, with the realtime API), on `endpoint`. */
const withRuntime = <T>(endpoint: string, task: (base: string, pid: number) => Promise<T>) =>
  withServer(
    'infra/local/main.ts',
    {
      DYNAMODB_ENDPOINT: endpoint,
      HOST: '127.0.0.1',
      TABLE_PREFIX: PREFIX,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      SPILL_DIR: join(work, 'spill'),
      // With the realtime API, which tails the tables' streams.
      API_TOKEN: 'bench',
    },
    (line) => line.includes('serving WCS hooks'),
    task,
  );

/** The baseline server (node:http + one PutItem per request) on `endpoint`. */
const withBaseline = <T>(endpoint: string, task: (base: string) => Promise<T>) =>
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
async function openSessions(base: string): Promise<() => string> {
  const sessions = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const body = connectBody();
      await post(base, 'connect', body);
      return body.sessionId;
    }),
  );
  return () => sessions[Math.floor(Math.random() * sessions.length)] as string;
}

async function throughput() {
  const endpoints = [
    ['connect', (base: string) => cannon(`${base}/hooks/connect`, connectBody)],
    [
      'StreamStatusEvent',
      async (base: string) => {
        const pick = await openSessions(base);
        return cannon(`${base}/hooks/StreamStatusEvent`, () => streamBody(pick(), 'PUBLISHING'));
      },
    ],
    [
      'OnDataEvent',
      async (base: string) => {
        const pick = await openSessions(base);
        return cannon(`${base}/hooks/OnDataEvent`, () => ({
          ...ctx(pick()),
          operationId: randomUUID(),
          payload: { text: 'hello' },
        }));
      },
    ],
  ] as const;
  progress(
    `throughput: ${BENCH_SECONDS} s per run, 10 connections, ${endpoints.length} endpoints and their baselines...`,
  );
  const runs: {
    name: string;
    baseline: Awaited<ReturnType<typeof cannon>>;
    result: Awaited<ReturnType<typeof cannon>>;
  }[] = [];
  for (const [name, run] of endpoints) {
    const baseline = await withFreshDynamo((endpoint) =>
      withBaseline(endpoint, (base) => cannon(`${base}/`, () => streamBody(randomUUID(), 'PUBLISHING'))),
    );
    const result = await withFreshDynamo((endpoint) => withRuntime(endpoint, run));
    runs.push({ name, baseline, result });
  }
  const ratio = (r: (typeof runs)[number]) => r.result.rps / r.baseline.rps;
  table(
    'Hook throughput and latency (local runtime, DynamoDB Local)',
    [
      'endpoint',
      'req/s',
      'p50 (ms)',
      'p99 (ms)',
      'errors',
      'its baseline (req/s, p50, p99)',
      'ratio to its baseline (req/s)',
    ],
    runs.map((r) => [
      r.name,
      fmt(r.result.rps),
      r.result.p50,
      r.result.p99,
      r.result.errors,
      `${fmt(r.baseline.rps)}, ${r.baseline.p50}, ${r.baseline.p99}`,
      fmt(ratio(r), 2),
    ]),
    [
      `Target: 0.8x of the baseline or better (met by ${runs.filter((r) => ratio(r) >= 0.8).length} of ${runs.length}). autocannon, ${BENCH_SECONDS} s, 10 connections, each request a new body. Each endpoint and its baseline (node:http + one PutItem) run one after the other, each on a fresh DynamoDB Local.`,
      '',
      "DynamoDB Local (one Java process, on the same two cores) bounds every row. The baseline makes one PutItem to a table with one index. `connect` makes one UpdateItem (a new session, one index: `openByApp`; the app policy comes from a cache). `StreamStatusEvent` here is the first hook of each stream: one UpdateItem that creates the item in two indexes (`byName`, `liveByApp`). `OnDataEvent` is a decision: one consistent GetItem of the session, then one UpdateItem (with its `byTime` index). The local runtime, like `npm start` with `API_TOKEN`, also polls the local send queue and tails DynamoDB Local's streams for the realtime API, on the same DynamoDB Local and cores, so ratios vary from run to run.",
    ],
  );
  await withFreshDynamo((endpoint) => withRuntime(endpoint, (base, pid) => soak(base, pid)));
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function soak(base: string, pid: number) {
  progress(`soak: ${SOAK_SECONDS} s of mixed hooks from 40 simulated WCS sessions...`);
  const deadline = Date.now() + SOAK_SECONDS * 1000;
  const samples: { t: number; rss: number }[] = [];
  const started = Date.now();
  const sampler = setInterval(
    () => samples.push({ t: (Date.now() - started) / 1000, rss: rssMiB(pid) }),
    2000,
  );
  let hooksSent = 0;
  let errors = 0;
  const send = async (method: string, body: unknown) => {
    hooksSent++;
    const status = await post(base, method, body).catch(() => 0);
    if (status !== 200) errors++;
  };
  const client = async () => {
    while (Date.now() < deadline) {
      const session = connectBody();
      await send('connect', session);
      await send('ConnectionStatusEvent', { ...session, status: 'ESTABLISHED' });
      const publish = streamBody(session.sessionId, 'PENDING');
      await send('publishStream', publish);
      await send('StreamStatusEvent', { ...publish, status: 'PUBLISHING' });
      for (let i = 0; i < 3; i++) await send('StreamKeepAliveEvent', { ...publish, status: 'PUBLISHING' });
      await send('OnDataEvent', { ...ctx(session.sessionId), operationId: randomUUID(), payload: { n: 1 } });
      await send('CallStatusEvent', { ...ctx(session.sessionId), callId: randomUUID(), status: 'RING' });
      await send('StreamStatusEvent', {
        ...publish,
        status: 'UNPUBLISHED',
        info: 'Stopped by publisher stop',
      });
      await send('ConnectionStatusEvent', { ...ctx(session.sessionId), status: 'DISCONNECTED' });
    }
  };
  await Promise.all(Array.from({ length: 40 }, client));
  clearInterval(sampler);
  const third = Math.max(1, Math.floor(samples.length / 3));
  const mean = (xs: { rss: number }[]) => xs.reduce((a, s) => a + s.rss, 0) / Math.max(1, xs.length);
  const middle = mean(samples.slice(third, 2 * third));
  const last = mean(samples.slice(-third));
  const growth = ((last - middle) / middle) * 100;
  table(
    'Soak (local runtime)',
    [
      'duration (s)',
      'hooks',
      'hooks/s',
      'errors (non-200)',
      'RSS first (MiB)',
      'RSS middle third (MiB)',
      'RSS last third (MiB)',
      'growth last vs middle',
    ],
    [
      [
        SOAK_SECONDS,
        hooksSent,
        fmt(hooksSent / SOAK_SECONDS),
        errors,
        fmt(samples[0]?.rss ?? 0),
        fmt(middle),
        fmt(last),
        `${fmt(growth)} %`,
      ],
    ],
    [
      `Memory is flat when the last third's mean RSS is within 10 % of the middle third's (the first third is warm-up): ${Math.abs(growth) <= 10 ? 'flat' : 'NOT flat'}. Errors: ${errors === 0 ? 'none' : errors}.`,
    ],
  );
}

// ---------------------------------------------------------------------------------------------
// 3. Write cost, 4. sender fan-out (in this process, against the same DynamoDB Local)

async function writeCostAndFanOut(endpoint: string) {
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
  const { dynamo } = await import('../shared/store/dynamo.ts');
  // Ask every write for its consumed capacity, and add it up. A failed conditional write reports
  // none, but DynamoDB charges it 1 WCU (for items under 1 KB): counted as such.
  let units = 0;
  let failedConditions = 0;
  const byIndex = new Map<string, number>();
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const writes = /^(Put|Update|TransactWrite|Delete|BatchWrite)(Item|Items)?Command$/;
      if (!writes.test(String(context.commandName))) return next(args);
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'INDEXES';
      try {
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
        for (const c of [consumed].flat() as {
          CapacityUnits?: number;
          GlobalSecondaryIndexes?: Record<string, { CapacityUnits: number }>;
          LocalSecondaryIndexes?: Record<string, { CapacityUnits: number }>;
        }[]) {
          if (!c) continue;
          units += c.CapacityUnits ?? 0;
          for (const [name, v] of Object.entries({
            ...c.GlobalSecondaryIndexes,
            ...c.LocalSecondaryIndexes,
          })) {
            byIndex.set(name, (byIndex.get(name) ?? 0) + v.CapacityUnits);
          }
        }
        return result;
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === 'ConditionalCheckFailedException') failedConditions++;
        if (name === 'TransactionCanceledException') failedConditions += 2;
        throw error;
      }
    },
    { step: 'initialize', name: 'consumedCapacity' },
  );

  // The fake WCS node for the fan-out, known before the handlers load (they read WCS_REST_URLS then).
  const { FakeWcs } = await import('../test/support/fake-wcs.ts');
  const { FakeWcsRest } = await import('../test/support/fake-wcs-rest.ts');
  const node = new FakeWcs({ appUrl: '', appKey: 'fanout' });
  const rest = await new FakeWcsRest({ node }).start();
  process.env.WCS_REST_URLS = JSON.stringify({ [node.nodeId]: rest.url });

  const { createHookServer, loadHookHandlers } = await import('../infra/local/hook-server.ts');
  const server = createHookServer(await loadHookHandlers());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const session = connectBody();
  const publisher = streamBody(session.sessionId, 'PENDING');
  const live = streamBody(session.sessionId, 'PUBLISHING');
  const data = { ...ctx(session.sessionId), operationId: randomUUID(), payload: { text: 'hello' } };
  const steps: [string, string, unknown][] = [
    ['connect', 'connect', session],
    ['ConnectionStatusEvent ESTABLISHED', 'ConnectionStatusEvent', { ...session, status: 'ESTABLISHED' }],
    ['publishStream', 'publishStream', publisher],
    ['StreamStatusEvent PUBLISHING', 'StreamStatusEvent', { ...publisher, status: 'PUBLISHING' }],
    ['StreamStatusEvent PUBLISHING (repeat)', 'StreamStatusEvent', { ...publisher, status: 'PUBLISHING' }],
    ['StreamKeepAliveEvent', 'StreamKeepAliveEvent', { ...publisher, status: 'PUBLISHING' }],
    ['OnDataEvent', 'OnDataEvent', data],
    [
      'DataStatusEvent',
      'DataStatusEvent',
      { ...ctx(session.sessionId), operationId: data.operationId, status: 'ACCEPTED' },
    ],
    ['unPublishStream', 'unPublishStream', { ...publisher, status: 'PUBLISHING' }],
    [
      'StreamStatusEvent UNPUBLISHED',
      'StreamStatusEvent',
      { ...publisher, status: 'UNPUBLISHED', info: 'Stopped by publisher stop' },
    ],
    ['StreamStatusEvent PUBLISHING (late)', 'StreamStatusEvent', { ...publisher, status: 'PUBLISHING' }],
    ['StreamStatusEvent PUBLISHING (first hook seen)', 'StreamStatusEvent', live],
    [
      'StreamStatusEvent FAILED of a live stream',
      'StreamStatusEvent',
      { ...live, status: 'FAILED', info: 'Failed by ICE error' },
    ],
    [
      'CallStatusEvent (catch-all)',
      'CallStatusEvent',
      { ...ctx(session.sessionId), callId: 'c1', status: 'RING' },
    ],
    ['ErrorEvent', 'ErrorEvent', { ...ctx(session.sessionId), info: 'Failed by error' }],
    [
      'ConnectionStatusEvent DISCONNECTED',
      'ConnectionStatusEvent',
      { ...ctx(session.sessionId), status: 'DISCONNECTED' },
    ],
  ];
  const rows: (string | number)[][] = [];
  for (const [label, method, body] of steps) {
    units = 0;
    failedConditions = 0;
    byIndex.clear();
    const status = await post(base, method, body);
    const indexes = [...byIndex.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
    rows.push([label, status, units, failedConditions, units + failedConditions, indexes || '-']);
  }
  table(
    'Write cost per hook (ReturnConsumedCapacity)',
    ['hook', 'answer', 'WCU reported', 'failed conditional writes', 'WCU total', 'of which indexes'],
    rows,
    [
      'Items under 1 KB. "WCU reported" is what DynamoDB returned (table and indexes); a failed conditional write reports nothing but costs 1 WCU, and is added in "WCU total". docs/data-model.md explains each.',
    ],
  );

  // Sender fan-out.
  progress(`fan-out: recording ${FANOUT_SESSIONS} open sessions...`);
  const { recordConnect } = await import('../shared/state/sessions.ts');
  const { mapWithConcurrency, sendNow } = await import('../shared/sender/sender.ts');
  const fanApp = `fanout-${randomUUID().slice(0, 8)}`;
  const sessions = Array.from({ length: FANOUT_SESSIONS }, () => ({ ...node.newSession(), appKey: fanApp }));
  await mapWithConcurrency(sessions, 32, (s) => recordConnect({ ...s }, new Date()));
  progress('fan-out: sending...');
  let t = performance.now();
  const summary = await sendNow({ appKey: fanApp }, { broadcast: true });
  const senderSeconds = (performance.now() - t) / 1000;
  const pool = new Pool(new URL(rest.url).origin, { connections: 16 });
  const postDataSend = async (s: { nodeId: string; sessionId: string }, operationId: string) => {
    const response = await pool.request({
      method: 'POST',
      path: '/rest-api/data/send',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        nodeId: s.nodeId,
        sessionId: s.sessionId,
        operationId,
        payload: { broadcast: true },
      }),
    });
    await response.body.dump();
  };
  t = performance.now();
  await mapWithConcurrency(sessions, 16, (s) => postDataSend(s, randomUUID()));
  const bareSeconds = (performance.now() - t) / 1000;
  // The same loop, with one PutItem per send to record it, as the sender records each.
  const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
  const { tableNameOf } = await import('../shared/store/dynamo.ts');
  t = performance.now();
  await mapWithConcurrency(sessions, 16, async (s) => {
    const operationId = randomUUID();
    await postDataSend(s, operationId);
    await dynamo.send(
      new PutCommand({
        TableName: tableNameOf('dataMessages'),
        Item: { sessionId: s.sessionId, operationId, outcome: 'SENT' },
      }),
    );
  });
  const recordedSeconds = (performance.now() - t) / 1000;
  await pool.close();
  await rest.close();
  const { closeWcsClient } = await import('../shared/sender/wcs-client.ts');
  await closeWcsClient();
  table(
    `Sender fan-out to ${FANOUT_SESSIONS} sessions (fake WCS on loopback)`,
    ['sender', 'messages', 'seconds', 'messages/s', 'ratio'],
    [
      [
        'bare undici loop (16 in flight, no records)',
        FANOUT_SESSIONS,
        fmt(bareSeconds, 2),
        fmt(FANOUT_SESSIONS / bareSeconds),
        '1.00',
      ],
      [
        'bare undici loop + one PutItem per send',
        FANOUT_SESSIONS,
        fmt(recordedSeconds, 2),
        fmt(FANOUT_SESSIONS / recordedSeconds),
        fmt(bareSeconds / recordedSeconds, 2),
      ],
      [
        'wcs-hooks sendNow (resolve by app, send, record each)',
        summary.sent,
        fmt(senderSeconds, 2),
        fmt(summary.sent / senderSeconds),
        fmt(bareSeconds / senderSeconds, 2),
      ],
    ],
    [
      `The sender resolves the targets (one Query, paged) and records every send in DynamoDB (one write each); the bare loop does neither. Against the loop that also writes one record per send, the sender runs at ${fmt(recordedSeconds / senderSeconds, 2)}x: DynamoDB Local's write rate, not the sender, bounds both.`,
    ],
  );
  server.closeAllConnections();
  server.close();
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = new Date();
  await coldStart();
  await throughput();
  progress('write cost and sender fan-out, on a fresh DynamoDB Local...');
  await withFreshDynamo(writeCostAndFanOut);
  const header = [
    '# Benchmark results',
    '',
    `Run ${started.toISOString()} by \`npm run bench\` (${Math.round((Date.now() - started.getTime()) / 1000)} s).`,
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${process.platform} ${process.arch}.`,
    'Every ratio is against a baseline measured in the same run, on the same machine.',
    '',
  ];
  writeFileSync(join(root, 'bench/results.md'), `${[...header, ...report].join('\n')}\n`);
  progress('wrote bench/results.md');
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`[bench] failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
