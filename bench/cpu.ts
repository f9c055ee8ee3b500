/**
 * CPU per hook, in instructions (valgrind's count, which repeats within about 1 % where times on
 * a shared machine swing by tens of percent): each hook's deployed bundle, called in one process as
 * Lambda calls it, against its same-request floor: the DynamoDB requests that hook made, recorded
 * and replayed through a bare DocumentClient bundled the same way (`cpu-floor.ts`).
 *
 * A run's count includes Node's start, the import and the warm-up; runs of different lengths
 * (CPU_CALLS: 100, 200, 300 calls) differ only by the extra calls, so the difference of two over
 * the extra calls is the cost of a call in that window; the warm call is their mean, from 100 to
 * 300 calls, once the windows show V8's compiling is over (their counts stop falling). Hook and floor runs alternate (A, B, A, B), each
 * on fresh tables seeded the same way, so every request meets the same items and conditions.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { serialize } from 'node:v8';
import { localDynamoDbClient } from '../infra/local/dynamodb-local.ts';
import { ensureTables, exportTableNames } from '../infra/local/tables.ts';
import { bundleLikeReference, deployedBundles } from './cold-start.ts';
import { hookEvent } from './cpu-events.ts';
import { cpuShares } from './cpu-profile.ts';
import { mapStrings, type Requests, recordRequests } from './recording.ts';
import {
  connectBody,
  ctx,
  fmt,
  median,
  nodeInstructions,
  progress,
  root,
  streamBody,
  table,
  valgrindAvailable,
  withFreshDynamo,
  work,
} from './support.ts';

/**
 * Run lengths (calls, comma-separated, ascending): each window between two successive lengths gives
 * the marginal instructions of a call in it. The warm call is the mean over them all, from the first
 * length to the last (a garbage collection falls in one window or the next: the mean holds it); each
 * window is shown, to see whether V8 was still compiling (a window's count falls while it does, and
 * stops falling once the code is compiled). Default `100,200,300`.
 */
const WINDOWS = (process.env.CPU_CALLS ?? '100,200,300').split(',').map(Number);
if (WINDOWS.length < 2 || WINDOWS.some((n, i) => !(n > (WINDOWS[i - 1] ?? 1))))
  throw new Error(`CPU_CALLS: at least two ascending run lengths above 1, not ${process.env.CPU_CALLS}`);
const LONG = WINDOWS.at(-1) as number;
const SHORT = WINDOWS[0] as number;
const ROUNDS = Number(process.env.CPU_ROUNDS ?? 3);
const TARGET = 1.15;
/** Extra environment for the hook runs only (JSON), to see what a setting costs: `{"POWERTOOLS_LOG_LEVEL":"WARN"}`. */
const HOOK_ENV = JSON.parse(process.env.CPU_HOOK_ENV ?? '{}') as Record<string, string>;
/** Only the hooks whose handler is listed (comma-separated), e.g. `connect`. Default: all. */
const ONLY = process.env.CPU_HOOKS?.split(',');

interface MeasuredHook {
  readonly label: string;
  readonly handler: string;
  /** Hooks sent first (not measured): what the measured ones need to find. */
  readonly setup: { handler: string; method: string; body: unknown }[];
  readonly calls: { method: string; body: unknown }[];
}

function hooks(count: number): MeasuredHook[] {
  const session = connectBody();
  return [
    {
      label: 'connect (a new session)',
      handler: 'connect',
      setup: [],
      calls: Array.from({ length: count }, () => ({ method: 'connect', body: connectBody() })),
    },
    {
      label: 'StreamStatusEvent PUBLISHING (the first hook of a stream)',
      handler: 'stream-status-event',
      setup: [],
      calls: Array.from({ length: count }, () => ({
        method: 'StreamStatusEvent',
        body: streamBody(connectBody().sessionId, 'PUBLISHING'),
      })),
    },
    {
      label: 'OnDataEvent (accepted)',
      handler: 'on-data-event',
      setup: [
        { handler: 'connect', method: 'connect', body: session },
        {
          handler: 'connection-status-event',
          method: 'ConnectionStatusEvent',
          body: { ...session, status: 'ESTABLISHED' },
        },
      ],
      calls: Array.from({ length: count }, (_, i) => ({
        method: 'OnDataEvent',
        body: { ...ctx(session.sessionId), operationId: `op-${i}-${Date.now()}`, payload: { text: 'hello' } },
      })),
    },
  ];
}

