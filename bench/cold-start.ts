/**
 * Cold start: each deployed bundle, as CDK builds it, against a reference that only creates a
 * DynamoDB DocumentClient and issues one Put (`reference.ts`): import time and size.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';
import { bundleOptions, eagerFiles } from '../infra/constructs/bundle.ts';
import { exportTableNames } from '../infra/local/tables.ts';
import { fmt, median, PREFIX, progress, root, table, work } from './support.ts';

/** The issue's target for every function's import, against the reference built the same way. */
const IMPORT_TARGET = 1.1;

let synthesized: Promise<{ name: string; file: string }[]> | undefined;

/** Every deployed function's bundle, as CDK builds it for `cdk deploy` (synthesized once a run). */
export function deployedBundles(): Promise<{ name: string; file: string }[]> {
  synthesized ??= (async () => {
    progress('synthesizing the stack (bundles as CDK builds them)...');
    const { buildApp } = await import('../infra/build-app.ts');
    const { app, stack } = buildApp({ context: { stage: 'bench' } });
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName).template as {
      Resources: Record<
        string,
        { Type: string; Properties: { Description?: string; Code?: { S3Key?: string } } }
      >;
    };
    return Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description?.startsWith('wcs-hooks '))
      .map((r) => ({
        name: String(r.Properties.Description?.slice('wcs-hooks '.length).split(':')[0]),
        file: join(
          assembly.directory,
          `asset.${String(r.Properties.Code?.S3Key).replace(/\.zip$/, '')}`,
          'index.mjs',
        ),
      }));
  })();
  return synthesized;
}

/** Bundles `entry` as CDK bundles a function (`bundleOptions`: split ESM) into `outdir`; its `index.mjs`. */
export async function bundleLikeReference(entry: string, outdir: string): Promise<string> {
  await build(bundleOptions(entry, outdir));
  return join(outdir, 'index.mjs');
}

/**
 * A split bundle's bytes: eager (`index.mjs` and the chunks it imports statically, all read at a
 * cold start) and lazy (chunks reached only through `import()`, read if ever needed). Source maps
 * aside.
 */
export function bundleBytes(index: string): { eager: number; lazy: number } {
  const eager = new Set(eagerFiles(index));
  const all = readdirSync(dirname(index), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => join(dirname(index), f));
  const bytes = (files: string[]) => files.reduce((n, f) => n + statSync(f).size, 0);
  return { eager: bytes([...eager]), lazy: bytes(all.filter((f) => !eager.has(f))) };
}

/**
 * `entry` bundled as functions were before they were split: one file, `node:http` loaded by
 * `@middy/util` at import. For comparison only, in the same rounds.
 */
async function bundleAsOneFile(entry: string, outdir: string): Promise<string> {
  await build({ ...bundleOptions(entry, outdir), splitting: false, plugins: [] });
  return join(outdir, 'index.mjs');
}

