/**
 * A deployed bundle runs without `--enable-source-maps` (its import would read and parse every
 * `.map` file), yet a stack it logs names the sources: the error handler decodes it from the maps
 * beside the bundle, only when an error is logged (`shared/kernel/source-stack.ts`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { bundleOptions } from '../../infra/constructs/bundle.ts';
import { TABLES } from '../../shared/store/tables.ts';
import { bundleBaseEnv } from '../support/bundle-env.ts';
import { TEST_TABLE_PREFIX } from '../support/constants.ts';

const runner = new URL('../support/run-bundle.mjs', import.meta.url).pathname;
const outdir = mkdtempSync(join(tmpdir(), 'source-stack-'));
const bundle = join(outdir, 'index.mjs');

beforeAll(async () => {
  await build(
    bundleOptions(new URL('../../functions/stream-status-event.ts', import.meta.url).pathname, outdir),
  );
}, 60_000);

/** The environment of a deployed function (no NODE_OPTIONS), its tables absent from DynamoDB Local. */
function deployedEnv(): Record<string, string> {
  const absent = `${TEST_TABLE_PREFIX}-absent-${randomUUID().slice(0, 8)}`;
  return {
    ...bundleBaseEnv(),
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    ...Object.fromEntries(Object.values(TABLES).map((t) => [t.envVar, absent])),
  };
}

/** Runs the bundle as Lambda's loader does, for one event; every line it writes, parsed. */
function invokeOnce(event: unknown): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, bundle, 'stream-status-event'], {
      env: deployedEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Powertools writes ERROR lines to standard error, the runner its answer to standard output.
    let out = '';
    const collect = (chunk: Buffer) => {
      out += chunk;
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', () =>
      resolve(
        out
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line)),
      ),
    );
    child.stdin.end(`${JSON.stringify(event)}\n`);
  });
}

describe('a deployed bundle', () => {
  it('logs a failed hook with a stack in source positions (shared/…ts:LINE), decoded from its maps', async () => {
    const body = {
      nodeId: 'node-stack',
      appKey: 'stack-app',
      sessionId: `s-${randomUUID()}`,
      mediaSessionId: randomUUID(),
      name: 'stack',
      published: true,
      status: 'PUBLISHING',
      mediaProvider: 'WebRTC',
    };
    const lines = await invokeOnce({
      version: '2.0',
      routeKey: 'POST /wcs/StreamStatusEvent',
      rawPath: '/wcs/StreamStatusEvent',
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      requestContext: { requestId: randomUUID(), http: { method: 'POST', path: '/wcs/StreamStatusEvent' } },
      body: JSON.stringify(body),
      isBase64Encoded: false,
    });

    const failed = lines.find((l) => l.message === 'hook failed') as
      | { error?: { stack?: string } }
      | undefined;
    expect(lines.at(-1)).toMatchObject({ result: { statusCode: 500 } });
    const stack = failed?.error?.stack ?? '';
    expect(stack).toMatch(/ \(shared\/[\w/-]+\.ts:\d+:\d+\)/);
    // No frame left in the minified bundle.
    expect(stack).not.toMatch(/\.mjs:\d+:\d+/);
  }, 60_000);

  it('reads no .map file at import', () => {
    // strace sees every file Node opens, its own internal reads included.
    const trace = join(outdir, 'import.strace');
    const run = spawnSync(
      'strace',
      [
        '-f',
        '-e',
        'trace=openat',
        '-o',
        trace,
        process.execPath,
        '-e',
        `await import(${JSON.stringify(bundle)})`,
      ],
      { env: deployedEnv(), encoding: 'utf8' },
    );
    // strace is required (CI installs it: .github/workflows/deploy.yml).
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    const opened = readFileSync(trace, 'utf8');
    expect(opened).toContain(`${outdir}/index.mjs"`);
    expect(opened).not.toMatch(/\.map"/);
  }, 60_000);
});
