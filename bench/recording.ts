/**
 * What `cpu.ts` and `throughput.ts` share to measure a hook against its same-request floor: recording
 * the DynamoDB requests the hook makes (`cpu-record.ts`, in a process of its own), and rewriting the
 * strings of a recorded request (table names, a body's identifiers) for another run. Light on
 * purpose: `floor-server.ts` imports it too.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';

export type Requests = { name: string; input: unknown }[];

/** Hooks to send: `setup` first (not recorded as calls), then `calls`, each recorded. */
export interface Recordable {
  readonly setup: readonly { handler: string; method: string; body: unknown }[];
  readonly calls: readonly { method: string; body: unknown }[];
}

const RECORDER = fileURLToPath(new URL('./cpu-record.ts', import.meta.url));

/**
 * Runs handler `handler`'s sources on `hooks` against the tables and DynamoDB endpoint of `env`; the
 * requests each call made, and those of each setup hook. Files go to `dir`, named after `name`.
 */
export function recordRequests(
  handler: string,
  hooks: Recordable,
  env: Record<string, string>,
  dir: string,
  name: string,
): { requests: Requests[]; setup: Requests[] } {
  const [bodiesFile, requestsFile, setupFile] = ['bodies', 'requests', 'setup'].map((f) =>
    join(dir, `${name}-${f}`),
  ) as [string, string, string];
  writeFileSync(bodiesFile, serialize(hooks));
  const record = spawnSync(process.execPath, [RECORDER, handler, bodiesFile, requestsFile, setupFile], {
    env: { ...env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
    encoding: 'utf8',
  });
  if (record.status !== 0) throw new Error(`recording ${handler} failed: ${record.stderr}`);
  return {
    requests: deserialize(readFileSync(requestsFile)) as Requests[],
    setup: deserialize(readFileSync(setupFile)) as Requests[],
  };
}

/** `value` with `rewrite` applied to every string in it: values, object keys, array and set members. */
export function mapStrings(value: unknown, rewrite: (s: string) => string): unknown {
  if (typeof value === 'string') return rewrite(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, rewrite));
  if (value instanceof Set) return new Set([...value].map((v) => mapStrings(v, rewrite)));
  if (value && typeof value === 'object' && value.constructor === Object)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [rewrite(k), mapStrings(v, rewrite)]));
  return value;
}
