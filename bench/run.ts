/**
 * `npm run bench`: what the backend costs and how fast it answers, each number against a baseline
 * measured in the same run, on this machine. Prints a table per benchmark and writes
 * `bench/results.md`. `npm run bench -- <name> ...` runs only the named ones (bench/README.md).
 *
 * Knobs: BENCH_SECONDS (autocannon run per hook, default 10), SOAK_SECONDS (default 60),
 * FANOUT_SESSIONS (default 10000). No benchmark is a test, and no test asserts a time.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concurrentInvokeStore } from '../infra/local/invocations.ts';
import { analyticsBench } from './analytics.ts';
import { coldStart } from './cold-start.ts';
import { cpuPerHook } from './cpu.ts';
import { fanOut } from './fan-out.ts';
import { idle } from './idle.ts';
import { importParts } from './import-parts.ts';
import { realtimeFanOut } from './realtime-fan-out.ts';
import { reconcileBench } from './reconcile.ts';
import { recovery } from './recovery.ts';
import { soakRun } from './soak.ts';
import {
  progress,
  report,
  root,
  startDynamoDbForProcess,
  stopDynamoDbForProcess,
  targets,
  work,
} from './support.ts';
import { throughput } from './throughput.ts';
import { writeCost } from './write-cost.ts';

/**
 * Each benchmark, in the order they run, each in a process of its own (with its own DynamoDB Local
 * for those that call the domain in-process: write cost, fan-outs, reconciliation, analytics).
 */
const inProcess = (task: (endpoint: string) => Promise<unknown>) => async () =>
  task(await startDynamoDbForProcess());
const BENCHMARKS: Record<string, () => Promise<unknown>> = {
  'cold-start': coldStart,
  'import-parts': importParts,
  cpu: cpuPerHook,
  throughput,
  soak: soakRun,
  idle,
  // The local runtime's handlers, in-process: their invocations run at once, each in its own scope,
  // set before the first AWS SDK request (`infra/local/invocations.ts`).
  'write-cost': async () => {
    await concurrentInvokeStore();
    return inProcess(writeCost)();
  },
  'fan-out': inProcess(fanOut),
  'realtime-fan-out': inProcess(realtimeFanOut),
  reconcile: inProcess(reconcileBench),
  recovery,
  analytics: inProcess(analyticsBench),
};

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(
      `[bench] unknown: ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`,
    );
    process.exit(2);
  }
  const one = process.env.BENCH_ONE;
  if (one !== undefined) {
    // A child: one benchmark, in a process of its own; its tables and targets go to the parent.
    await (BENCHMARKS[one] as () => Promise<unknown>)();
    await stopDynamoDbForProcess();
    writeFileSync(process.env.BENCH_REPORT as string, JSON.stringify({ report, targets }));
    process.exit(0);
  }
  const started = new Date();
  for (const name of Object.keys(BENCHMARKS)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    progress(`${name}...`);
    // Each benchmark in a fresh process: no module, setting or DynamoDB Local state of one reaches the
    // next, so \`npm run bench\` and \`npm run bench -- <name>\` measure the same thing.
    const file = join(work, `${name}.json`);
    const code = await new Promise<number | null>((resolve) =>
      spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
        env: { ...process.env, BENCH_ONE: name, BENCH_REPORT: file },
        stdio: 'inherit',
      }).once('exit', resolve),
    );
    if (code !== 0) throw new Error(`benchmark ${name} exited ${code}`);
    const child = JSON.parse(readFileSync(file, 'utf8')) as { report: string[]; targets: typeof targets };
    report.push(...child.report);
    targets.push(...child.targets);
  }
  const header = [
    '# Benchmark results',
    '',
    `Run ${started.toISOString()} by \`npm run bench\` (${Math.round((Date.now() - started.getTime()) / 1000)} s).`,
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${process.platform} ${process.arch}.`,
    'Every ratio is against a baseline measured in the same run, on the same machine.',
    '',
    ...(targets.length > 0
      ? [
          '## Targets',
          '',
          ...targets.map(({ title, target }) => `- **${title}**: ${target.replace(/^Target:\s*/, '')}`),
          '',
          'Where a target is not met, its section below says what stands above it, measured.',
          '',
        ]
      : []),
  ];
  await stopDynamoDbForProcess();
  const file = wanted.length > 0 ? 'bench/results-partial.md' : 'bench/results.md';
  writeFileSync(join(root, file), `${[...header, ...report].join('\n')}\n`);
  progress(`wrote ${file}`);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`[bench] failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
