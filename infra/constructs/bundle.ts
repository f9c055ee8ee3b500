/**
 * How every function is bundled, and the bench's reference with it ("built the same way"): minified
 * ESM for Node 24 with source maps, the AWS SDK inside (the version in the bundle is the one the tests
 * ran against), and code splitting: what the code reaches only through `import()` (the SDK's
 * credential providers other than the environment's, jose, the SQS and Lambda clients off the common
 * path) goes into `chunks/`, read only if it is ever needed instead of at every cold start. The handler stays `index.mjs`, export `handler`.
 *
 * Run as `node infra/constructs/bundle.ts <entry> <outdir>`: what `HookFunction` does for each
 * function when CDK synthesizes the stack.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';

/**
 * `@middy/util` (which `@middy/core` imports) imports `node:http` for one table, its status texts,
 * read only when middy builds an HTTP error; loading `node:http` costs a cold start ~20 ms, more than
 * half of the reference's whole import (the SDK loads it only when it needs it). Its import is given a
 * table that reads `node:http`'s own on first use instead. Only for `@middy/util`: every other
 * importer of `node:http` gets the real module.
 */
export const lazyStatusCodes: Plugin = {
  name: 'lazy-status-codes',
  setup(plugin) {
    plugin.onResolve({ filter: /^node:http$/ }, (args) =>
      /[\\/]@middy[\\/]util[\\/]/.test(args.importer)
        ? { path: 'status-codes', namespace: 'lazy-status-codes' }
        : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: 'lazy-status-codes' }, () => ({
      loader: 'js',
      contents: `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
let codes;
export const STATUS_CODES = new Proxy({}, {
  get: (_, code) => (codes ??= require('node:http').STATUS_CODES)[code],
});`,
    }));
  },
};

/**
 * The live console's files (`shared/realtime/console-assets.ts` reads them from the repository) held
 * in the bundle as text: a function has no repository to read them from. Only the function that
 * imports that module (`realm-api`, for `GET /console`) carries them.
 */
export const inlineConsoleAssets: Plugin = {
  name: 'inline-console-assets',
  setup(plugin) {
    plugin.onLoad({ filter: /[\\/]shared[\\/]realtime[\\/]console-assets\.ts$/ }, async () => {
      const { readConsoleAssets } = await import('../../shared/realtime/console-assets.ts');
      return {
        loader: 'js',
        contents: `const assets = ${JSON.stringify(readConsoleAssets())};\nexport const consoleAssets = () => assets;\n`,
      };
    });
  },
};

export function bundleOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: { index: entry },
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    mainFields: ['module', 'main'],
    logLevel: 'error',
    plugins: [lazyStatusCodes, inlineConsoleAssets],
    // Some dependencies are CommonJS and call `require`; an ESM bundle must provide it.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  };
}

/**
 * The files of a split bundle that a cold start reads: `index` and, transitively, the chunks it
 * imports statically (`import{..}from"./x.mjs"`, `import"./x.mjs"`; not `import("./x.mjs")`).
 */
export function eagerFiles(index: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:\bfrom|\bimport)\s*"(\.{1,2}\/[^"]+\.mjs)"/g))
      visit(join(dirname(file), m[1] as string));
  };
  visit(index);
  return [...seen];
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [entry, outdir] = process.argv.slice(2);
  if (!entry || !outdir) {
    process.stderr.write('usage: node infra/constructs/bundle.ts <entry> <outdir>\n');
    process.exit(2);
  }
  await build(bundleOptions(entry, outdir));
}
