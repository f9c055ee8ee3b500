/**
 * Cold start: each deployed bundle, as CDK builds it, against a reference that only creates a
 * DynamoDB DocumentClient and issues one Put (`reference.ts`): import time and size.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { exportTableNames } from '../infra/local/tables.ts';
import { fmt, median, PREFIX, progress, root, table, work } from './support.ts';

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

/** Bundles `entry` as the reference is bundled (and as CDK bundles a function): minified ESM for Node 24. */
export async function bundleLikeReference(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
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
}

export async function coldStart() {
  const bundles = await deployedBundles();

  const referenceFile = join(work, 'reference', 'index.mjs');
  await bundleLikeReference(join(root, 'bench/reference.ts'), referenceFile);

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  exportTableNames(PREFIX, env);
  // As deployed: the stack sets NODE_OPTIONS=--enable-source-maps on every function.
  const deployedEnv = { ...env, NODE_OPTIONS: '--enable-source-maps' };
  const importOnce = (file: string, withSourceMaps = false) => {
    const script = `const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); process.stdout.write(String(performance.now() - t));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: withSourceMaps ? deployedEnv : env,
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
  // Each bundle also imported with the deployed NODE_OPTIONS, right after its plain import.
  const mappedMs = bundles.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    referenceMs.push(importOnce(referenceFile));
    for (const [i, b] of bundles.entries()) {
      bundleMs[i]?.push(importOnce(b.file));
      mappedMs[i]?.push(importOnce(b.file, true));
    }
  }
  const reference = { size: statSync(referenceFile).size, ms: median(referenceMs) };
  const rows = bundles.map((b, i) => {
    const size = statSync(b.file).size;
    const runs = bundleMs[i] ?? [];
    const msRatio = median(runs.map((ms, round) => ms / (referenceMs[round] ?? ms)));
    const mappedRatio = median((mappedMs[i] ?? []).map((ms, round) => ms / (runs[round] ?? ms)));
    return { name: b.name, size, ms: median(runs), sizeRatio: size / reference.size, msRatio, mappedRatio };
  });
  const sizeMet = rows.filter((r) => r.sizeRatio <= 1.25).length;
  const timeMet = rows.filter((r) => r.msRatio <= 1.15).length;
  const extras = await bundleExtras(['stream-status-event', 'connect', 'sender']);
  table(
    'Cold start',
    [
      'bundle',
      'size (KiB)',
      'size ratio',
      'import (ms, median of 9)',
      'import ratio (median of 9 rounds)',
      'with the deployed NODE_OPTIONS (--enable-source-maps), ratio to without',
    ],
    [
      [
        'reference (DocumentClient + one Put)',
        fmt(reference.size / 1024),
        '1.00',
        fmt(reference.ms),
        '1.00',
        '-',
      ],
      ...rows.map((r) => [
        r.name,
        fmt(r.size / 1024),
        fmt(r.sizeRatio, 2),
        fmt(r.ms),
        fmt(r.msRatio, 2),
        fmt(r.mappedRatio, 2),
      ]),
    ],
    [
      `Targets: import within 1.15x of the reference (met by ${timeMet} of ${rows.length}), size within 1.25x (met by ${sizeMet} of ${rows.length}).`,
      `The stack sets \`NODE_OPTIONS=--enable-source-maps\` (readable stack traces in the logs); the last column is what it adds to each import (median of ${rows.length} bundles: ${fmt(median(rows.map((r) => r.mappedRatio)), 2)}x).`,
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
