/**
 * What each part of a hook's eager path costs at import, in instructions (issue 28, item 3: "measure
 * first what each eager package costs"). Each part is bundled with the reference, as CDK bundles a
 * function (`bundleOptions`: split ESM, minified), and the import of that bundle is counted by
 * valgrind, in a process of its own, against the import of the reference alone in the same rounds.
 * A part is imported as the project imports it (its own module, so its top-level work runs: the
 * hook schemas are built, the logger and metrics made), not as a package's bare entry.
 *
 * What the difference says: what adding that part to the reference adds to a cold start before the
 * first call. The parts share code with one another and with the reference (the SDK's core serves
 * DynamoDB and Secrets Manager alike), so their differences do not add up to `connect`'s exactly.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportTableNames } from '../infra/local/tables.ts';
import { bundleBytes, bundleLikeReference } from './cold-start.ts';
import {
  fmt,
  median,
  nodeInstructions,
  PREFIX,
  progress,
  root,
  table,
  valgrindAvailable,
  work,
} from './support.ts';

/** Each part: what it is, and the module text that imports it beside the reference. */
const PARTS: { label: string; imports: string }[] = [
  { label: 'the reference alone (DocumentClient and one Put)', imports: '' },
  {
    label: '+ zod/mini with its English locale (`shared/kernel/zod-locale.ts`)',
    imports: 'shared/kernel/zod-locale.ts',
  },
  {
    label: '+ the hook schemas (`shared/kernel/schemas.ts`: zod/mini and the schemas it builds)',
    imports: 'shared/kernel/schemas.ts',
  },
  {
    label:
      "+ Powertools' logger and metrics with their middlewares (`shared/kernel/logger.ts`, `metrics.ts`)",
    imports: [
      'shared/kernel/logger.ts',
      'shared/kernel/metrics.ts',
      '@aws-lambda-powertools/logger/middleware',
      '@aws-lambda-powertools/metrics/middleware',
    ].join(','),
  },
  {
    label: "+ the hook secret's reader (Powertools Parameters' `getSecret`, the Secrets Manager client)",
    imports: '@aws-lambda-powertools/parameters/secrets',
  },
  { label: '+ @middy/core', imports: '@middy/core' },
  { label: '`connect` (functions/connect.ts, the whole function)', imports: 'functions/connect.ts' },
];

const ROUNDS = Number(process.env.IMPORT_PARTS_ROUNDS ?? 3);

/** The module an import names, as an entry can import it (a project path, or a package). */
const specifier = (name: string) => (name.includes('/') && name.endsWith('.ts') ? join(root, name) : name);

/** Instructions of a process that only imports `file`. */
const importInstructions = (file: string, env: Record<string, string>) =>
  nodeInstructions(
    ['--input-type=module', '-e', `await import(${JSON.stringify(`file://${file}`)});`],
    env,
    file,
  );

export async function importParts() {
  if (!valgrindAvailable()) {
    table(
      'Import cost of each eager part (instructions, valgrind)',
      ['part'],
      [],
      ['Skipped: valgrind is not installed (`apt-get install valgrind`).'],
    );
    return;
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  exportTableNames(PREFIX, env);
  const files: string[] = [];
  for (const [i, part] of PARTS.entries()) {
    // Entries live in the project (so packages resolve as the functions' do); removed once built.
    const entry = join(root, `bench/.import-part-${i}.ts`);
    const imports = part.imports
      .split(',')
      .filter(Boolean)
      .map((name, j) => `export * as part${j} from ${JSON.stringify(specifier(name))};`);
    const text = part.label.startsWith('`connect`')
      ? imports.join('\n')
      : [`export * from ${JSON.stringify(join(root, 'bench/reference.ts'))};`, ...imports].join('\n');
    writeFileSync(entry, `${text}\n`);
    const outdir = join(work, `import-part-${i}`);
    mkdirSync(outdir, { recursive: true });
    try {
      files.push(await bundleLikeReference(entry, outdir));
    } finally {
      rmSync(entry, { force: true });
    }
  }
  // Rounds, each counting every part once: a count repeats within a few percent, but now and then
  // one is off (when V8's background compiler finishes is not fixed), hence the median.
  const counts = PARTS.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    progress(`import parts: round ${round + 1} of ${ROUNDS} (valgrind, ${PARTS.length} imports)...`);
    for (const [i, file] of files.entries()) counts[i]?.push(importInstructions(file, env));
  }
  const medians = counts.map((c) => median(c) / 1e6);
  const reference = medians[0] as number;
  const referenceBytes = bundleBytes(files[0] as string).eager;
  table(
    'Import cost of each eager part (instructions, valgrind)',
    [
      'part',
      'eager (KiB)',
      'eager KiB over the reference',
      'import (M instructions, median)',
      'per round',
      'over the reference (M)',
      'ratio to the reference',
    ],
    PARTS.map((part, i) => {
      const eager = bundleBytes(files[i] as string).eager;
      const m = medians[i] as number;
      return [
        part.label,
        fmt(eager / 1024),
        fmt((eager - referenceBytes) / 1024),
        fmt(m),
        (counts[i] as number[]).map((c) => fmt(c / 1e6)).join(', '),
        fmt(m - reference),
        fmt(m / reference, 2),
      ];
    }),
    [
      `Each part is bundled with the reference as CDK bundles a function (split ESM, minified) and imported in a process of its own under valgrind (\`node --input-type=module -e "await import(bundle)"\`: Node's own start included, the same in every row); median of ${ROUNDS} rounds (IMPORT_PARTS_ROUNDS), each counting every row once. A part is imported as the project imports it, so its top-level work runs (the schemas built, the logger and metrics made). The parts share code with one another and with the reference, so their differences do not add up to \`connect\`'s exactly.`,
    ],
  );
}
