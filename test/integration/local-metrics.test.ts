/**
 * The local runtime runs several invocations at once in one process (Lambda runs one per
 * environment): each invocation's EMF line holds its own metrics and dimensions, never those of a
 * hook that ran beside it. Two decisions falling back to their fail mode at the same time used to
 * share one emitter: one line carried both hooks' metrics under the other's method, and Powertools
 * warned "Dimension failMode has already been added".
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { FakeWcs } from '../support/fake-wcs.ts';
import { type RunningHookServer, startHookServer } from '../support/hook-server.ts';

let server: RunningHookServer;
let wcs: FakeWcs;

beforeAll(async () => {
  // A port that was just free: nothing listens there, every DynamoDB request fails at once.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  server = await startHookServer({
    DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}`,
    DECISION_BUDGET_MS: '2000',
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  wcs = new FakeWcs({ appUrl: server.appUrl, appKey: 'metrics' });
});
afterAll(async () => {
  await server.close();
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

describe('the local runtime, with EMF metrics on', () => {
  it('writes each of hooks falling back at the same time its own line: its method, its fail mode, one count', async () => {
    const written: string[] = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(capture),
      jest.spyOn(process.stderr, 'write').mockImplementation(capture),
      ...(['log', 'warn', 'info', 'error'] as const).map((level) =>
        jest.spyOn(console, level).mockImplementation((line) => void capture(line)),
      ),
    ];
    let replies: { status: number }[];
    try {
      replies = await Promise.all(
        Array.from({ length: 4 }, () => [
          wcs.send('connect', wcs.connectBody(wcs.newSession())),
          wcs.send('playStream', wcs.streamBody(wcs.newStream(wcs.newSession(), 'n', false), 'PENDING')),
        ]).flat(),
      );
    } finally {
      for (const spy of spies) spy.mockRestore();
    }

    expect(replies.map((r) => r.status)).toEqual([403, 200, 403, 200, 403, 200, 403, 200]);
    const lines = written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const byHook = lines
      .filter((line) => 'method' in line)
      .map(({ method, failMode, DecisionFallback }) => ({ method, failMode, DecisionFallback }))
      .sort((a, b) => String(a.method).localeCompare(String(b.method)));
    expect(byHook).toEqual([
      ...Array.from({ length: 4 }, () => ({ method: 'connect', failMode: 'closed', DecisionFallback: 1 })),
      ...Array.from({ length: 4 }, () => ({ method: 'playStream', failMode: 'open', DecisionFallback: 1 })),
    ]);
    // And the alarm's own count, one line each, with the service dimension alone.
    expect(lines.filter((line) => !('method' in line)).map((line) => line.DecisionFallback)).toEqual(
      Array(8).fill(1),
    );
    expect(written.join('')).not.toMatch(/has already been added/);
  });
});