/** `value` with every table name of `from` renamed to the same table of `to`. */
const renamed = (value: unknown, from: string, to: string): unknown =>
  mapStrings(value, (s) => (s.startsWith(`${from}-`) ? `${to}-${s.slice(from.length + 1)}` : s));

/** Instructions of one process running `bundle` on the first `count` inputs of `inputsFile`. */
const instructions = (env: Record<string, string>, bundle: string, inputsFile: string, count: number) =>
  nodeInstructions([join(root, 'bench/cpu-driver.mjs'), bundle, inputsFile, String(count)], env, bundle);

export async function cpuPerHook() {
  if (!valgrindAvailable()) {
    table(
      'CPU per hook (instructions)',
      ['hook', 'instructions per call'],
      [],
      ['Skipped: valgrind is not installed (`apt-get install valgrind`).'],
    );
    return;
  }
  const bundles = await deployedBundles();
  const floorBundle = await bundleLikeReference(join(root, 'bench/cpu-floor.ts'), join(work, 'cpu-floor'));
  const rows: (string | number)[][] = [];
  const profiles: string[][] = [];
  await withFreshDynamo(async (endpoint) => {
    const client = localDynamoDbClient(endpoint);
    const baseEnv = {
      PATH: process.env.PATH ?? '',
      DYNAMODB_ENDPOINT: endpoint,
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'l',
      AWS_SECRET_ACCESS_KEY: 'l',
      // As deployed: INFO logs (each answered hook at DEBUG only, the stack's default) and EMF metrics, written as in Lambda.
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_METRICS_NAMESPACE: 'WcsHooks',
      POWERTOOLS_SERVICE_NAME: 'wcs-hooks',
      LOG_EACH_HOOK: 'false',
      // Under valgrind a cold call runs ~50x slower: budgets and timeouts no call can reach, so that
      // no decision falls back and no event spills (the timers are set all the same).
      DECISION_BUDGET_MS: '600000',
      EVENT_BUDGET_MS: '600000',
      DYNAMODB_REQUEST_TIMEOUT_MS: '600000',
      DYNAMODB_CONNECT_TIMEOUT_MS: '600000',
      SPILL_DIR: join(work, 'cpu-spill'),
    };
    let tables = 0;
    const freshTables = async (label: string) => {
      const prefix = `cpu${tables++}-${label}`;
      await ensureTables(client, prefix);
      const env: Record<string, string> = { ...baseEnv };
      exportTableNames(prefix, env);
      return { prefix, env };
    };
    const seed = await seederOn(endpoint);
    for (const hook of hooks(LONG).filter((h) => !ONLY || ONLY.includes(h.handler))) {
      const bundle = bundles.find((b) => b.name === hook.handler)?.file;
      if (!bundle) throw new Error(`no deployed bundle for ${hook.handler}`);
      progress(`cpu: ${hook.label}: recording its DynamoDB requests...`);
      const recording = await freshTables('record');
      const { requests, setup } = recordRequests(
        hook.handler,
        hook,
        recording.env,
        work,
        `cpu-${hook.handler}`,
      );
      const eventsFile = join(work, `cpu-${hook.handler}-events`);
      writeFileSync(eventsFile, serialize(hook.calls.map((c) => hookEvent(c.method, c.body))));

      /** A run's environment and inputs, on fresh tables seeded with the recorded setup. */
      const prepare = async (mode: 'hook' | 'floor') => {
        const run = await freshTables(`${mode}`);
        for (const step of setup) await seed(renamed(step, recording.prefix, run.prefix) as Requests);
        let inputs = eventsFile;
        if (mode === 'floor') {
          inputs = join(work, `cpu-${hook.handler}-floor-${run.prefix}`);
          writeFileSync(inputs, serialize(renamed(requests, recording.prefix, run.prefix)));
        }
        return { env: mode === 'hook' ? { ...run.env, ...HOOK_ENV } : run.env, inputs };
      };
      const perCall = { hook: [] as number[], floor: [] as number[] };
      // Per round, the marginal instructions per call of each window (the last is perCall's).
      const windows = { hook: [] as number[][], floor: [] as number[][] };
      const cold = { hook: [] as number[], floor: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        progress(`cpu: ${hook.label}: round ${round + 1} of ${ROUNDS} (valgrind)...`);
        const counts = { hook: new Map<number, number>(), floor: new Map<number, number>() };
        for (const calls of [1, ...WINDOWS]) {
          for (const mode of ['hook', 'floor'] as const) {
            const { env, inputs } = await prepare(mode);
            counts[mode].set(calls, instructions(env, mode === 'hook' ? bundle : floorBundle, inputs, calls));
          }
        }
        for (const mode of ['hook', 'floor'] as const) cold[mode].push(counts[mode].get(1) ?? 0);
        for (const mode of ['hook', 'floor'] as const) {
          const marginal = WINDOWS.slice(1).map(
            (n, i) =>
              ((counts[mode].get(n) ?? 0) - (counts[mode].get(WINDOWS[i] as number) ?? 0)) /
              (n - (WINDOWS[i] as number)),
          );
          windows[mode].push(marginal);
          perCall[mode].push(
            ((counts[mode].get(LONG) ?? 0) - (counts[mode].get(SHORT) ?? 0)) / (LONG - SHORT),
          );
        }
      }
      progress(`cpu: ${hook.label}: where its CPU goes (V8 CPU profile)...`);
      const shares = { hook: [] as [string, number][], floor: [] as [string, number][] };
      for (const mode of ['hook', 'floor'] as const) {
        const { env, inputs } = await prepare(mode);
        const out = join(work, `cpu-${hook.handler}-${mode}.cpuprofile`);
        const profiled = spawnSync(
          process.execPath,
          [
            join(root, 'bench/cpu-driver.mjs'),
            mode === 'hook' ? bundle : floorBundle,
            inputs,
            String(LONG),
            out,
            String(SHORT),
          ],
          { env, encoding: 'utf8' },
        );
        if (profiled.status !== 0) throw new Error(`profiling ${hook.handler} failed: ${profiled.stderr}`);
        shares[mode] = cpuShares(out, dirname(mode === 'hook' ? bundle : floorBundle));
      }
      const breakdown = (mode: 'hook' | 'floor') =>
        shares[mode]
          .filter(([, share]) => share >= 0.02)
          .map(
            ([group, share]) =>
              `${group} ${fmt(share * 100, 0)} % (${fmt((share * median(perCall[mode])) / 1e6, 2)} M)`,
          )
          .join(', ');
      profiles.push([hook.label, breakdown('hook'), breakdown('floor')]);
      const ratios = perCall.hook.map((h, i) => h / (perCall.floor[i] ?? h));
      const requestsPerCall =
        requests.slice(1).reduce((n, r) => n + r.length, 0) / Math.max(1, requests.length - 1);
      rows.push([
        hook.label,
        fmt(requestsPerCall, 1),
        fmt(median(perCall.hook) / 1e6, 2),
        fmt(median(perCall.floor) / 1e6, 2),
        fmt(median(ratios), 2),
        ratios.map((r) => fmt(r, 2)).join(', '),
        fmt(median(cold.hook) / 1e6, 0),
        fmt(median(cold.floor) / 1e6, 0),
        fmt(median(cold.hook.map((h, i) => h / (cold.floor[i] ?? h))), 2),
        (['hook', 'floor'] as const)
          .map(
            (mode) =>
              `${mode}: ${WINDOWS.slice(1)
                .map((_, w) => fmt(median(windows[mode].map((r) => r[w] ?? 0)) / 1e6, 2))
                .join(' → ')}`,
          )
          .join('; '),
      ]);
    }
    client.destroy();
  });
  const met = rows.filter((r) => Number(r[4]) <= TARGET).length;
  table(
    'CPU per hook (instructions, valgrind)',
    [
      'hook',
      'DynamoDB requests per call',
      'hook (M instructions per call)',
      'same-request floor (M per call)',
      'ratio',
      'ratio per round',
      'cold start: Node, import and first call (M instructions)',
      "the floor's cold start (M)",
      'cold ratio',
      `M instructions per call in each window (calls ${WINDOWS.map((n, i) =>
        i === 0 ? '' : `${WINDOWS[i - 1]}-${n}`,
      )
        .filter(Boolean)
        .join(', ')})`,
    ],
    rows,
    [
      `Target: ${TARGET}x the same-request floor or better (met by ${met} of ${rows.length}). Each hook's deployed bundle (as \`cdk deploy\` builds it) is called in one process with API Gateway events, as Lambda calls it, with INFO logs and EMF metrics as deployed; the floor sends that hook's recorded DynamoDB requests, call by call, through a bare DocumentClient bundled the same way.`,
      `One warm call = (instructions of a ${LONG}-call run − those of a ${SHORT}-call run) / ${LONG - SHORT}, the mean of the windows in the last column, each the marginal count per call between two run lengths (${WINDOWS.join(', ')} calls). Whether the code was compiled by then is read from the windows: while V8 still compiles (the first calls: baseline and optimizing tiers, lazy compilation of each new path) a window's count falls from one to the next; once it is compiled, it stops falling, and what differs from one window to the next is a garbage collection falling in one or the other (hence the mean). Hook and floor runs alternate, ${ROUNDS} rounds, each run on fresh tables seeded alike; the ratio is the median of the rounds'. A cold start is a run of one call: Node's start, the import of the split bundle and its first call, as a Lambda cold start pays them (the floor's bundle is split the same way). User-space instructions of the Node process only (DynamoDB Local is another process). Counts repeat within a few percent, but now and then a run is off by up to 20 % (when V8 optimizes a function depends on its background compiler's timing): hence the rounds, each shown.`,
    ],
  );
  table(
    "Where a warm call's CPU goes (V8 CPU profile, by package)",
    ['hook', 'the hook: share of its CPU (M instructions per call, estimated)', 'its same-request floor'],
    profiles,
    [
      `A CPU profile (V8's sampler, every 50 µs) of calls ${SHORT + 1} to ${LONG} of one run without valgrind; each sample counts for the nearest frame of the bundle on its stack, mapped through the bundle's source maps to its package or the project's folder (Node's own work, such as HTTP and the request signature's crypto, counts for the package that asked for it; the garbage collector and I/O callbacks are Node's). Shares under 2 % left out. The M instructions are each share of the per-call count above: an estimate, as time shares and instruction shares differ a little.`,
      "Reading it: the AWS SDK and Node's parts (HTTP, the request signature, the garbage collector) are what the floor has too; the rest (Powertools, the project's folders, zod, middy) is what the hook adds. Writing a log line or the EMF metrics is a system call: it shows in these time shares but hardly in the instruction counts above (user-space only). Each answered hook is now logged at DEBUG in AWS (`LOG_EACH_HOOK`, context `logEachHook`): at INFO, Powertools took 19 % of a warm connect's CPU time in this profile, 7 % without the line (the EMF metrics, which the alarms need, are most of what is left).",
    ],
  );
}

/** `cpu-floor.ts` in this process, on `endpoint`: seeds a run's tables with the setup's recorded requests. */
async function seederOn(endpoint: string): Promise<(requests: Requests) => Promise<unknown>> {
  // The floor's client is made when it is imported, with the endpoint then in the environment.
  Object.assign(process.env, { DYNAMODB_ENDPOINT: endpoint });
  process.env.AWS_REGION ??= 'local';
  process.env.AWS_ACCESS_KEY_ID ??= 'l';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'l';
  return ((await import('./cpu-floor.ts')) as { handler: (requests: Requests) => Promise<unknown> }).handler;
}