export async function coldStart() {
  const deployed = await deployedBundles();
  const before = [
    {
      name: '*for comparison: the reference as one file*',
      file: await bundleAsOneFile(join(root, 'bench/reference.ts'), join(work, 'reference-one-file')),
    },
    {
      name: '*for comparison: connect as one file, bundled as before*',
      file: await bundleAsOneFile(join(root, 'functions/connect.ts'), join(work, 'connect-one-file')),
    },
  ];
  const bundles = [...deployed, ...before];

  const referenceFile = await bundleLikeReference(join(root, 'bench/reference.ts'), join(work, 'reference'));

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  exportTableNames(PREFIX, env);
  // As deployed before: the stack set NODE_OPTIONS=--enable-source-maps on every function; a logged
  // stack is now decoded when logged (shared/kernel/source-stack.ts), and the imports run without it.
  const mappedEnv = { ...env, NODE_OPTIONS: '--enable-source-maps' };
  const importOnce = (file: string, withSourceMaps = false) => {
    const script = `const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); process.stdout.write(String(performance.now() - t));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: withSourceMaps ? mappedEnv : env,
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`import of ${file} failed: ${result.stderr}`);
    return Number(result.stdout);
  };
  // Rounds, each importing the reference and then every bundle once: whatever slows the machine
  // down during the run (other work, CPU clocks) weighs on the reference as on the bundles, and
  // each ratio is the median of the ratios of the rounds.
  const ROUNDS = Number(process.env.COLD_ROUNDS ?? 9);
  progress(`cold start: importing ${bundles.length + 1} bundles, ${ROUNDS} rounds of fresh processes...`);
  const referenceMs: number[] = [];
  const bundleMs = bundles.map(() => [] as number[]);
  // Each bundle also imported with --enable-source-maps (as deployed before), right after its plain import.
  const mappedMs = bundles.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    referenceMs.push(importOnce(referenceFile));
    for (const [i, b] of bundles.entries()) {
      bundleMs[i]?.push(importOnce(b.file));
      mappedMs[i]?.push(importOnce(b.file, true));
    }
  }
  const reference = { ...bundleBytes(referenceFile), ms: median(referenceMs) };
  progress('cold start: counting the bytes each import reads (strace)...');
  const referenceRead = bytesReadAtImport(referenceFile, env);
  const rows = bundles.map((b, i) => {
    const { eager, lazy } = bundleBytes(b.file);
    const read = bytesReadAtImport(b.file, env);
    const readMapped = bytesReadAtImport(b.file, mappedEnv);
    const runs = bundleMs[i] ?? [];
    const msRatio = median(runs.map((ms, round) => ms / (referenceMs[round] ?? ms)));
    const mappedRatio = median((mappedMs[i] ?? []).map((ms, round) => ms / (runs[round] ?? ms)));
    return {
      name: b.name,
      eager,
      lazy,
      ms: median(runs),
      sizeRatio: eager / reference.eager,
      read,
      readMapped,
      msRatio,
      mappedRatio,
    };
  });
  const deployedRows = rows.slice(0, deployed.length);
  const timeMet = deployedRows.filter((r) => r.msRatio <= IMPORT_TARGET).length;
  const extras = await bundleExtras(['stream-status-event', 'connect', 'sender', 'endpoint-message']);
  table(
    'Cold start (split bundles)',
    [
      'bundle',
      'eager (KiB)',
      'lazy chunks (KiB)',
      'eager ratio',
      'read at import (KiB, strace): the bundle + other files = all',
      'the same with --enable-source-maps (the .map files)',
      `import (ms, median of ${ROUNDS})`,
      `import ratio (median of ${ROUNDS} rounds)`,
      'with --enable-source-maps (as deployed before), ratio to without',
    ],
    [
      [
        'reference (DocumentClient + one Put)',
        fmt(reference.eager / 1024),
        fmt(reference.lazy / 1024),
        '1.00',
        readCell(referenceRead),
        '-',
        fmt(reference.ms),
        '1.00',
        '-',
      ],
      ...rows.map((r) => [
        r.name,
        fmt(r.eager / 1024),
        fmt(r.lazy / 1024),
        fmt(r.sizeRatio, 2),
        readCell(r.read),
        r.readMapped ? `${readCell(r.readMapped)} (maps ${fmt(r.readMapped.maps / 1024)})` : '-',
        fmt(r.ms),
        fmt(r.msRatio, 2),
        fmt(r.mappedRatio, 2),
      ]),
    ],
    [
      `Target: import within ${IMPORT_TARGET}x of the reference (met by ${timeMet} of ${deployedRows.length}). Every bundle, the reference's too, is split as deployed (\`bundleOptions\` in \`infra/constructs/bundle.ts\`): a cold start reads the eager bytes; the lazy chunks (the SDK's other credential providers, jose, SQS and Lambda clients off the common path) only when a call needs them.`,
      "Why the import stays above the reference: what every call needs (zod's schemas, Powertools' logger and metrics, the Secrets Manager client for the hook secret, the project's code) is on the eager path. Moving it behind `import()` too would shorten the import and lengthen the first call by as much: the CPU table below counts a cold start as Lambda pays it, the import and the first call together.",
      `The functions run without \`--enable-source-maps\` (until 2026-12-07 the stack set \`NODE_OPTIONS=--enable-source-maps\`): with it, each import reads and parses the \`.map\` files of what it loads; the last column is what it adds to each import (median of ${deployedRows.length} bundles: ${fmt(median(deployedRows.map((r) => r.mappedRatio)), 2)}x). The maps still ship beside the code, and a stack is decoded from them only when one is logged (\`shared/kernel/source-stack.ts\`): the logs still name the sources.`,
      "Read at import: what Node reads from files (`strace -f -e trace=read,pread64 -y` over a process that only imports the bundle, the bytes each read returned, by the file it read): the bundle's own files (its `index.mjs`, the chunks it imports statically, and with source maps their `.map` files), and the other files (Node's own reads: the shared libraries the loader maps, `/proc/self/maps`, `/etc/ssl/openssl.cnf`; Node's own JavaScript is in its binary, not read; pipes and sockets are not files and not counted). The bundle part equals the eager column (Node reads each eager file once, whole, and nothing lazy); with `--enable-source-maps` it read their `.map` files too, 1.5x the code again.",
      `The last two rows are for comparison, in the same rounds: the reference and \`connect\` bundled as every function was before (one file, \`node:http\` loaded at import by \`@middy/util\`); their ratios are to the split reference.`,
      '',
      'What a bundle reads at a cold start beyond the reference (its eager path; esbuild metafile, minified bytes by package):',
      '',
      ...extras,
    ],
  );
}

