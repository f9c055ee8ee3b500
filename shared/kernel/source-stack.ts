import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces in source positions, decoded only when one is logged. The deployed functions run
 * without `--enable-source-maps` (it made every cold start read and parse the bundle's `.map` files:
 * about 1.2x each import, `bench/results.md`); their bundles keep the maps beside the code, and
 * this reads the map of each bundle file a logged stack names, once per file and process, and
 * rewrites its frames (`index.mjs:1:23456`) to the source's (`shared/http/hook-handler.ts:120:11`).
 * Node's own decoder (`SourceMap` of `node:module`, which `--enable-source-maps` uses too): no
 * dependency, nothing loaded at import.
 */

/** What Node's `SourceMap` answers for a position (0-based), or `{}` when nothing maps there. */
type Entry = { originalSource?: string; originalLine?: number; originalColumn?: number };
type Decoder = { findEntry(line: number, column: number): Entry };

const decoders = new Map<string, Promise<Decoder | undefined>>();

/** A bundle file's map (`<file>.map`), read and parsed on first need; `undefined` when it has none. */
function decoderOf(file: string): Promise<Decoder | undefined> {
  let decoder = decoders.get(file);
  if (!decoder) {
    decoder = (async () => {
      try {
        const [{ SourceMap }, text] = await Promise.all([
          import('node:module'),
          readFile(`${file}.map`, 'utf8'),
        ]);
        return new SourceMap(JSON.parse(text)) as Decoder;
      } catch {
        return undefined;
      }
    })();
    decoders.set(file, decoder);
  }
  return decoder;
}

/**
 * A source as a map names it (relative to where the bundle was built: `../../work/wcs-hooks/shared/x.ts`),
 * as a path from the project root (`shared/x.ts`) or from `node_modules/`.
 */
function sourceName(source: string): string {
  const path = source.startsWith('file://') ? fileURLToPath(source) : source;
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) return path.slice(modules);
  return /(?:^|\/)((?:functions|shared|infra)\/.*)$/.exec(path)?.[1] ?? path.replace(/^(?:\.\.?\/)+/, '');
}

// A frame's position in a bundle file: `file:///var/task/index.mjs:1:23456` or `/var/task/index.mjs:1:23456`.
const FRAME = /((?:file:\/\/)?\/[^\s():]+\.m?js):(\d+):(\d+)/g;

/** `stack` with every bundle position that its file's map knows replaced by the source position. */
export async function sourceMappedStack(stack: string): Promise<string> {
  const frames = [...stack.matchAll(FRAME)];
  if (frames.length === 0) return stack;
  const files = [...new Set(frames.map((m) => m[1] as string))];
  const byFile = new Map(
    await Promise.all(
      files.map(async (f) => [f, await decoderOf(f.startsWith('file://') ? fileURLToPath(f) : f)] as const),
    ),
  );
  return stack.replace(FRAME, (whole, file: string, line: string, column: string) => {
    const entry = byFile.get(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (entry?.originalSource === undefined || entry.originalLine === undefined) return whole;
    return `${sourceName(entry.originalSource)}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
  });
}

/**
 * `error`, its `stack` (and its causes') in source positions, ready to be logged; the same error
 * unchanged when Node already applies source maps (`--enable-source-maps`, the sources run by tsx
 * or Node's type stripping), or when it is not an `Error`. Never throws: a stack it cannot decode
 * stays as it was.
 */
export async function withSourceStack<T>(error: T): Promise<T> {
  if (process.sourceMapsEnabled) return error;
  const seen = new Set<unknown>();
  for (let e: unknown = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (typeof e.stack === 'string')
      e.stack = await sourceMappedStack(e.stack).catch(() => e.stack as string);
  }
  return error;
}