/** What an import of `file` read from files (strace), in bytes: the bundle's own (code, maps) and the others'. */
interface ReadBytes {
  readonly bundle: number;
  readonly maps: number;
  readonly other: number;
}

/**
 * Imports `file` in a process of its own under strace and sums the bytes each read of a regular
 * file returned, by where the file is: the bundle's directory (its `.map` files apart) or elsewhere.
 */
export function bytesReadAtImport(file: string, env: Record<string, string>): ReadBytes | undefined {
  if (!straceAvailable) return undefined;
  const trace = join(work, 'import.strace');
  const result = spawnSync(
    'strace',
    [
      '-f',
      '-y',
      '-e',
      'trace=read,pread64',
      '-o',
      trace,
      process.execPath,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(`file://${file}`)})`,
    ],
    { env, encoding: 'utf8' },
  );
  if (result.status !== 0)
    throw new Error(`strace of ${file} failed: ${result.error ?? result.stderr.slice(-2000)}`);
  const dir = `${dirname(file)}/`;
  const totals = { bundle: 0, maps: 0, other: 0 };
  // With -f a call may be split: `pid read(17</x>, <unfinished ...>` then `pid <... read resumed>...) = n`.
  const pending = new Map<string, string>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const pid = line.slice(0, line.indexOf(' '));
    const start = /^\d+\s+p?read(?:64)?\(\d+<([^>]+)>/.exec(line);
    if (start && line.endsWith('<unfinished ...>')) {
      pending.set(pid, start[1] as string);
      continue;
    }
    const path = start?.[1] ?? (line.includes('resumed>') ? pending.get(pid) : undefined);
    const bytes = Number(/\)\s+=\s+(\d+)$/.exec(line)?.[1] ?? 0);
    if (!path?.startsWith('/') || bytes === 0) continue;
    if (!path.startsWith(dir)) totals.other += bytes;
    else if (path.endsWith('.map')) totals.maps += bytes;
    else totals.bundle += bytes;
  }
  return totals;
}

const straceAvailable = spawnSync('strace', ['-V'], { encoding: 'utf8' }).status === 0;

/** A read count as a cell: bundle + other = all, in KiB (`-` without strace). */
const readCell = (r: ReadBytes | undefined) =>
  r
    ? `${fmt((r.bundle + r.maps) / 1024)} + ${fmt(r.other / 1024)} = ${fmt((r.bundle + r.maps + r.other) / 1024)}`
    : '-';

/** For each entry, the packages on its eager path that the reference's eager path does not have, largest first. */
async function bundleExtras(entries: string[]): Promise<string[]> {
  let built = 0;
  const sizes = async (entry: string) => {
    const outdir = join(work, `extras-${built++}`);
    const { outputs } = (await build({ ...bundleOptions(entry, outdir), metafile: true })).metafile;
    // The metafile names its outputs relative to the working directory.
    const eager = eagerFiles(join(outdir, 'index.mjs')).map((f) => relative(process.cwd(), f));
    const by = new Map<string, number>();
    for (const file of eager) {
      for (const [input, { bytesInOutput }] of Object.entries(outputs[file]?.inputs ?? {})) {
        const name = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? '(wcs-hooks code)';
        by.set(name, (by.get(name) ?? 0) + bytesInOutput);
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
